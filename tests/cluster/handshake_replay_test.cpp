// Issue "Reliability and security": a replayed handshake. A man in the
// middle (a loopback relay) records every byte a real `flyrpc call` sends to
// syd-1 while it authenticates and runs String.upcase; replaying those bytes
// verbatim on a new connection, to syd-1 or to any other node with the same
// cookie, must fail: each proof is bound to the receiving node's fresh nonce
// (docs/PROTOCOL.md 3.4). The replay is refused with bad_cookie, the
// recorded CALL never runs again, and the nodes keep serving.
#include <gtest/gtest.h>

#include <algorithm>

#include "hostile_cluster.hpp"
#include "raw_connection.hpp"
#include "support/wait.hpp"
#include "tcp_relay.hpp"
#include "wire/frames.hpp"

namespace {

using namespace std::chrono_literals;

constexpr unsigned kBadCookie = 1;

// The frame types in `bytes`, in order; fails the test on bytes that do not
// frame (the relay must have recorded whole frames).
std::vector<std::uint8_t> frame_types(const std::string& bytes) {
  std::vector<std::uint8_t> types;
  fly::wire::Bytes rest(bytes.data(), bytes.size());
  while (!rest.empty()) {
    fly::wire::FrameView frame;
    std::string error;
    const auto status = fly::wire::parse_frame(rest, fly::wire::kDefaultMaxFrameSize, frame, error);
    EXPECT_EQ(status, fly::wire::ParseStatus::frame) << error;
    if (status != fly::wire::ParseStatus::frame) break;
    types.push_back(static_cast<std::uint8_t>(frame.type));
    rest = rest.subspan(frame.total_size);
  }
  return types;
}

class HandshakeReplay : public flytest::HostileCluster {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(start({})); }
};

TEST_F(HandshakeReplay, ARecordedHandshakeAndCallAreRefusedOnANewConnection) {
  // Record a real client's successful session through the relay.
  std::string recorded;
  {
    flytest::TcpRelay relay(syd->address());
    auto r = flytest::cli_call(cookie, {"--seeds", relay.address(), "--node", "syd-1", "--timeout",
                                        "5000", "String.upcase", "\"replayed\""});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "\"REPLAYED\"\n");
    ASSERT_GE(relay.sessions(), 1u);
    ASSERT_EVENTUALLY(relay.finished(0), 5000) << "the client's session did not end";
    recorded = relay.client_bytes(0);
  }
  const auto types = frame_types(recorded);
  ASSERT_GE(types.size(), 3u);
  EXPECT_EQ(types[0], flytest::kHello);
  EXPECT_EQ(types[1], flytest::kAuth);
  ASSERT_NE(std::find(types.begin(), types.end(), flytest::kCall), types.end())
      << "the call went through the relay";
  ASSERT_EQ(functions_run(), 1u) << syd->err();

  // Replay it all, at once, to the node it was made for and to another one.
  for (auto* node : {syd.get(), lax.get()}) {
    SCOPED_TRACE("replayed to " + node->name());
    flytest::RawConnection replay(node->address());
    replay.send(recorded);
    EXPECT_TRUE(replay.closed_by_peer_within(5s));
    EXPECT_EQ(replay.refuse_reason(), kBadCookie);
    EXPECT_FALSE(replay.received(flytest::kReply)) << "the replayed CALL was answered";
    EXPECT_EVENTUALLY(node->err().find("refused connection from " + replay.local_address() +
                                       ": bad_cookie") != std::string::npos,
                      5000)
        << node->err();
  }
  EXPECT_EQ(functions_run(), 1u) << "the replayed CALL ran:\n" << syd->err();
  EXPECT_EQ(flytest::count_of(lax->err(), "flyrpc RECV"), 0u) << lax->err();

  EXPECT_TRUE(still_serving());
  EXPECT_EQ(functions_run(), 2u) << syd->err();
}

TEST_F(HandshakeReplay, ARecordedProofIsUselessEvenWithAFreshHello) {
  // An attacker who answers the node's new HELLO with the recorded HELLO and
  // AUTH one frame at a time, as a real client would pace them, fares no
  // better: the node's nonce is new, so the recorded proof cannot match.
  std::string recorded;
  {
    flytest::TcpRelay relay(syd->address());
    auto r = flytest::cli_call(cookie, {"--seeds", relay.address(), "--node", "syd-1", "--timeout",
                                        "5000", "Kernel.node"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_EVENTUALLY(relay.finished(0), 5000);
    recorded = relay.client_bytes(0);
  }
  fly::wire::FrameView hello;
  fly::wire::FrameView auth;
  std::string error;
  fly::wire::Bytes all(recorded.data(), recorded.size());
  ASSERT_EQ(fly::wire::parse_frame(all, fly::wire::kDefaultMaxFrameSize, hello, error),
            fly::wire::ParseStatus::frame);
  ASSERT_EQ(fly::wire::parse_frame(all.subspan(hello.total_size), fly::wire::kDefaultMaxFrameSize,
                                   auth, error),
            fly::wire::ParseStatus::frame);
  ASSERT_EQ(auth.type, fly::wire::FrameType::auth);

  flytest::RawConnection replay(syd->address());
  auto theirs = replay.read_frame(5s);
  ASSERT_TRUE(theirs && theirs->type == flytest::kHello);
  replay.send(recorded.substr(0, hello.total_size));
  auto proof = replay.read_frame(5s);
  ASSERT_TRUE(proof && proof->type == flytest::kAuth) << "the node answers a valid HELLO";
  replay.send(recorded.substr(hello.total_size, auth.total_size));
  EXPECT_TRUE(replay.closed_by_peer_within(5s));
  EXPECT_EQ(replay.refuse_reason(), kBadCookie);
  EXPECT_EQ(functions_run(), 1u) << syd->err();  // the recorded session's own call
  EXPECT_TRUE(still_serving());
}

}  // namespace
