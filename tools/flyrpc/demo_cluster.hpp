// The demo's cluster: five `flyrpc node` processes in three regions, started
// as a chain (each is given only the node before it as seed, so the full mesh
// forms by gossip), plus this process as a visible node of region lax.
// DemoContext is what every step works with; start_cluster()/stop_cluster()
// are the first and last steps.
//
// Used from the demo's main thread only, except MembershipLog (any thread).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "demo_output.hpp"
#include "demo_processes.hpp"
#include "fly/node.hpp"

namespace flyrpc_cli {

struct DemoSettings {
  std::chrono::milliseconds heartbeat{200};
  std::chrono::milliseconds heartbeat_timeout{1000};
  int burst_calls = 2000;
  int burst_threads = 4;
  bool keep = false;  ///< --keep: the commands shown may be tried by hand
};

/// One node of the demo cluster.
struct ClusterMember {
  std::string name;
  std::string region;
  std::string address;               ///< "127.0.0.1:port" it listens on
  std::string seed;                  ///< the node it was told to join ("" for the first)
  pid_t pid = 0;                     ///< its process id (this process's for the demo node)
  std::optional<std::size_t> child;  ///< index in ChildProcesses; none for this process
  bool alive = true;                 ///< false once killed by the demo
};

/// Node up/down events seen by this process, with when they arrived.
class MembershipLog {
 public:
  struct Entry {
    std::chrono::steady_clock::time_point at;
    fly::MembershipEvent event;
  };
  void add(const fly::MembershipEvent& e);
  std::vector<Entry> entries() const;

 private:
  mutable std::mutex mutex_;
  std::vector<Entry> entries_;
};

/// region -> node names (sorted), as Fly.region_table returns it.
using RegionTable = std::map<std::string, std::vector<std::string>>;

struct DemoContext {
  DemoContext(Narrator& narrator, ChildProcesses& processes, DemoSettings s, std::string c)
      : out(narrator), children(processes), settings(s), cookie(std::move(c)) {}

  Narrator& out;
  ChildProcesses& children;
  const DemoSettings settings;
  const std::string cookie;
  const std::string primary = "syd";
  const std::string my_name = "demo";
  const std::string my_region = "lax";
  const std::string victim = "hkg-1";  ///< the node step 7 kills
  /// Regions in display order: the primary first.
  const std::vector<std::string> regions = {"syd", "lax", "hkg"};
  /// The child nodes in start order, then this process.
  std::vector<ClusterMember> members;
  std::unique_ptr<fly::Node> node;  ///< this process's node (visible, region lax)
  MembershipLog events;

  /// What every node's table should say: the members still alive.
  RegionTable expected_table() const;
  /// "flyrpc call --seeds 127.0.0.1:PORT" (the first node's address).
  std::string call_command() const;
};

/// Starts the child nodes and this process's node and waits for the full
/// mesh; narrates it as step "start". False if the cluster did not form (the
/// reason is printed); the demo then stops.
bool start_cluster(DemoContext& ctx);
/// This node leaves, the children get SIGTERM and must exit 0; narrates it as
/// step "stop". Kills whatever did not leave in time.
void stop_cluster(DemoContext& ctx);

/// "pid P thread T": where the calling code runs. This process exports it as
/// Demo.where (step 4 shows that a call to its own region runs right here).
std::string thread_tag();

/// Milliseconds (with a fraction below 10) between two time points.
std::string format_ms(std::chrono::steady_clock::duration d);

}  // namespace flyrpc_cli
