// Issue 9, load: a million calls across a three-node cluster (each on its
// own test host), 256 in flight, with one node killed (-9) and started again
// in the middle. Every call is booked in the ledger; the invariant is
//   ok + timeout + node_down + no_node + other == issued,  duplicates == 0,
//   other == 0,  nothing left unended,
// and the counts by outcome are printed. Under sanitizers: 100k calls.
// The same run again over mutual TLS (every node and the client): records
// sealed by senders and opened by whoever reads, through a kill -9.
#include <gtest/gtest.h>

#include <iostream>

#include "reliability/driver.hpp"
#include "reliability/fault_cluster.hpp"
#include "support/wait.hpp"

namespace flyrel {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class LoadWithRestart : public FaultCluster {
 protected:
  void run(std::size_t total);
};

class LoadWithRestartOverTls : public LoadWithRestart {
 protected:
  void SetUp() override {
    tls = true;
    LoadWithRestart::SetUp();
  }
};

TEST_F(LoadWithRestart, AMillionCallsWithANodeRestartedMidwayAllEndExactlyOnce) {
  run(kSanitized ? 100'000 : 1'000'000);
}

TEST_F(LoadWithRestartOverTls, CallsWithANodeRestartedMidwayAllEndExactlyOnce) {
  run(kSanitized ? 50'000 : 300'000);
}

void LoadWithRestart::run(std::size_t total) {
  const std::size_t lax_target = 1;  // regions below: ams, lax, syd
  NodeInHost& lax = node("lax");
  std::atomic<bool> rejoined{false};

  const auto started = Clock::now();
  Driver d(*client, {.regions = {"ams", "lax", "syd"},
                     .calls = total,
                     .max_in_flight = 256,
                     .timeout = slack(5s),
                     .work = DriveSpec::Work::add,
                     // The last quarter waits for the restarted node, so that
                     // calls to it succeed again within the run.
                     .before_issue = [&](std::size_t n) {
                       if (n == total * 3 / 4) {
                         flytest::eventually([&] { return rejoined.load(); }, slack(30s));
                       }
                     }});
  // On an early return (a failed ASSERT), release the waiting driver before
  // it is joined (this is destroyed before `d`).
  struct Release {
    std::atomic<bool>& flag;
    ~Release() { flag = true; }
  } release{rejoined};

  ASSERT_EVENTUALLY(d.ledger().ended() >= total / 4, slack(60s).count())
      << d.ledger().report("too slow");
  const std::size_t issued_at_kill = d.ledger().issued();
  const auto killed_at = Clock::now();
  lax.kill9();
  ASSERT_EVENTUALLY(client->region_nodes("lax").empty(), slack(5s).count());
  lax.start();
  ASSERT_TRUE(lax.wait_listening(slack(10s))) << lax.out() << lax.err();
  const auto whole = wait_mesh_whole(slack(15s));
  const auto rejoined_at = Clock::now();
  rejoined = true;
  ASSERT_TRUE(whole) << describe_mesh();
  const std::size_t issued_at_rejoin = d.ledger().issued();

  ASSERT_TRUE(d.wait_all_ended(slack(120s))) << d.ledger().report("not all calls ended");
  const auto run_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
  const Ledger& l = d.ledger();
  std::cout
      << "[reliability] load" << (tls ? " over TLS" : "") << ": " << total << " Kernel.+ calls"
      << (kSanitized ? " (scaled down: sanitizer build)" : "")
      << " over ams, lax, syd, 256 in flight, in " << run_ms << " ms ("
      << (run_ms > 0 ? total * 1000 / static_cast<std::size_t>(run_ms) : 0) << " calls/s)\n"
      << "[reliability] lax-1 killed -9 after " << issued_at_kill
      << " calls were issued, back in every view "
      << std::chrono::duration_cast<std::chrono::milliseconds>(rejoined_at - killed_at).count()
      << " ms later (" << issued_at_rejoin << " issued); "
      << l.ok_begun_after(lax_target, rejoined_at) << " ok calls to it after\n"
      << l.report("[reliability] outcomes:");
  // Async calls deliver every outcome to their handler, routing errors
  // (no_node while lax was away) included: none may be thrown at issue.
  EXPECT_EQ(d.thrown_at_issue(), 0u) << "async_rpc_region threw instead of calling the handler";

  EXPECT_EQ(l.issued(), total);
  EXPECT_EQ(l.sum_of_outcomes(), total);
  EXPECT_EQ(l.duplicates(), 0u);
  EXPECT_EQ(l.count(Outcome::other), 0u);
  EXPECT_TRUE(l.unended().empty());
  // The restart happened in the middle and calls to lax succeeded again.
  EXPECT_LT(issued_at_kill, total / 2);
  EXPECT_LT(issued_at_rejoin, total);
  EXPECT_GT(l.ok_begun_after(lax_target, rejoined_at), 0u);
  EXPECT_GE(l.count(Outcome::ok), total * 9 / 10);
}

}  // namespace
}  // namespace flyrel
