#include "reliability/netns.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "support/process.hpp"

namespace flyrel {

namespace {

constexpr const char* kPrefix = "flyrel-";

std::string join(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) s += (s.empty() ? "" : " ") + a;
  return s;
}

// Runs `argv`; the result, whatever it is.
flytest::ProcessResult run_quiet(const std::vector<std::string>& argv) {
  return flytest::run(argv, {}, {}, std::chrono::seconds(10));
}

bool pid_alive(long pid) {
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH;
}

// The namespaces `ip netns list` shows (first word of each line).
std::vector<std::string> list_namespaces() {
  std::vector<std::string> names;
  std::istringstream in(run_quiet({"ip", "netns", "list"}).out);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string name;
    if (words >> name) names.push_back(name);
  }
  return names;
}

// Kills what runs inside `ns` (it can only be a child of a dead test), then
// deletes it.
void delete_namespace(const std::string& ns, bool kill_inside) {
  if (kill_inside) {
    std::istringstream pids(run_quiet({"ip", "netns", "pids", ns}).out);
    long pid = 0;
    while (pids >> pid) {
      if (pid > 1 && pid != ::getpid()) ::kill(static_cast<pid_t>(pid), SIGKILL);
    }
  }
  run_quiet({"ip", "netns", "del", ns});
}

}  // namespace

std::string must_run(const std::vector<std::string>& argv) {
  auto r = run_quiet(argv);
  if (r.exit_code != 0) {
    throw std::runtime_error("`" + join(argv) + "` failed (exit " + std::to_string(r.exit_code) +
                             "): " + r.err + r.out);
  }
  return r.out;
}

std::string netns_unavailable_reason() {
  if (::geteuid() != 0) {
    return "the reliability suite needs root (network namespaces, veth, nftables); "
           "run it as root, as CI does";
  }
  const std::string probe = std::string(kPrefix) + std::to_string(::getpid()) + "-probe";
  auto r = run_quiet({"ip", "netns", "add", probe});
  if (r.exit_code != 0) {
    return "`ip netns add` failed here, so no test hosts can be made: " + r.err;
  }
  run_quiet({"ip", "netns", "del", probe});
  return "";
}

int remove_stale_namespaces() {
  int removed = 0;
  for (const auto& ns : list_namespaces()) {
    if (ns.rfind(kPrefix, 0) != 0) continue;
    const std::string rest = ns.substr(std::strlen(kPrefix));
    char* end = nullptr;
    const long pid = std::strtol(rest.c_str(), &end, 10);
    if (end == rest.c_str() || *end != '-' || pid <= 0) continue;
    if (pid == ::getpid() || pid_alive(pid)) continue;
    delete_namespace(ns, true);
    ++removed;
  }
  return removed;
}

// ---- Host ----------------------------------------------------------------

Host::Host(std::string name, std::string ns, std::string ip)
    : name_(std::move(name)), ns_(std::move(ns)), ip_(std::move(ip)) {}

void Host::link_down() {
  must_run({"ip", "-n", ns_, "link", "set", "eth0", "down"});
}

void Host::link_up() {
  must_run({"ip", "-n", ns_, "link", "set", "eth0", "up"});
}

void Host::set_drop_all(bool on) {
  drop_all_ = on;
  apply_filter();
}

void Host::set_loss(int percent) {
  if (percent < 0 || percent > 100) {
    throw std::invalid_argument("loss must be 0..100 percent, not " + std::to_string(percent));
  }
  loss_ = percent;
  apply_filter();
}

// One nft transaction: (re)create the table, then the rules the state asks
// for. `nft` is run with the whole script as one argument (no stdin needed).
void Host::apply_filter() {
  std::string script;
  if (filter_ready_) script += "delete table inet flyrel; ";
  script +=
      "add table inet flyrel; "
      "add chain inet flyrel input { type filter hook input priority 0; policy accept; }; "
      "add chain inet flyrel output { type filter hook output priority 0; policy accept; }; ";
  if (drop_all_) {
    script += "add rule inet flyrel input iifname \"eth0\" drop; ";
    script += "add rule inet flyrel output oifname \"eth0\" drop; ";
  } else if (loss_ > 0) {
    script += "add rule inet flyrel input iifname \"eth0\" numgen random mod 100 < " +
              std::to_string(loss_) + " drop; ";
  }
  auto r = run_quiet({"ip", "netns", "exec", ns_, "nft", script});
  if (r.exit_code != 0) {
    throw std::runtime_error("nft failed in " + ns_ + " (exit " + std::to_string(r.exit_code) +
                             "; is the Debian package nftables installed? "
                             "scripts/install-deps.sh test): " +
                             r.err);
  }
  filter_ready_ = true;
}

LatencyResult Host::add_latency(std::chrono::milliseconds delay) {
  if (latency_) remove_latency();
  const std::string ms = std::to_string(delay.count()) + "ms";
  auto netem =
      run_quiet({"tc", "-n", ns_, "qdisc", "add", "dev", "eth0", "root", "netem", "delay", ms});
  latency_ = true;
  if (netem.exit_code == 0) {
    return {LatencyResult::Kind::netem, "netem delay " + ms + " on " + name_ + "'s eth0 egress"};
  }
  // No sch_netem in this kernel (CONFIG_NET_SCH_NETEM unset): a token bucket
  // at 1 Mbit/s queues what the host sends faster than that, up to `delay`,
  // and drops what would wait longer. It delays bulk traffic, not a lone
  // heartbeat.
  std::string why = netem.err;
  while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
  must_run({"tc", "-n", ns_, "qdisc", "add", "dev", "eth0", "root", "tbf", "rate", "1mbit", "burst",
            "3200", "latency", ms});
  return {LatencyResult::Kind::tbf, "tbf rate 1mbit burst 3200 latency " + ms + " on " + name_ +
                                        "'s eth0 egress (netem unavailable: \"" + why + "\")"};
}

void Host::remove_latency() {
  if (!latency_) return;
  must_run({"tc", "-n", ns_, "qdisc", "del", "dev", "eth0", "root"});
  latency_ = false;
}

// ---- Lab -----------------------------------------------------------------

Lab::Lab() {
  const long pid = ::getpid();
  prefix_ = std::string(kPrefix) + std::to_string(pid) + "-";
  subnet_ = "10." + std::to_string(1 + (pid >> 8) % 254) + "." + std::to_string(pid % 256) + ".";
  switch_ns_ = prefix_ + "sw";
  must_run({"ip", "netns", "add", switch_ns_});
  namespaces_.push_back(switch_ns_);
  must_run({"ip", "-n", switch_ns_, "link", "set", "lo", "up"});
  must_run({"ip", "-n", switch_ns_, "link", "add", "br0", "type", "bridge"});
  must_run({"ip", "-n", switch_ns_, "link", "set", "br0", "up"});
}

Lab::~Lab() {
  // Reverse order: hosts first, the switch last. Processes still inside
  // (there should be none: their owners die first) keep a namespace alive
  // until they exit, but its name is gone.
  for (auto it = namespaces_.rbegin(); it != namespaces_.rend(); ++it) delete_namespace(*it, false);
}

Host& Lab::add_host(const std::string& name) {
  if (name.empty() || name.size() > 10 ||
      name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789") != std::string::npos) {
    throw std::invalid_argument("host name must be 1-10 lowercase letters or digits: '" + name +
                                "'");
  }
  for (const auto& h : hosts_) {
    if (h->name() == name) throw std::invalid_argument("host '" + name + "' already exists");
  }
  const std::string ns = prefix_ + name;
  const std::string ip = subnet_ + std::to_string(hosts_.size() + 1);
  const std::string port = "p-" + name;  // in the switch namespace: <= 12 chars
  must_run({"ip", "netns", "add", ns});
  namespaces_.push_back(ns);
  // Both ends are created inside namespaces: the root namespace never sees them.
  must_run({"ip", "-n", switch_ns_, "link", "add", port, "type", "veth", "peer", "name", "eth0",
            "netns", ns});
  must_run({"ip", "-n", switch_ns_, "link", "set", port, "master", "br0", "up"});
  must_run({"ip", "-n", ns, "link", "set", "lo", "up"});
  must_run({"ip", "-n", ns, "addr", "add", ip + "/24", "dev", "eth0"});
  must_run({"ip", "-n", ns, "link", "set", "eth0", "up"});
  hosts_.push_back(std::make_unique<Host>(name, ns, ip));
  return *hosts_.back();
}

// ---- ScopedNetns ---------------------------------------------------------

ScopedNetns::ScopedNetns(const std::string& ns) {
  saved_fd_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (saved_fd_ < 0) throw std::runtime_error(std::string("open own netns: ") + strerror(errno));
  const std::string path = "/run/netns/" + ns;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    ::close(saved_fd_);
    throw std::runtime_error("open " + path + ": " + strerror(errno));
  }
  const int rc = ::setns(fd, CLONE_NEWNET);
  const int err = errno;
  ::close(fd);
  if (rc != 0) {
    ::close(saved_fd_);
    throw std::runtime_error("setns into " + ns + ": " + strerror(err));
  }
}

ScopedNetns::~ScopedNetns() {
  // Going back cannot fail for a thread that could leave (same privileges).
  ::setns(saved_fd_, CLONE_NEWNET);
  ::close(saved_fd_);
}

}  // namespace flyrel
