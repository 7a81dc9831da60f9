// Issue "Cluster": death is noticed. kill -9 is dropped within the heartbeat
// timeout, a graceful stop at once, a restarted node rejoins; a wrong cookie
// is refused by all, logged on both sides, and appears in no table.
#include <gtest/gtest.h>
#include <signal.h>

#include <set>

#include "support/cluster_harness.hpp"
#include "support/wait.hpp"

namespace {

using namespace std::chrono_literals;
using Table = std::map<std::string, std::vector<std::string>>;

class ThreeNodes : public ::testing::Test {
 protected:
  void start(const std::string& heartbeat_timeout_ms) {
    cookie = flytest::random_cookie();
    for (const auto& [name, region] : std::vector<std::pair<std::string, std::string>>{
             {"syd-1", "syd"}, {"lax-1", "lax"}, {"hkg-1", "hkg"}}) {
      flytest::NodeSpec spec{
          name,
          region,
          {},
          {"--heartbeat-ms", "200", "--heartbeat-timeout-ms", heartbeat_timeout_ms},
          {}};
      if (!nodes.empty()) spec.seeds = {nodes.front()->address()};
      nodes.push_back(std::make_unique<flytest::NodeProcess>(spec, cookie, "syd"));
      ASSERT_TRUE(nodes.back()->wait_listening(10s));
    }
    ASSERT_EVENTUALLY(tables_are(full), 15000);
  }

  bool tables_are(const Table& expected) {
    return flytest::tables_are(cookie, nodes, expected, frozen);
  }
  std::string dump_tables() { return flytest::dump_tables(cookie, nodes, frozen); }

  std::string cookie;
  std::set<std::string> frozen;  // SIGSTOPped: alive to waitpid, but cannot answer
  std::vector<std::unique_ptr<flytest::NodeProcess>> nodes;
  const Table full = {{"hkg", {"hkg-1"}}, {"lax", {"lax-1"}}, {"syd", {"syd-1"}}};
  const Table without_hkg = {{"lax", {"lax-1"}}, {"syd", {"syd-1"}}};
};

TEST_F(ThreeNodes, KillNineIsDroppedWithinTheHeartbeatTimeoutAndARestartRejoins) {
  start("1500");
  nodes[2]->process().signal(SIGKILL);
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_EVENTUALLY(nodes[0]->out().find("down hkg-1") != std::string::npos &&
                        nodes[1]->out().find("down hkg-1") != std::string::npos,
                    flytest::slack(5s));
  // On one host the kernel resets the dead process's sockets, so this is
  // quicker than the heartbeat timeout (1.5 s); never slower.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, flytest::slack(3s));
  EXPECT_TRUE(tables_are(without_hkg));

  // The same name comes back (a new process, a new port) and rejoins.
  nodes[2] = std::make_unique<flytest::NodeProcess>(
      flytest::NodeSpec{"hkg-1", "hkg", {nodes[1]->address()}, {"--heartbeat-ms", "200"}, {}},
      cookie, "syd");
  ASSERT_TRUE(nodes[2]->wait_listening(10s));
  EXPECT_EVENTUALLY(tables_are(full), 15000);
}

TEST_F(ThreeNodes, AFrozenNodeIsDroppedByTheHeartbeat) {
  start("1500");
  // SIGSTOP: the process is alive to the kernel (sockets open) but silent,
  // as a node behind a partition is. Only the heartbeat can tell.
  nodes[2]->process().signal(SIGSTOP);
  frozen.insert("hkg-1");
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_EVENTUALLY(
      nodes[0]->out().find("down hkg-1 hkg heartbeat timeout") != std::string::npos &&
          nodes[1]->out().find("down hkg-1 hkg heartbeat timeout") != std::string::npos,
      flytest::slack(6s))
      << nodes[0]->out();
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 1s);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, flytest::slack(4s));
  EXPECT_TRUE(tables_are(without_hkg)) << dump_tables();
  // Thawed, it reconnects (its old connections were closed) and rejoins.
  nodes[2]->process().signal(SIGCONT);
  frozen.clear();
  EXPECT_EVENTUALLY(tables_are(full), 15000) << dump_tables();
}

TEST_F(ThreeNodes, AGracefulStopIsDroppedAtOnce) {
  start("30000");  // a heartbeat could not explain a quick drop
  const auto t0 = std::chrono::steady_clock::now();
  nodes[2]->process().signal(SIGTERM);
  ASSERT_TRUE(nodes[2]->process().wait_for(10s).has_value());
  ASSERT_EVENTUALLY(nodes[0]->out().find("down hkg-1") != std::string::npos &&
                        nodes[1]->out().find("down hkg-1") != std::string::npos,
                    flytest::slack(5s));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, flytest::slack(5s));
  EXPECT_NE(nodes[0]->out().find("goodbye"), std::string::npos) << nodes[0]->out();
  EXPECT_EQ(nodes[2]->process().wait_for(0ms)->exit_code, 0);
}

TEST_F(ThreeNodes, AWrongCookieIsRefusedByAllLoggedAndInNoTable) {
  start("1500");
  flytest::NodeSpec intruder{
      "mallory", "syd", {nodes[0]->address(), nodes[1]->address(), nodes[2]->address()}, {}, {}};
  flytest::NodeProcess bad(intruder, "not-the-cookie", "syd");
  ASSERT_TRUE(bad.wait_listening(10s));
  for (auto& n : nodes) {
    EXPECT_EVENTUALLY(n->err().find("bad_cookie") != std::string::npos, 10000) << n->name();
    // The refusal names the peer's address.
    EXPECT_NE(n->err().find("refused connection from 127.0.0.1:"), std::string::npos) << n->err();
  }
  EXPECT_TRUE(tables_are(full));
  EXPECT_EQ(bad.out().find("up "), std::string::npos) << bad.out();
  // The refused node says so too, on its own side, naming where it was
  // refused.
  EXPECT_EVENTUALLY(bad.err().find("bad_cookie") != std::string::npos, 10000) << bad.err();
  EXPECT_NE(bad.err().find("connection to 127.0.0.1:"), std::string::npos) << bad.err();
}

}  // namespace
