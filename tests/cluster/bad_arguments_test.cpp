// Issue "Reliability and security": arguments that do not decode, sent by a
// verified peer over the real wire. The flyrpc CLI only sends well-formed
// msgpack (its wrong *types* are tests/cli/call_cli_test.cpp's); here the
// args bytes are whatever an attacker with the cookie writes: not an array,
// truncated, trailing bytes, a container claiming 4 billion elements, nesting
// past the limit, a byte msgpack never uses. Each gets REPLY bad_arguments
// naming the function's signature and what was wrong; the function does not
// run; the connection and the node carry on serving.
#include <gtest/gtest.h>

#include "hostile_cluster.hpp"
#include "wire_peer.hpp"

namespace {

using namespace std::chrono_literals;

class BadArguments : public flytest::HostileCluster {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(start({})); }
};

struct Case {
  const char* what;
  std::string args;    ///< the raw args field of the CALL
  const char* detail;  ///< what the REPLY must say was wrong
};

std::vector<Case> undecodable() {
  return {
      {"not an array", "\x2a", "arguments must be an array, got integer"},
      {"a string truncated",
       std::string("\x91\xa5"
                   "ab"),
       "truncated msgpack value"},
      {"trailing bytes", std::string("\x91\xa1x\xc0"), "1 trailing bytes after the value"},
      {"an array claiming 4294967295 elements", std::string("\xdd\xff\xff\xff\xff"),
       "claims more elements than the input holds"},
      {"nesting deeper than 64", std::string(100, '\x91') + "\xc0", "nested deeper than 64"},
      {"the never-used byte 0xc1", std::string("\x91\xc1"), "malformed msgpack value"},
      {"a map instead of an array", std::string("\x81\xa1k\xa1v"),
       "arguments must be an array, got map"},
      {"too many arguments", std::string("\x92\xa1x\xa1y"), "expected 1 argument, got 2"},
      {"the wrong type", std::string("\x91\x2a"), "argument 1: expected string, got integer"},
  };
}

TEST_F(BadArguments, EachGetsBadArgumentsSayingWhyAndTheConnectionCarriesOn) {
  flytest::WirePeer peer(syd->address(), cookie, "zz-raw-peer");
  ASSERT_TRUE(peer.authenticate(5s));
  for (const auto& c : undecodable()) {
    // Kernel.raise throws if it ever runs: its REPLY would be remote_error.
    for (const std::string function : {"Kernel.raise", "String.upcase"}) {
      SCOPED_TRACE(function + " with " + c.what);
      const auto id = peer.call(function, c.args);
      auto r = peer.reply(id, 5s);
      ASSERT_TRUE(r.has_value()) << "no reply; the node closed the connection? " << syd->err();
      EXPECT_EQ(r->status, fly::Errc::bad_arguments);
      ASSERT_EQ(r->strings.size(), 2u);
      EXPECT_EQ(r->strings[0],
                function + "(string) -> " + (function == "String.upcase" ? "string" : "null"));
      EXPECT_NE(r->strings[1].find(c.detail), std::string::npos) << r->strings[1];
    }
  }
  // The same connection still calls, and the node still serves its peers.
  const auto id = peer.call("String.upcase", "\x91\xa2ok");
  auto r = peer.reply(id, 5s);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, fly::Errc::ok);
  EXPECT_EQ(r->body, "\xa2OK");
  EXPECT_FALSE(peer.raw().closed());
  EXPECT_TRUE(still_serving());
}

}  // namespace
