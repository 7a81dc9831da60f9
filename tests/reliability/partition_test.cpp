// Issue 9, faults: partition one host. Calls to it end with a typed error
// within their timeout plus a small bound; the other nodes drop it after the
// heartbeat timeout; calls to the other regions keep succeeding throughout;
// once the partition is lifted the mesh is whole again within a generous
// bound and calls to the host succeed again.
//
// Two ways to cut: the host's link goes down (its sends fail at once, its
// peers' packets vanish), or nftables silently drops everything while the
// link stays up (nobody gets an error; only heartbeats can tell).
#include <gtest/gtest.h>

#include <iostream>

#include "reliability/driver.hpp"
#include "reliability/fault_cluster.hpp"
#include "support/wait.hpp"

namespace flyrel {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

enum class Cut { link_down, drop_all };

long ms_since(Clock::time_point t) {
  return static_cast<long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count());
}

class Partition : public FaultCluster {
 protected:
  void run(Cut how);
  void cut(Host& h, Cut how) {
    if (how == Cut::link_down) {
      h.link_down();
    } else {
      h.set_drop_all(true);
    }
  }
  void heal(Host& h, Cut how) {
    if (how == Cut::link_down) {
      h.link_up();
    } else {
      h.set_drop_all(false);
    }
  }
};

// ASSERTs return from run() only; the test ends right after it anyway.
void Partition::run(Cut how) {
  NodeInHost& syd = node("syd");
  Host& syd_host = syd.host();
  const auto call_timeout = 2s;
  const auto bound = slack(1s);  // allowed beyond a call's timeout

  // Steady traffic to the regions that are not cut: none of it may fail.
  Driver steady(
      *client,
      {.regions = {"ams", "lax"}, .max_in_flight = 4, .timeout = call_timeout, .pace = 5ms});
  // Traffic to syd: typed failures while it is cut, successes again after.
  Driver to_syd(*client,
                {.regions = {"syd"}, .max_in_flight = 4, .timeout = call_timeout, .pace = 20ms});
  ASSERT_EVENTUALLY(
      steady.ledger().count(Outcome::ok) >= 20 && to_syd.ledger().count(Outcome::ok) >= 10,
      slack(5s).count());

  const auto cut_at = Clock::now();
  cut(syd_host, how);

  // Both other nodes drop syd, by the heartbeat: nothing else can tell them.
  ASSERT_EVENTUALLY(all_saw_down("syd-1", ""), (timing.heartbeat_timeout + slack(3s)).count())
      << describe_mesh();
  const long detected_ms = ms_since(cut_at);
  for (const char* region : {"ams", "lax"}) {
    const auto reasons = node(region).down_reasons("syd-1");
    ASSERT_FALSE(reasons.empty());
    EXPECT_NE(reasons.front().find("heartbeat timeout"), std::string::npos)
        << region << " dropped syd-1 for: " << reasons.front();
  }
  // Not at once: the last heartbeat came at most about one interval before
  // the cut (half the timeout leaves room for a loaded machine).
  EXPECT_GE(detected_ms, (timing.heartbeat_timeout / 2).count());
  // The client drops it too; calls to syd then fail at once (no_node).
  ASSERT_EVENTUALLY(client->region_nodes("syd").empty(), slack(5s).count());
  const std::size_t no_node_before = to_syd.ledger().count(Outcome::no_node);
  ASSERT_EVENTUALLY(to_syd.ledger().count(Outcome::no_node) > no_node_before, slack(5s).count());

  const auto healed_at = Clock::now();
  heal(syd_host, how);
  const auto heal_time = wait_mesh_whole(slack(15s));
  ASSERT_TRUE(heal_time) << "the mesh never healed:\n" << describe_mesh();
  ASSERT_EVENTUALLY(to_syd.ledger().ok_begun_after(0, healed_at) >= 5, slack(10s).count())
      << to_syd.ledger().report("calls to syd");

  steady.stop();
  to_syd.stop();
  ASSERT_TRUE(steady.wait_all_ended(call_timeout + bound)) << steady.ledger().report("steady");
  ASSERT_TRUE(to_syd.wait_all_ended(call_timeout + bound)) << to_syd.ledger().report("to syd");

  const char* how_text = how == Cut::link_down ? "link down" : "nft drop all";
  std::cout << "[reliability] partition (" << how_text << "): the others dropped syd-1 after "
            << detected_ms << " ms (heartbeat timeout " << timing.heartbeat_timeout.count()
            << " ms); the mesh was whole again " << heal_time->count()
            << " ms after the partition was lifted\n"
            << steady.ledger().report("[reliability] calls to ams and lax throughout:")
            << to_syd.ledger().report("[reliability] calls to syd (cut, then healed):");

  // Exactly once, typed, bounded.
  for (const Driver* d : {&steady, &to_syd}) {
    const Ledger& l = d->ledger();
    EXPECT_EQ(l.duplicates(), 0u);
    EXPECT_EQ(l.sum_of_outcomes(), l.issued());
    EXPECT_EQ(l.count(Outcome::other), 0u);
    EXPECT_EQ(l.ended_later_than(call_timeout + bound), 0u)
        << "longest call " << l.max_elapsed().count() << " ms";
  }
  // The other regions never noticed.
  EXPECT_EQ(steady.ledger().count(Outcome::ok), steady.ledger().issued());
  // The cut host's calls did fail while it was cut.
  EXPECT_GT(to_syd.ledger().issued(), to_syd.ledger().count(Outcome::ok));
}

TEST_F(Partition, LinkDownCallsEndTypedTheRestKeepWorkingAndTheMeshHeals) {
  run(Cut::link_down);
}

TEST_F(Partition, DropAllCallsEndTypedTheRestKeepWorkingAndTheMeshHeals) {
  run(Cut::drop_all);
}

}  // namespace
}  // namespace flyrel
