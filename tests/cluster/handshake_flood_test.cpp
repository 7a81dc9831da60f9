// Issue "Reliability and security": a flood of connections that never
// authenticate. NodeOptions::max_pending_handshakes (64 by default; `flyrpc
// node` has no flag for it) caps the inbound connections that may be in the
// handshake at once; the node closes every connection past the cap at once,
// with a best-effort REFUSE busy (logging "refusing a connection from ADDR: N
// handshakes already pending", at most once a second). What the
// design promises, and these tests hold it to:
//  - exactly 64 junk connections get a HELLO, the rest are closed unanswered;
//  - established peers keep their connections and are served throughout;
//  - while the cap is full, new *inbound* connections are refused too, even
//    legitimate ones (a `flyrpc call` dialling the node cannot get in), but
//    a node the flooded node dials itself (outbound, not capped) still
//    joins, and calls it;
//  - slots free when junk connections close, or at the handshake timeout.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "fly/node.hpp"
#include "hostile_cluster.hpp"
#include "raw_connection.hpp"
#include "support/in_process_node.hpp"
#include "support/wait.hpp"

namespace {

using namespace std::chrono_literals;
using flytest::RawConnection;

constexpr std::size_t kCap = 64;  // NodeOptions::max_pending_handshakes' default
constexpr unsigned kBusy = 8;
constexpr unsigned kHandshakeTimeout = 5;

struct Flood {
  std::vector<std::unique_ptr<RawConnection>> connections;
  std::size_t admitted = 0;  ///< got the node's HELLO: in the handshake, holding a slot
  std::size_t refused = 0;   ///< closed by the node without a HELLO

  // Opens `n` connections; every other one sends the first bytes of a HELLO
  // and stops, the rest send nothing.
  Flood(const std::string& address, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      connections.push_back(std::make_unique<RawConnection>(address));
      if (i % 2 == 1) {
        connections.back()->send(flytest::frame_header(120, flytest::kHello) + "\x98");
      }
    }
  }

  // Waits until every connection has either the node's HELLO or was closed;
  // false if some are still undecided after `timeout`.
  bool sort_out(std::chrono::milliseconds timeout) {
    return flytest::eventually(
        [&] {
          admitted = refused = 0;
          for (auto& c : connections) {
            c->pump(0ms);
            if (c->received(flytest::kHello)) {
              ++admitted;
            } else if (c->closed()) {
              ++refused;
            }
          }
          return admitted + refused == connections.size();
        },
        timeout);
  }

  // A refused connection got at most a REFUSE busy before the close.
  bool refusals_say_busy() const {
    for (const auto& c : connections) {
      if (c->received(flytest::kHello) || c->frames().empty()) continue;
      if (c->refuse_reason() != kBusy) return false;
    }
    return true;
  }
};

class HandshakeFlood : public flytest::HostileCluster {};

TEST_F(HandshakeFlood, IsCappedAndRealPeersAreServedThroughout) {
  // A long handshake timeout: the flood holds its slots for the whole test.
  ASSERT_NO_FATAL_FAILURE(start({"--handshake-timeout-ms", "30000"}));
  Flood flood(syd->address(), 200);
  ASSERT_TRUE(flood.sort_out(10s))
      << flood.admitted << " admitted, " << flood.refused << " refused of 200";
  EXPECT_EQ(flood.admitted, kCap);
  EXPECT_EQ(flood.refused, 200 - kCap);
  EXPECT_TRUE(flood.refusals_say_busy());
  // Logged with the remote address, and rate-limited (at most one line a
  // second) so that a flood cannot flood the log too.
  const auto lines = flytest::count_of(syd->err(), "64 handshakes already pending");
  EXPECT_GE(flytest::count_of(syd->err(), "refusing a connection from 127.0.0.1:"), 1u)
      << syd->err();
  EXPECT_GE(lines, 1u) << syd->err();
  EXPECT_LE(lines, 15u) << "one line per refused connection: not rate-limited\n" << syd->err();

  // A legitimate newcomer dialling syd-1 is refused like the junk while the
  // cap is full: that is the design (the cap cannot tell them apart).
  auto locked_out = flytest::cli_call(cookie, {"--seeds", lax->address(), "--region", "syd",
                                               "--timeout", "1500", "String.upcase", "\"x\""});
  EXPECT_NE(locked_out.exit_code, 0) << locked_out.out;

  // A node that syd-1 dials (it learns of mel-1 from lax-1) joins, and syd-1
  // runs its calls: outbound connections do not count against the cap.
  auto options = flytest::in_process_options("mel-1", "mel", {lax->address()}, cookie);
  options.heartbeat_interval = 2000ms;  // syd-1's defaults: PING each 2 s, down after 4.5 s
  options.heartbeat_timeout = 4500ms;
  fly::Node mel(options);
  mel.start();
  ASSERT_TRUE(mel.wait_for_region("syd", 15s)) << mel.last_join_error();
  EXPECT_EQ(mel.rpc_region<std::string>("syd", "String.upcase", std::string("flood")), "FLOOD");
  EXPECT_EQ(flytest::count_of(syd->err(), "RECV String.upcase/1 from mel-1"), 1u) << syd->err();

  // The established peer never lost syd-1, and the flood still holds.
  EXPECT_EQ(lax->out().find("down syd-1"), std::string::npos) << lax->out();
  EXPECT_TRUE(syd->process().running());
  std::size_t still_open = 0;
  for (auto& c : flood.connections) {
    c->pump(0ms);
    still_open += c->received(flytest::kHello) && !c->closed();
  }
  EXPECT_EQ(still_open, kCap);
  mel.stop();

  // The flood ends: its slots free at once, and newcomers get in again.
  flood.connections.clear();
  EXPECT_TRUE(still_serving());
  flytest::NodeProcess akl(flytest::NodeSpec{"akl-1", "akl", {syd->address()}, {}, {}}, cookie,
                           "syd");
  ASSERT_TRUE(akl.wait_listening(10s));
  EXPECT_EVENTUALLY(syd->out().find("up akl-1 ") != std::string::npos, 10000) << syd->out();
  EXPECT_EQ(flytest::count_of(syd->err(), "flyrpc RECV"), 2u) << "only the two real calls ran:\n"
                                                              << syd->err();
}

TEST_F(HandshakeFlood, TheHandshakeTimeoutFreesTheSlots) {
  ASSERT_NO_FATAL_FAILURE(start({"--handshake-timeout-ms", "1500"}));
  Flood flood(syd->address(), kCap + 16);
  ASSERT_TRUE(flood.sort_out(10s));
  EXPECT_EQ(flood.admitted, kCap);
  EXPECT_EQ(flood.refused, 16u);
  // The flood keeps its sockets open; the node ends them at the deadline,
  // each with REFUSE handshake_timeout, and a real caller gets in.
  EXPECT_TRUE(still_serving());
  for (auto& c : flood.connections) {
    if (!c->received(flytest::kHello)) continue;
    EXPECT_TRUE(c->closed_by_peer_within(5s));
    EXPECT_EQ(c->refuse_reason(), kHandshakeTimeout);
  }
  EXPECT_GE(flytest::count_of(syd->err(), " timed out"), kCap) << syd->err();
  EXPECT_EQ(flytest::count_of(syd->err(), "flyrpc RECV"), 1u) << syd->err();
}

}  // namespace
