// Nodes that join the same seed at the same moment all meet: ams, lax and
// syd are started at once and the hidden client as soon as they listen,
// forty times over.
//
// The race this guards: a node authenticated but not yet up (waiting for
// ACTIVATE/ANNOUNCE) while another comes up used to be in neither the
// handshake's PEERS nor the gossip of the newcomer, so it never heard of
// that one. A member coming up now is sent every member up at that moment
// (Cluster::maybe_up -> send_peers), which closes the gap.
#include <gtest/gtest.h>

#include <iostream>

#include "reliability/fault_cluster.hpp"
#include "support/wait.hpp"

namespace flyrel {
namespace {

using namespace std::chrono_literals;

TEST_F(FaultCluster, ConcurrentJoinsAllMeet) {
  constexpr int kRounds = 40;
  for (int round = 0; round < kRounds; ++round) {
    client->stop();
    client.reset();
    for (auto& n : nodes) n->kill9();
    // All three nodes at once, the client as soon as they listen.
    for (auto& n : nodes) n->start();
    for (auto& n : nodes) ASSERT_TRUE(n->wait_listening(slack(10s)));
    client = start_client("client-" + std::to_string(::getpid()) + "-" + std::to_string(round));
    ASSERT_TRUE(wait_mesh_whole(slack(10s))) << "round " << round << ":\n" << describe_mesh();
  }
}

}  // namespace
}  // namespace flyrel
