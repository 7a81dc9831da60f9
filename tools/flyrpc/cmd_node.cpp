// flyrpc node: runs a cluster node until SIGINT/SIGTERM, then leaves
// gracefully. Prints one line per event on stdout (tests and the demo read
// them): "listening <address>", "up <name> <region>", "down <name> <region> <reason>",
// and "metrics http://HOST:PORT/metrics" once the metrics endpoint listens.
// A node whose name a newer process took prints "replaced <reason>", says
// why on stderr and exits with status 7 (kCannotJoin).
#include <fmt/format.h>
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <memory>
#include <mutex>

#include "builtins.hpp"
#include "cli_common.hpp"
#include "commands.hpp"
#include "discovery/host_port.hpp"
#include "telemetry/metrics_address.hpp"

namespace flyrpc_cli {

namespace {
struct NodeFlags {
  std::string name;
  std::string listen;
  std::string seeds;
  std::string region;
  std::string primary;
  bool hidden = false;
  int heartbeat_ms = 0;
  int heartbeat_timeout_ms = 0;
  int handshake_timeout_ms = 0;
  bool lazy = false;
  int idle_ms = 0;
  bool verbose = false;
  std::string metrics;
  TlsFlags tls;
};

void emit_line(const std::string& line) {
  static std::mutex m;
  std::lock_guard lock(m);
  std::fputs(line.c_str(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

int run_node(const NodeFlags& f) {
  fly::NodeOptions o = fly::NodeOptions::from_env();
  if (!f.name.empty()) o.name = f.name;
  if (!f.region.empty()) o.region = f.region;
  if (!f.primary.empty()) o.primary_region = f.primary;
  o.hidden = f.hidden;
  if (!f.listen.empty()) {
    // Port 0 (any free port) is allowed here; print the chosen one.
    std::string text = f.listen;
    bool any_port = text.size() > 2 && text.ends_with(":0");
    auto hp = fly::discovery::parse_host_port(
        "--listen", any_port ? text.substr(0, text.size() - 2) : text, any_port ? 1 : o.port);
    // A host name ("localhost", "fly-local-6pn") is resolved once, here.
    o.listen_host = resolve_host("--listen", hp.host);
    o.port = any_port ? 0 : hp.port;
  }
  if (!f.seeds.empty()) {
    o.seeds.clear();
    for (const auto& hp :
         fly::discovery::parse_host_list("--seeds", f.seeds, o.port ? o.port : 4370)) {
      o.seeds.push_back(hp.to_string());
    }
  }
  // 0: not given (CLI11 has checked the range of every given value).
  if (f.heartbeat_ms > 0) o.heartbeat_interval = std::chrono::milliseconds(f.heartbeat_ms);
  if (f.handshake_timeout_ms > 0) {
    o.handshake_timeout = std::chrono::milliseconds(f.handshake_timeout_ms);
  }
  if (f.lazy) o.lazy_connections = true;
  if (f.idle_ms > 0) o.idle_connection_timeout = std::chrono::milliseconds(f.idle_ms);
  if (f.verbose) o.verbose_logging = true;
  if (!f.metrics.empty()) {
    // Validated here so that the error names the flag.
    o.metrics_address =
        fly::telemetry::to_string(fly::telemetry::parse_metrics_address(f.metrics, "--metrics"));
  }
  if (f.heartbeat_timeout_ms > 0) {
    o.heartbeat_timeout = std::chrono::milliseconds(f.heartbeat_timeout_ms);
  }
  apply_tls_flags(f.tls, o);

  // Block the stop signals before any thread starts, then wait for them here.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  fly::Node node(o);
  expose_builtins(node);
  // Set once if a newer process took this node's name; then SIGTERM to this
  // thread ends the sigwait below and the process exits with an error.
  auto replaced = std::make_shared<std::string>();
  auto replaced_mutex = std::make_shared<std::mutex>();
  const pthread_t main_thread = pthread_self();
  node.subscribe([replaced, replaced_mutex, main_thread](const fly::MembershipEvent& e) {
    if (e.kind == fly::MembershipEvent::Kind::up) {
      emit_line(fmt::format("up {} {} {}", e.node.name, e.node.region, e.node.address));
    } else if (e.kind == fly::MembershipEvent::Kind::replaced) {
      emit_line(fmt::format("replaced {} {}", e.node.name, e.reason));
      std::lock_guard lock(*replaced_mutex);
      *replaced = e.reason;
      pthread_kill(main_thread, SIGTERM);
    } else {
      emit_line(fmt::format("down {} {} {}", e.node.name, e.node.region, e.reason));
    }
  });
  node.start();
  const std::string host = o.listen_host.find(':') != std::string::npos
                               ? fmt::format("[{}]", o.listen_host)
                               : o.listen_host;
  if (node.listen_port() != 0) {
    emit_line(
        fmt::format("listening {}:{} {} {}", host, node.listen_port(), node.name(), node.region()));
  } else {
    emit_line(fmt::format("hidden {} {}", node.name(), node.region()));
  }
  if (const std::string metrics = node.metrics_endpoint(); !metrics.empty()) {
    emit_line(fmt::format("metrics http://{}/metrics", metrics));
  }
  int sig = 0;
  sigwait(&stop_signals, &sig);
  std::string why;
  {
    std::lock_guard lock(*replaced_mutex);
    why = *replaced;
  }
  emit_line(fmt::format("stopping ({})", !why.empty()    ? "replaced"
                                         : sig == SIGINT ? "SIGINT"
                                                         : "SIGTERM"));
  node.stop();
  emit_line("stopped");
  if (!why.empty()) {
    print_error("node " + node.name() + " was " + why);
    return kCannotJoin;
  }
  return 0;
}
}  // namespace

Runner add_node_command(CLI::App& app) {
  auto flags = std::make_shared<NodeFlags>();
  CLI::App* cmd = app.add_subcommand("node", "Run a cluster node until SIGINT/SIGTERM");
  cmd->add_option("--name", flags->name,
                  "Node name, unique in the cluster (default: FLY_MACHINE_ID, else host-pid)");
  cmd->add_option("--listen", flags->listen,
                  "HOST:PORT to listen on; HOST an IP or a host name resolved once at start-up "
                  "(default: FLY_PRIVATE_IP or 127.0.0.1, port FLY_RPC_PORT or 4370); port 0 "
                  "picks one");
  cmd->add_option("--seeds", flags->seeds, "Nodes to join, HOST:PORT,... (default: FLY_RPC_SEEDS)");
  cmd->add_option("--region", flags->region, "This node's region (stands in for MY_REGION)");
  cmd->add_option("--primary", flags->primary, "The primary region (stands in for PRIMARY_REGION)");
  cmd->add_flag("--hidden", flags->hidden, "Join as a hidden node: can call, never routed to");
  // Every number is checked: a bad one is exit 2 with an error naming the option.
  const auto ms_range = CLI::Range(1, 3'600'000);
  cmd->add_option("--heartbeat-ms", flags->heartbeat_ms,
                  "Heartbeat interval, 1..3600000 ms (default 2000)")
      ->check(ms_range);
  cmd->add_option("--heartbeat-timeout-ms", flags->heartbeat_timeout_ms,
                  "Declare a silent peer down after this, ms, above --heartbeat-ms (default 4500)")
      ->check(ms_range);
  cmd->add_option("--handshake-timeout-ms", flags->handshake_timeout_ms,
                  "Close connections that do not authenticate within this, ms (default 5000)")
      ->check(ms_range);
  cmd->add_flag("--lazy-connections", flags->lazy,
                "Connect to seeds only and to other nodes when calls need them; learn the rest "
                "by gossip (also FLY_RPC_LAZY_CONNECTIONS=1)");
  cmd->add_option("--idle-ms", flags->idle_ms,
                  "With --lazy-connections: close a connection made for calls after this long "
                  "without one, 1..3600000 ms (default 60000)")
      ->check(ms_range);
  cmd->add_flag("--verbose", flags->verbose,
                "Log SEND/RESP/TIMEOUT/RECV lines (also FLY_RPC_VERBOSE=1)");
  cmd->add_option("--metrics", flags->metrics,
                  "Serve Prometheus metrics at http://HOST:PORT/metrics (default: "
                  "FLY_RPC_METRICS); port 0 picks one");
  add_tls_flags(*cmd, flags->tls);
  cmd->footer(
      "The cookie comes from FLY_RPC_COOKIE, else ~/.flyrpc.cookie (created on first use).\n"
      "Exports String.upcase, Kernel.+, Kernel.node, Process.sleep, Kernel.raise and\n"
      "Echo.bytes, besides the built-ins of every node: Fly.my_region, Fly.primary_region,\n"
      "Fly.region_table and Fly.nodes.\n"
      "TLS is off unless --tls-cert/--tls-ca or FLY_RPC_TLS_* are set (then on every node).\n"
      "Examples:\n"
      "  flyrpc node --name syd-1 --region syd --primary syd --listen 127.0.0.1:4370\n"
      "  flyrpc node --name lax-1 --region lax --primary syd --listen 127.0.0.1:4371 --seeds "
      "127.0.0.1:4370\n"
      "  flyrpc node --listen fly-local-6pn:4370 --metrics 0.0.0.0:9091   # on Fly.io");
  return [flags] { return run_node(*flags); };
}

}  // namespace flyrpc_cli
