// The reliability suite's cluster: three test hosts (network namespaces on
// one bridge) each running a real `flyrpc node` — ams (the primary), lax,
// syd — and a fourth host where the test process itself runs a hidden
// fly::Node as the client. Faults are injected into the hosts (netns.hpp);
// membership is read from each node's "up"/"down" lines and from the
// client's own view.
//
// Processes: every node is a child of the test (`ip netns exec` execs, so
// the child's pid is the node's); the fixture kills them in TearDown, before
// the lab's namespaces are deleted.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "fly/node.hpp"
#include "reliability/netns.hpp"
#include "support/process.hpp"
#include "support/slack.hpp"

namespace flyrel {

// Sanitizer builds scale the suite's loads down and its time bounds up.
using flytest::kSanitized;
using flytest::slack;

/// Heartbeats are short so that the suite is fast.
struct ClusterTiming {
  std::chrono::milliseconds heartbeat{200};
  std::chrono::milliseconds heartbeat_timeout{1000};
  std::chrono::milliseconds handshake_timeout{1000};  ///< also the connect timeout
};

/// A `flyrpc node` process on a Host, listening on <host ip>:4370.
class NodeInHost {
 public:
  NodeInHost(Host& host, std::string name, std::string region, std::string primary,
             std::vector<std::string> seeds, std::string cookie, ClusterTiming timing);
  const std::string& name() const { return name_; }
  const std::string& region() const { return region_; }
  Host& host() const { return host_; }
  std::string address() const { return host_.ip() + ":4370"; }

  /// Extra `flyrpc node` flags (the TLS ones), used from the next start().
  void set_extra_args(std::vector<std::string> args) { extra_args_ = std::move(args); }
  /// Starts the process (again, after kill9()).
  void start();
  /// Waits for its "listening" line.
  bool wait_listening(std::chrono::milliseconds timeout);
  /// SIGKILL, then reaps it. Its output so far is kept in previous_output().
  void kill9();
  /// Still running (false once it exited or was killed).
  bool running();
  /// Whether the test expects it to be running (false after kill9()).
  bool should_run() const { return should_run_; }

  std::string out() const;
  std::string err() const;
  /// stdout + stderr of the processes killed so far.
  const std::string& previous_output() const { return previous_; }

  /// Peers among `names` that are up as this node's current process sees it
  /// (replaying its "up"/"down" lines in order).
  std::set<std::string> peers_up(const std::set<std::string>& names) const;
  /// The reasons of its "down <peer> ..." lines, in order.
  std::vector<std::string> down_reasons(const std::string& peer) const;
  /// How many "up <peer> ..." lines it printed.
  std::size_t up_count(const std::string& peer) const;

 private:
  Host& host_;
  std::string name_, region_, primary_, cookie_;
  std::vector<std::string> seeds_;
  std::vector<std::string> extra_args_;
  ClusterTiming timing_;
  std::optional<flytest::Process> process_;
  std::string previous_;
  bool should_run_ = false;
};

/// The fixture: lab, three nodes, the client; all up and meshed in SetUp.
class FaultCluster : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  /// Every node the test expects running sees the others that should run.
  bool nodes_meshed();
  /// nodes_meshed(), and the client sees exactly the nodes that should run.
  bool mesh_whole();
  /// A hidden client node named `name` in the client host, seeded with ams,
  /// started.
  std::unique_ptr<fly::Node> start_client(const std::string& name);
  /// Each node's and the client's view, for failure messages.
  std::string describe_mesh();
  /// Waits for mesh_whole(); how long it took, or nullopt after `timeout`.
  std::optional<std::chrono::milliseconds> wait_mesh_whole(std::chrono::milliseconds timeout);
  /// Waits until the mesh is whole and has stayed so — no node printing a
  /// new "down" line — for `window`. Returns the time from the call to the
  /// start of that quiet period, or nullopt after `timeout`. (Right after a
  /// fault is lifted a mesh can look whole yet still lose members: TCP may
  /// be backed off for seconds and the heartbeat notices only later.)
  std::optional<std::chrono::milliseconds> wait_mesh_settled(std::chrono::milliseconds timeout,
                                                             std::chrono::milliseconds window);
  /// How many "down" lines about each other the nodes' current processes printed.
  std::size_t node_drops();
  /// The node of `region` ("ams", "lax" or "syd").
  NodeInHost& node(const std::string& region);
  /// Names of the nodes the test expects running.
  std::set<std::string> running_names() const;
  /// Nodes (other than `except`) whose current process printed "down <peer>".
  bool all_saw_down(const std::string& peer, const std::string& except);

  ClusterTiming timing;
  /// Mutual TLS between every node and the client (certificates from
  /// support/test_pki.hpp). Set by a fixture before SetUp runs.
  bool tls = false;
  std::string cookie;
  std::unique_ptr<Lab> lab;
  std::vector<std::unique_ptr<NodeInHost>> nodes;
  Host* client_host = nullptr;
  std::unique_ptr<fly::Node> client;
  /// Nodes the clients dropped ("down" events seen by start_client()'s
  /// nodes); written by their membership strands.
  std::atomic<std::size_t> client_drops{0};
};

}  // namespace flyrel
