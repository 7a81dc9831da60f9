// flyrpc demo: the main job. Starts a local cluster of `flyrpc node`
// processes in three regions, joins it from this process, and narrates what
// flyrpc does, checking each step (see demo_steps.hpp). Exit 0 only when every
// step behaved; 1 naming the steps that did not; 128+signal when interrupted,
// after killing and reaping every node it started.
#include <fmt/format.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <random>
#include <stdexcept>

#include "cli_common.hpp"
#include "commands.hpp"
#include "demo_cluster.hpp"
#include "demo_output.hpp"
#include "demo_processes.hpp"
#include "demo_signals.hpp"
#include "demo_steps.hpp"

extern char** environ;

namespace flyrpc_cli {

namespace {
using Clock = std::chrono::steady_clock;

struct DemoFlags {
  int calls = 2000;
  int threads = 4;
  bool keep = false;
};

// Settings of the user's own cluster that must not leak into the demo's.
constexpr const char* kScrubbedEnv[] = {
    "FLY_RPC_COOKIE",     "FLY_RPC_SEEDS", "FLY_RPC_PORT",   "FLY_RPC_DNS_NAME",
    "FLY_RPC_DNS_SERVER", "FLY_APP_NAME",  "FLY_MACHINE_ID", "FLY_PRIVATE_IP",
    "FLY_REGION",         "MY_REGION",     "PRIMARY_REGION", "FLY_RPC_VERBOSE"};

std::string self_exe() {
  char buf[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) throw std::runtime_error(std::string("/proc/self/exe: ") + std::strerror(errno));
  return std::string(buf, static_cast<std::size_t>(n));
}

// A fresh secret per run: no other cluster on the machine can join this one.
std::string random_cookie() {
  std::random_device rd;
  std::string cookie;
  for (int i = 0; i < 4; ++i) cookie += fmt::format("{:08x}", rd());
  return cookie;
}

std::vector<std::string> child_environment(const std::string& cookie) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view kv(*e);
    const std::string_view name = kv.substr(0, kv.find('='));
    bool scrub = false;
    for (const char* s : kScrubbedEnv) scrub |= name == s;
    if (!scrub) env.emplace_back(kv);
  }
  env.push_back("FLY_RPC_COOKIE=" + cookie);
  return env;
}

// Whether Ctrl-C should end the demo at once (the default) or wake the main
// thread (--keep, while the cluster is left up for the user).
struct InterruptState {
  std::mutex mutex;
  std::condition_variable woken;
  bool keeping = false;
  int signo = 0;
};

void run_step(DemoContext& ctx, const char* label, const char* title, void (*step)(DemoContext&)) {
  ctx.out.begin_step(label, title);
  try {
    step(ctx);
  } catch (const fly::Error& e) {
    ctx.out.check(false,
                  fmt::format("unexpected error ({}): {}", fly::to_string(e.code()), e.what()));
  } catch (const std::exception& e) {
    ctx.out.check(false, fmt::format("unexpected error: {}", e.what()));
  }
}

// After a failure: the warnings and errors logged by this process and by
// each node (their lines are otherwise not shown).
void print_diagnostics(DemoContext& ctx, spdlog::sinks::ringbuffer_sink_mt& log) {
  ctx.out.line();
  ctx.out.line(ctx.out.style().bold("Diagnostics: warnings and errors logged during the run"));
  auto serious = [](std::string_view l) {
    return l.find("[warning]") != std::string_view::npos ||
           l.find("[error]") != std::string_view::npos ||
           l.find("[critical]") != std::string_view::npos;
  };
  constexpr std::size_t kPerNode = 10;
  std::size_t shown = 0;
  for (const auto& l : log.last_formatted(kPerNode)) {
    std::string text = l;
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    ctx.out.say(ctx.my_name + ": " + text);
    ++shown;
  }
  for (const auto& m : ctx.members) {
    if (!m.child) continue;
    std::vector<std::string> lines;
    for (const auto& l : ctx.children.lines(*m.child)) {
      if (serious(l.text)) lines.push_back(l.text);
    }
    for (std::size_t i = lines.size() > kPerNode ? lines.size() - kPerNode : 0; i < lines.size();
         ++i) {
      ctx.out.say(m.name + ": " + lines[i]);
      ++shown;
    }
  }
  if (shown == 0) ctx.out.say("(none)");
}

int run_demo(const DemoFlags& f) {
  const auto started = Clock::now();
  Narrator out(Style::detect());
  const std::string cookie = random_cookie();
  ChildProcesses children(self_exe(), child_environment(cookie));

  // Before any thread starts (the watcher blocks the signals for all of them).
  InterruptState interrupt;
  SignalWatcher watcher([&](int signo) {
    {
      std::lock_guard lock(interrupt.mutex);
      if (interrupt.keeping) {
        interrupt.signo = signo;
        interrupt.woken.notify_all();
        return;
      }
    }
    const std::size_t killed = children.kill_all();
    const std::string msg =
        fmt::format("\ninterrupted by SIG{}: killed {} node process{}; none is left running\n",
                    sigabbrev_np(signo), killed, killed == 1 ? "" : "es");
    [[maybe_unused]] const ssize_t n = ::write(STDOUT_FILENO, msg.data(), msg.size());
    // End the process now, from this watcher thread, with the nodes reaped:
    // exit_group runs nothing else (not even a sanitizer's end-of-process
    // checks, which would report the demo's other threads as leaked).
    ::syscall(SYS_exit_group, 128 + signo);
  });

  // The library logs through spdlog; here its lines would cut through the
  // narration, so they are kept and shown only if something goes wrong.
  auto log = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(64);
  const auto previous_logger = spdlog::default_logger();
  auto logger = std::make_shared<spdlog::logger>("flyrpc-demo", log);
  logger->set_level(previous_logger->level());
  spdlog::set_default_logger(logger);

  DemoSettings settings;
  settings.burst_calls = f.calls;
  settings.burst_threads = f.threads;
  settings.keep = f.keep;
  DemoContext ctx(out, children, settings, cookie);

  out.line(out.style().bold("flyrpc demo: a multi-region cluster on this machine"));
  out.say("Five `flyrpc node` processes in regions syd (the primary), lax and hkg, on 127.0.0.1,");
  out.say("joined by this process as node \"demo\" of lax. Each step shows a command that does");
  out.say(f.keep ? "the same by hand; the cluster stays up at the end so you can try them."
                 : "the same by hand (`flyrpc demo --keep` leaves the cluster up to try them).");

  bool started_ok = false;
  try {
    started_ok = start_cluster(ctx);
  } catch (const std::exception& e) {
    out.check(false, fmt::format("the cluster did not start: {}", e.what()));
  }
  if (started_ok) {
    run_step(ctx, "1/8", "The region table, as each node sees it", step_region_tables);
    run_step(ctx, "2/8", "rpc_region: run a function on a node of a region", step_rpc_region);
    run_step(ctx, "3/8", "rpc_primary from a node outside the primary region", step_rpc_primary);
    run_step(ctx, "4/8", "A call to this node's own region runs locally", step_local_call);
    run_step(ctx, "5/8", "A call that times out", step_timeout);
    run_step(ctx, "6/8", "A function that raises on the remote node", step_remote_error);
    run_step(ctx, "7/8", "A node killed while a call to it is in flight", step_node_killed);
    run_step(ctx, "8/8", "A burst of calls: latency and throughput", step_burst);
  }
  if (f.keep && started_ok) {
    out.line();
    out.line(out.style().bold("The cluster is still up (hkg-1 was killed in step 7)."));
    out.say("Try the commands above in another terminal, after");
    out.command("export FLY_RPC_COOKIE=" + cookie);
    out.say("Press Ctrl-C to stop it.");
    std::unique_lock lock(interrupt.mutex);
    interrupt.keeping = true;
    interrupt.woken.wait(lock, [&] { return interrupt.signo != 0; });
    interrupt.keeping = false;  // a second Ctrl-C during the stop ends the demo at once
  }
  stop_cluster(ctx);
  const auto elapsed =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
  const std::string verdict = out.summary(elapsed);
  if (!out.all_ok()) print_diagnostics(ctx, *log);
  spdlog::set_default_logger(previous_logger);
  if (out.all_ok()) return kOk;
  print_error("demo: " + verdict);
  return 1;
}
}  // namespace

Runner add_demo_command(CLI::App& app) {
  auto flags = std::make_shared<DemoFlags>();
  CLI::App* cmd =
      app.add_subcommand("demo", "Run a local multi-region cluster and show flyrpc at work");
  cmd->add_option("--calls", flags->calls, "Calls in the burst of step 8 (default 2000)")
      ->check(CLI::Range(1, 1'000'000));
  cmd->add_option("--threads", flags->threads, "Threads making them (default 4)")
      ->check(CLI::Range(1, 64));
  cmd->add_flag("--keep", flags->keep,
                "Leave the cluster up after the steps, until Ctrl-C, to try the commands shown");
  cmd->footer(
      "Starts five `flyrpc node` processes on 127.0.0.1 (syd-1, syd-2 in the primary region\n"
      "syd; lax-1, lax-2; hkg-1) with a random cookie, joins them as node \"demo\" of lax, and\n"
      "shows in eight checked steps: the region tables, rpc_region, rpc_primary, a local call,\n"
      "a timeout, a remote error, a node killed mid-call and the table healing, and a burst of\n"
      "calls with latency percentiles. Takes a few seconds; colour only on a terminal\n"
      "(NO_COLOR=1 turns it off). Ctrl-C stops every node it started.\n"
      "Exit status: 0 every step behaved as expected, 1 some did not (the summary and\n"
      "stderr name them), 130 interrupted by Ctrl-C (143 by SIGTERM).\n"
      "Examples:\n"
      "  flyrpc demo\n"
      "  flyrpc demo --calls 20000 --threads 8\n"
      "  flyrpc demo --keep        # then, in another terminal, the commands it shows");
  return [flags] { return run_demo(*flags); };
}

}  // namespace flyrpc_cli
