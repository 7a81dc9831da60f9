// Test hosts for the reliability suite: Linux network namespaces joined by
// veth pairs to one bridge, and the faults injected into them for real —
// link down, packets dropped by nftables (all, or a random share), latency.
//
//   flyrel::Lab lab;                        // "switch" namespace with a bridge
//   flyrel::Host& syd = lab.add_host("syd");  // namespace + eth0 on the bridge
//   syd.link_down();  syd.set_loss(10);  syd.add_latency(50ms);
//
// Nothing here touches the root namespace's network: the veth pairs are
// created inside the lab's namespaces. Every name carries this process's pid
// ("flyrel-<pid>-syd"), so suites run in parallel; the Lab's destructor
// deletes its namespaces, and remove_stale_namespaces() deletes those of
// processes that died without cleaning up. Needs root (CAP_SYS_ADMIN and
// CAP_NET_ADMIN); everything runs `ip`, `tc` and `nft`, so each call costs a
// fork/exec (milliseconds): set faults up, never on a hot path.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace flyrel {

/// Why namespaces cannot be used here ("" if they can): not root, or
/// `ip netns add` failed. Tests GTEST_SKIP with this text.
std::string netns_unavailable_reason();

/// Deletes the namespaces "flyrel-<pid>-*" whose <pid> is no longer alive,
/// first killing whatever still runs inside them (nodes of a test that was
/// itself killed). Returns how many it deleted.
int remove_stale_namespaces();

/// Runs `argv` to completion (10 s at most); throws std::runtime_error with
/// the command line and its stderr when it fails. Returns its stdout.
std::string must_run(const std::vector<std::string>& argv);

/// How latency was injected: netem (a real delay) when the kernel has
/// sch_netem, else a tbf rate limit, which delays by serialisation and
/// queueing only when traffic exceeds the rate.
struct LatencyResult {
  enum class Kind { netem, tbf } kind;
  std::string description;  ///< what ran and why, for the test output
};

/// One test host: a namespace whose eth0 sits on the lab's bridge. Owned by
/// its Lab; not thread-safe (the test thread drives faults).
class Host {
 public:
  Host(std::string name, std::string ns, std::string ip);
  const std::string& name() const { return name_; }
  /// The namespace, for `ip netns exec`.
  const std::string& ns() const { return ns_; }
  /// Its address on the lab's subnet (IPv4, no port).
  const std::string& ip() const { return ip_; }

  /// Partition by link: eth0 inside the host goes down (its peers' packets
  /// are dropped by the veth; its own sends fail), and back up.
  void link_down();
  void link_up();
  /// Partition by filter: nftables drops every packet in and out of eth0,
  /// silently, while the link stays up (TCP just sees no answers).
  void set_drop_all(bool on);
  /// Random loss: nftables drops `percent`% of the packets arriving on
  /// eth0 (numgen random). 0 removes it. 0..100.
  void set_loss(int percent);
  /// Delays the packets leaving eth0 by about `delay`: netem if the kernel
  /// has it, else a tbf rate limit (see LatencyResult).
  LatencyResult add_latency(std::chrono::milliseconds delay);
  void remove_latency();

 private:
  void apply_filter();  // rewrites the nft table from drop_all_ / loss_

  std::string name_, ns_, ip_;
  bool filter_ready_ = false;
  bool drop_all_ = false;
  int loss_ = 0;
  bool latency_ = false;
};

/// A switch namespace with a bridge, and the hosts plugged into it. The
/// subnet is 10.A.B.0/24 with A.B derived from the pid (namespaces isolate
/// labs anyway; distinct subnets only make logs unambiguous).
class Lab {
 public:
  Lab();
  ~Lab();
  Lab(const Lab&) = delete;
  Lab& operator=(const Lab&) = delete;

  /// Creates namespace "flyrel-<pid>-<name>" with eth0 = 10.A.B.<n>/24 on
  /// the bridge. `name`: 1-10 lowercase letters/digits, unique in the lab.
  Host& add_host(const std::string& name);
  const std::string& prefix() const { return prefix_; }

 private:
  std::string prefix_;  // "flyrel-<pid>-"
  std::string subnet_;  // "10.A.B."
  std::string switch_ns_;
  std::vector<std::unique_ptr<Host>> hosts_;
  std::vector<std::string> namespaces_;  // every namespace created, to delete
};

/// Moves the calling thread into namespace `ns` for its lifetime, then back.
/// Threads created meanwhile (e.g. a fly::Node's I/O and worker threads)
/// stay in `ns` for good, and so do the sockets they open. Throws
/// std::runtime_error if setns fails.
class ScopedNetns {
 public:
  explicit ScopedNetns(const std::string& ns);
  ~ScopedNetns();
  ScopedNetns(const ScopedNetns&) = delete;
  ScopedNetns& operator=(const ScopedNetns&) = delete;

 private:
  int saved_fd_ = -1;
};

}  // namespace flyrel
