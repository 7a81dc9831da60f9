#include "demo_cluster.hpp"

#include <fmt/format.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <thread>

#include "builtins.hpp"

namespace flyrpc_cli {

namespace {
using Clock = std::chrono::steady_clock;

// A node process prints "listening <host:port> <name> <region>" once it listens.
constexpr std::chrono::seconds kStartTimeout{10};
// Gossip completes the mesh within milliseconds; this bounds a broken one.
constexpr std::chrono::seconds kMeshTimeout{10};
// A node given SIGTERM drains (no call is running by then) and says goodbye.
constexpr std::chrono::seconds kStopTimeout{8};

std::string last_lines(const ChildProcesses& children, std::size_t child, std::size_t n) {
  const auto lines = children.lines(child);
  std::string out;
  for (std::size_t i = lines.size() > n ? lines.size() - n : 0; i < lines.size(); ++i) {
    out += (out.empty() ? "" : " | ") + lines[i].text;
  }
  return out.empty() ? "(no output)" : out;
}

std::string join(const std::vector<std::string>& words, const char* sep = " ") {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : sep) + w;
  return out;
}
}  // namespace

void MembershipLog::add(const fly::MembershipEvent& e) {
  std::lock_guard lock(mutex_);
  entries_.push_back({Clock::now(), e});
}

std::vector<MembershipLog::Entry> MembershipLog::entries() const {
  std::lock_guard lock(mutex_);
  return entries_;
}

RegionTable DemoContext::expected_table() const {
  RegionTable t;
  for (const auto& m : members) {
    if (m.alive) t[m.region].push_back(m.name);
  }
  for (auto& [region, names] : t) std::sort(names.begin(), names.end());
  return t;
}

std::string DemoContext::call_command() const {
  return "flyrpc call --seeds " + (members.empty() ? "127.0.0.1:4370" : members.front().address);
}

std::string thread_tag() {
  return fmt::format("pid {} thread {:x}", ::getpid(),
                     std::hash<std::thread::id>{}(std::this_thread::get_id()) & 0xffffff);
}

std::string format_ms(Clock::duration d) {
  const double ms = std::chrono::duration<double, std::milli>(d).count();
  return ms < 10 ? fmt::format("{:.1f} ms", ms) : fmt::format("{:.0f} ms", ms);
}

bool start_cluster(DemoContext& ctx) {
  Narrator& out = ctx.out;
  out.begin_step("start", "Start 5 node processes in 3 regions, each knowing only the one before");
  out.say("Every node is a separate `flyrpc node` process sharing one cookie, e.g.:");
  out.command("export FLY_RPC_COOKIE=" +
              (ctx.settings.keep ? ctx.cookie : std::string("<the same secret everywhere>")));

  const std::vector<std::pair<std::string, std::string>> specs = {
      {"syd-1", "syd"}, {"syd-2", "syd"}, {"lax-1", "lax"}, {"lax-2", "lax"}, {"hkg-1", "hkg"}};
  for (std::size_t i = 0; i < specs.size(); ++i) {
    const auto& [name, region] = specs[i];
    std::vector<std::string> args = {"node",      "--name",    name,       "--region",   region,
                                     "--primary", ctx.primary, "--listen", "127.0.0.1:0"};
    if (i > 0) {
      args.push_back("--seeds");
      args.push_back(ctx.members.back().address);
    }
    if (i < 2) out.command("flyrpc " + join(args));
    args.insert(args.end(),
                {"--heartbeat-ms", std::to_string(ctx.settings.heartbeat.count()),
                 "--heartbeat-timeout-ms", std::to_string(ctx.settings.heartbeat_timeout.count())});
    const std::size_t child = ctx.children.spawn(args);
    const auto line = ctx.children.wait_for_line(
        child, [](std::string_view l) { return l.starts_with("listening "); },
        Clock::now() + kStartTimeout);
    // "listening <host:port> <name> <region>"
    std::string address;
    if (line) address = line->text.substr(10, line->text.find(' ', 10) - 10);
    if (address.empty()) {
      out.check(false,
                fmt::format("{} did not start: {}", name, last_lines(ctx.children, child, 3)));
      return false;
    }
    ctx.members.push_back({name, region, address, i > 0 ? ctx.members.back().name : "",
                           ctx.children.pid(child), child, true});
  }
  out.say(
      fmt::format("(and so on for lax-1, lax-2, hkg-1; all with --heartbeat-ms {} "
                  "--heartbeat-timeout-ms {})",
                  ctx.settings.heartbeat.count(), ctx.settings.heartbeat_timeout.count()));

  // This process joins last, through syd-1, as a visible node of lax. It is
  // created only now so that no child inherits its sockets.
  fly::NodeOptions o;
  o.name = ctx.my_name;
  o.region = ctx.my_region;
  o.primary_region = ctx.primary;
  o.listen_host = "127.0.0.1";
  o.port = 0;
  o.cookie = ctx.cookie;
  o.seeds = {ctx.members.front().address};
  o.heartbeat_interval = ctx.settings.heartbeat;
  o.heartbeat_timeout = ctx.settings.heartbeat_timeout;
  o.logger = spdlog::default_logger();  // the ring buffer cmd_demo.cpp set up
  ctx.node = std::make_unique<fly::Node>(o);
  expose_builtins(*ctx.node);
  ctx.node->expose("Demo.where", [] { return thread_tag(); });
  ctx.node->subscribe([&events = ctx.events](const fly::MembershipEvent& e) { events.add(e); });
  const auto joined_at = Clock::now();
  ctx.node->start();
  const bool meshed = ctx.node->wait_for_nodes(specs.size(), kMeshTimeout);
  const auto mesh_time = Clock::now() - joined_at;
  ctx.members.push_back({ctx.my_name, ctx.my_region,
                         fmt::format("127.0.0.1:{}", ctx.node->listen_port()),
                         ctx.members.front().name, ::getpid(), std::nullopt, true});
  out.say(fmt::format("This process joins as node {} of region {} (an in-process fly::Node):",
                      ctx.my_name, ctx.my_region));

  Table t({"NODE", "REGION", "ADDRESS", "PID", "SEED"});
  for (const auto& m : ctx.members) {
    t.row({m.name, m.region == ctx.primary ? m.region + " (primary)" : m.region, m.address,
           std::to_string(m.pid) + (m.child ? "" : " (this process)"),
           m.seed.empty() ? "-" : m.seed});
  }
  out.table(t);
  return out.check(meshed, meshed ? fmt::format("{} connected to all {} other nodes {} after "
                                                "joining; they found each other by gossip",
                                                ctx.my_name, specs.size(), format_ms(mesh_time))
                                  : fmt::format("{} sees only {} of the {} other nodes after {} s",
                                                ctx.my_name, ctx.node->nodes().size() - 1,
                                                specs.size(), kMeshTimeout.count()));
}

void stop_cluster(DemoContext& ctx) {
  Narrator& out = ctx.out;
  out.begin_step("stop", "Stop the cluster: this node says goodbye, the others get SIGTERM");
  std::vector<std::string> pids;
  for (const auto& m : ctx.members) {
    if (m.child && m.alive) pids.push_back(std::to_string(m.pid));
  }
  out.command("kill -TERM " + join(pids));
  if (ctx.node) ctx.node->stop();
  for (const auto& m : ctx.members) {
    if (m.child && m.alive) ctx.children.signal(*m.child, SIGTERM);
  }
  const auto deadline = Clock::now() + kStopTimeout;
  Table t({"NODE", "PID", "ENDED"});
  int graceful = 0;
  int expected = 0;
  for (const auto& m : ctx.members) {
    if (!m.child) continue;
    const auto status = ctx.children.wait_exit(*m.child, deadline);
    std::string ended = status ? describe_wait_status(*status) : "still running";
    if (!m.alive) {
      ended += " (step 7)";
    } else {
      ++expected;
      if (status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0) ++graceful;
    }
    t.row({m.name, std::to_string(m.pid), ended});
  }
  out.table(t);
  out.check(graceful == expected,
            fmt::format("{} of {} nodes left gracefully (exit 0)", graceful, expected));
  const std::size_t stragglers = ctx.children.kill_all();
  out.check(stragglers == 0, stragglers == 0
                                 ? std::string("no process left behind")
                                 : fmt::format("{} node(s) had to be killed", stragglers));
}

}  // namespace flyrpc_cli
