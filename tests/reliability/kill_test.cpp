// Issue 9, faults: kill -9 a node with calls in flight. Every outstanding
// call ends with NodeDown (or Timeout) exactly once, promptly — well before
// its timeout —; a node restarted with the same name rejoins and calls to it
// succeed.
#include <gtest/gtest.h>

#include <iostream>

#include "reliability/driver.hpp"
#include "reliability/fault_cluster.hpp"
#include "support/wait.hpp"

namespace flyrel {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1)) ++n;
  return n;
}

TEST_F(FaultCluster, KillNineWithCallsInFlightEndsEachOnceAtOnceAndARestartRejoins) {
  NodeInHost& syd = node("syd");
  constexpr std::size_t kCalls = 12;  // 4 run on syd's worker pool, 8 wait in its queue
  const auto call_timeout = 20s;
  Driver sleepers(*client, {.regions = {"syd"},
                            .calls = kCalls,
                            .max_in_flight = kCalls,
                            .timeout = call_timeout,
                            .work = DriveSpec::Work::sleep,
                            .sleep_ms = 15'000});
  // Every call has reached syd (its verbose log has one RECV line per call).
  ASSERT_EVENTUALLY(occurrences(syd.err(), "RECV Process.sleep") == kCalls, slack(5s).count())
      << syd.err();
  ASSERT_EQ(sleepers.ledger().ended(), 0u) << sleepers.ledger().report("ended early");

  const auto killed_at = Clock::now();
  syd.kill9();
  ASSERT_TRUE(sleepers.wait_all_ended(slack(5s))) << sleepers.ledger().report("after kill -9");
  Clock::duration slowest{};
  for (std::size_t id = 0; id < kCalls; ++id) {
    slowest = std::max(slowest, sleepers.ledger().end_time(id) - killed_at);
  }
  const auto slowest_ms = std::chrono::duration_cast<std::chrono::milliseconds>(slowest);
  std::cout << "[reliability] kill -9 with " << kCalls
            << " Process.sleep calls in flight (timeout 20 s): the last ended "
            << slowest_ms.count() << " ms after the kill\n"
            << sleepers.ledger().report("[reliability] the calls in flight:");
  EXPECT_EQ(sleepers.ledger().duplicates(), 0u);
  EXPECT_EQ(sleepers.ledger().sum_of_outcomes(), kCalls);
  EXPECT_EQ(sleepers.ledger().count(Outcome::node_down) + sleepers.ledger().count(Outcome::timeout),
            kCalls);
  // The kernel resets a killed process's connections: the caller knows at
  // once, not after the call's 20 s timeout (nor the 1 s heartbeat).
  EXPECT_LT(slowest_ms, slack(1s));

  // The others drop it (its sockets were reset), then a new process with the
  // same name and address rejoins.
  ASSERT_EVENTUALLY(all_saw_down("syd-1", ""), slack(5s).count()) << describe_mesh();
  ASSERT_EVENTUALLY(client->region_nodes("syd").empty(), slack(5s).count());
  const auto restarted_at = Clock::now();
  syd.start();
  ASSERT_TRUE(syd.wait_listening(slack(10s))) << syd.out() << syd.err();
  const auto rejoin = wait_mesh_whole(slack(15s));
  ASSERT_TRUE(rejoin) << describe_mesh();
  std::cout
      << "[reliability] the restarted syd-1 was in every view "
      << std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - restarted_at).count()
      << " ms after it was started\n";
  EXPECT_EQ(node("ams").up_count("syd-1"), 2u);
  EXPECT_EQ(node("lax").up_count("syd-1"), 2u);
  EXPECT_EQ(client->rpc_region<std::string>("syd", "Kernel.node", fly::timeout(slack(2s))),
            "syd-1");
}

}  // namespace
}  // namespace flyrel
