// Issue "Reliability and security": bad input from the network closes that
// connection only, with a REFUSE naming the problem and a log line naming
// the connection. Garbage, an oversized or zero length, an unknown type, a
// malformed or reflected HELLO, a truncated frame, silence, a handshake that
// never finishes, frames before authentication and a wrong cookie (with a
// CALL pipelined behind it): each is refused, no function runs for the
// unverified peer (syd-1 logs no RECV line), and the node keeps serving.
#include <gtest/gtest.h>

#include "hostile_cluster.hpp"
#include "raw_connection.hpp"
#include "wire/frames.hpp"
#include "wire_peer.hpp"

namespace {

using namespace std::chrono_literals;
using flytest::frame_header;
using flytest::RawConnection;

// docs/PROTOCOL.md 3.3
constexpr unsigned kBadCookie = 1;
constexpr unsigned kHandshakeTimeout = 5;
constexpr unsigned kProtocol = 6;

// A valid HELLO of a hidden node (a fixed nonce: no AUTH will follow it).
std::string hello_frame(const std::string& name) {
  fly::wire::Hello hello;
  hello.name = name;
  hello.region = "syd";
  hello.hidden = true;
  hello.incarnation = 7;
  hello.nonce.fill(0x42);
  fly::wire::Buffer out;
  fly::wire::encode_hello(out, hello);
  return std::string(out.data(), out.size());
}

// A well-formed CALL of String.upcase("x"): it would run if the node let it.
const std::string kCall = flytest::WirePeer::call_frame(1, "String.upcase", "\x91\xa1x");

class HostileInput : public flytest::HostileCluster {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(start({"--handshake-timeout-ms", "500"})); }

  // Nothing ran for the attacker; then a real call runs (the one RECV).
  void expect_no_function_ran_and_still_serving() {
    EXPECT_EQ(functions_run(), 0u) << syd->err();
    EXPECT_TRUE(still_serving());
    EXPECT_EQ(functions_run(), 1u) << syd->err();
  }

  // The node closes `c` after a REFUSE `reason`, and its log line about `c`
  // names `what`.
  void expect_refused(RawConnection& c, unsigned reason, const std::string& what) {
    EXPECT_TRUE(c.closed_by_peer_within(3s));
    EXPECT_EQ(c.refuse_reason(), reason);
    expect_logged(c, what);
  }

  // syd-1's log line about connection `c` names `what`.
  void expect_logged(const RawConnection& c, const std::string& what) {
    EXPECT_NE(syd_log_line(c.local_address()).find(what), std::string::npos)
        << "want \"" << what << "\" in the line about " << c.local_address() << ":\n"
        << syd->err();
  }
};

TEST_F(HostileInput, GarbageIsRefusedAsAProtocolError) {
  RawConnection c(syd->address());
  ASSERT_TRUE(c.connected());
  c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");  // "GET " read as a length: 1195725856
  expect_refused(c, kProtocol, "frame length 1195725856 exceeds max_frame_size");
  expect_no_function_ran_and_still_serving();
}

TEST_F(HostileInput, OversizedLengthIsClosedBeforeAnyBufferIsSized) {
  RawConnection c(syd->address());
  c.send(frame_header(0x7fffffff, 0x01));
  expect_refused(c, kProtocol, "frame length 2147483647 exceeds max_frame_size 16777216");
  expect_no_function_ran_and_still_serving();
}

TEST_F(HostileInput, ZeroLengthAndUnknownTypeAreClosed) {
  RawConnection zero(syd->address());
  zero.send(frame_header(0, 0x01));
  expect_refused(zero, kProtocol, "frame length 0 is invalid");
  RawConnection unknown(syd->address());
  unknown.send(frame_header(1, 0x7f));
  expect_refused(unknown, kProtocol, "unknown frame type 0x7f");
  expect_no_function_ran_and_still_serving();
}

TEST_F(HostileInput, MalformedHelloIsRefused) {
  RawConnection c(syd->address());
  c.send(flytest::raw_frame(flytest::kHello, "\x93\xc1\xc1\xc1"));  // 0xc1 is never valid msgpack
  expect_refused(c, kProtocol, ": protocol (HELLO");
  EXPECT_FALSE(c.received(flytest::kAuth)) << "no proof for a HELLO that does not decode";
  expect_no_function_ran_and_still_serving();
}

TEST_F(HostileInput, ReflectedHelloIsRefused) {
  // The node's own HELLO sent back: answering it would hand out a proof an
  // attacker could replay as the node's.
  RawConnection c(syd->address());
  auto hello = c.read_frame(3s);
  ASSERT_TRUE(hello && hello->type == flytest::kHello);
  c.send(flytest::raw_frame(flytest::kHello, hello->payload));
  expect_refused(c, kProtocol, "HELLO carries this node's own nonce (reflected)");
  EXPECT_FALSE(c.received(flytest::kAuth));
  expect_no_function_ran_and_still_serving();
}

TEST_F(HostileInput, TruncatedFrameIsClosedAtTheHandshakeDeadline) {
  RawConnection c(syd->address());
  c.send(frame_header(100, flytest::kHello) + "0123456789");  // 10 of 99 bytes, then silence
  expect_refused(c, kHandshakeTimeout, "timed out");
  expect_no_function_ran_and_still_serving();
}

TEST_F(HostileInput, SilentConnectionIsClosedAtTheHandshakeDeadline) {
  RawConnection c(syd->address());
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.closed_by_peer_within(3s));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 400ms);  // not before the deadline (500 ms)
  expect_refused(c, kHandshakeTimeout, "handshake with " + c.local_address() + " timed out");
  expect_no_function_ran_and_still_serving();
}

TEST_F(HostileInput, AHandshakeThatNeverFinishesIsClosedAtTheDeadline) {
  // A valid HELLO gets the node's proof, but no AUTH ever follows.
  RawConnection c(syd->address());
  c.send(hello_frame("stalling-peer"));
  expect_refused(c, kHandshakeTimeout, "timed out");
  EXPECT_TRUE(c.received(flytest::kAuth)) << "the node answered the HELLO";
  expect_no_function_ran_and_still_serving();
}

TEST_F(HostileInput, ACallBeforeAnyHandshakeIsRefused) {
  RawConnection c(syd->address());
  c.send(kCall);
  expect_refused(c, kProtocol,
                 "unexpected call frame during the handshake (before authentication)");
  expect_no_function_ran_and_still_serving();
}

TEST_F(HostileInput, ACallBetweenHelloAndAuthIsRefused) {
  RawConnection c(syd->address());
  c.send(hello_frame("early-caller") + kCall);
  expect_refused(c, kProtocol,
                 "unexpected call frame during the handshake (before authentication)");
  expect_no_function_ran_and_still_serving();
}

TEST_F(HostileInput, AuthBeforeHelloIsRefused) {
  RawConnection c(syd->address());
  c.send(flytest::raw_frame(flytest::kAuth, "\x92\x01\xc4\x20" + std::string(32, 'p')));
  expect_refused(c, kProtocol, "AUTH before HELLO");
  expect_no_function_ran_and_still_serving();
}

TEST_F(HostileInput, AWrongCookieIsRefusedAndACallPipelinedBehindItNeverRuns) {
  // The CALL leaves in the same write as the (wrong) proof, so it is already
  // in the node's buffer when the proof fails to verify.
  flytest::WirePeer intruder(syd->address(), "not-the-cookie", "intruder");
  EXPECT_FALSE(intruder.authenticate(3s, kCall));
  expect_refused(intruder.raw(), kBadCookie, "bad_cookie (the peer's cookie proof is wrong");
  EXPECT_FALSE(intruder.raw().received(flytest::kReply));
  expect_no_function_ran_and_still_serving();
}

}  // namespace
