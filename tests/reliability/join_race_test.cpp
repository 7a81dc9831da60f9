// SUSPECTED BUG, a probe kept disabled (report of issue 9's fault suite):
// nodes that join the same seed at the same moment may miss each other for
// good. Seen once in ~20 runs of the fault suite's old set-up, which started
// ams, lax and syd at once and the hidden client as soon as they listened:
// ams saw all three, but the client never met lax-1 and syd-1 within 15 s.
//
// Suspected cause: the seed sends a newcomer the PEERS list when the
// newcomer authenticates (Cluster::on_authenticated -> send_peers, members_
// only), and gossips each member that comes up to members_ only
// (Cluster::maybe_up). A node authenticated but not yet up (waiting for
// ACTIVATE/ANNOUNCE) while another comes up is in neither list, so it never
// hears of that one, and nothing re-gossips later.
//
// This probe repeats that set-up 40 times; it has not reproduced the failure
// on a quiet or a loaded machine (7 x 40 rounds), so it stays disabled and
// the fixture now starts nodes one at a time. Run it with (one line):
//   build/bin/reliability_tests --gtest_also_run_disabled_tests
//       --gtest_filter='*ConcurrentJoins*'
#include <gtest/gtest.h>

#include <iostream>

#include "reliability/fault_cluster.hpp"
#include "support/wait.hpp"

namespace flyrel {
namespace {

using namespace std::chrono_literals;

TEST_F(FaultCluster, DISABLED_ConcurrentJoinsAllMeet) {
  constexpr int kRounds = 40;
  for (int round = 0; round < kRounds; ++round) {
    client->stop();
    client.reset();
    for (auto& n : nodes) n->kill9();
    // As the fixture once did: all three nodes at once, the client as soon
    // as they listen.
    for (auto& n : nodes) n->start();
    for (auto& n : nodes) ASSERT_TRUE(n->wait_listening(slack(10s)));
    client = start_client("client-" + std::to_string(::getpid()) + "-" + std::to_string(round));
    ASSERT_TRUE(wait_mesh_whole(slack(10s))) << "round " << round << ":\n" << describe_mesh();
  }
}

}  // namespace
}  // namespace flyrel
