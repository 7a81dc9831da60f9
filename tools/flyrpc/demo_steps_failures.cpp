// Steps 5-7: the ways a call fails, each as its own typed error.
#include <fmt/format.h>
#include <signal.h>

#include <algorithm>
#include <cstdint>
#include <future>
#include <map>
#include <memory>
#include <stdexcept>
#include <thread>

#include "demo_steps.hpp"
#include "fly/async.hpp"

namespace flyrpc_cli {

namespace {
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kSleepTimeout{300};
constexpr std::int64_t kSleepMs = 2000;
constexpr std::int64_t kInFlightSleepMs = 5000;
constexpr milliseconds kInFlightTimeout{10000};
// How long the call is left in flight before the kill: time enough for it to
// reach the node and start sleeping. Pacing for the show, not synchronisation:
// a call killed before it arrives fails the same way.
constexpr milliseconds kInFlightFor{200};
// "At once": a node-down must be reported long before the call's timeout.
constexpr milliseconds kNodeDownWithin{1000};
// Scheduling slack on a busy machine on top of the heartbeat timeout.
constexpr milliseconds kHealGrace{500};

std::string join(const std::vector<std::string>& words, const char* sep = ", ") {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : sep) + w;
  return out;
}
}  // namespace

void step_timeout(DemoContext& ctx) {
  Narrator& out = ctx.out;
  out.say(fmt::format("Process.sleep({}) on {} with a {} ms timeout: the caller gets fly::Timeout,",
                      kSleepMs, ctx.primary, kSleepTimeout.count()));
  out.say("and the node running it is told to give up.");
  out.command(fmt::format("{} --region {} --timeout {} Process.sleep {}   # exit 4",
                          ctx.call_command(), ctx.primary, kSleepTimeout.count(), kSleepMs));
  const auto start = Clock::now();
  try {
    ctx.node->rpc_region<void>(ctx.primary, "Process.sleep", kSleepMs, fly::timeout(kSleepTimeout));
    out.check(false, "Process.sleep returned instead of timing out");
  } catch (const fly::Timeout& e) {
    const auto took = Clock::now() - start;
    out.say(fmt::format("fly::Timeout: {}", e.what()));
    out.check(took >= kSleepTimeout && took < milliseconds(kSleepMs),
              fmt::format("fly::Timeout after {} (node {}, timeout {} ms)", format_ms(took),
                          e.node(), e.timeout().count()));
  }
}

void step_remote_error(DemoContext& ctx) {
  Narrator& out = ctx.out;
  out.say("Kernel.raise throws std::runtime_error on the node that runs it; the caller gets a");
  out.say("fly::RemoteError naming the node, the function, the exception type and its message.");
  out.command(ctx.call_command() + " --region hkg Kernel.raise '\"boom\"'   # exit 1");
  try {
    ctx.node->rpc_region<void>("hkg", "Kernel.raise", "boom");
    out.check(false, "Kernel.raise returned instead of throwing");
  } catch (const fly::RemoteError& e) {
    Table t({"fly::RemoteError", "VALUE"});
    t.row({"node()", e.node()});
    t.row({"function()", e.function()});
    t.row({"exception_type()", e.exception_type()});
    t.row({"remote_message()", e.remote_message()});
    t.row({"what()", e.what()});
    out.table(t);
    const bool ok = e.node() == "hkg-1" && e.function() == "Kernel.raise" &&
                    e.exception_type().find("runtime_error") != std::string::npos &&
                    e.remote_message() == "boom";
    out.check(ok, ok ? "the error came back typed, from hkg-1, with its type and message"
                     : "the error does not say hkg-1 / Kernel.raise / runtime_error / boom");
  }
}

void step_node_killed(DemoContext& ctx) {
  Narrator& out = ctx.out;
  fly::Node& node = *ctx.node;
  ClusterMember* victim = nullptr;
  for (auto& m : ctx.members) {
    if (m.name == ctx.victim) victim = &m;
  }
  if (victim == nullptr || !victim->child) throw std::logic_error(ctx.victim + " never started");
  out.say(
      fmt::format("An async Process.sleep({}) (timeout {} s) is in flight on {} when {} is "
                  "killed:",
                  kInFlightSleepMs, kInFlightTimeout.count() / 1000, victim->name, victim->name));
  out.command(fmt::format("{} --node {} --timeout {} Process.sleep {} &   # exit 5",
                          ctx.call_command(), victim->name, kInFlightTimeout.count(),
                          kInFlightSleepMs));
  out.command(fmt::format("kill -KILL {}", victim->pid));

  // The handler may run after this function returns (if the call outlives
  // it), so it owns its promise.
  auto done = std::make_shared<std::promise<std::exception_ptr>>();
  auto result = done->get_future();
  node.async_rpc<void>(victim->name, "Process.sleep", kInFlightSleepMs,
                       fly::timeout(kInFlightTimeout),
                       [done](std::exception_ptr e) { done->set_value(e); });
  if (result.wait_for(kInFlightFor) == std::future_status::ready) {
    out.check(false,
              "the call ended before the kill: " + std::string(result.get() ? "error" : "ok"));
    return;
  }
  const auto killed_at = Clock::now();
  ctx.children.signal(*victim->child, SIGKILL);
  victim->alive = false;

  // 1. The in-flight call fails at once with fly::NodeDown.
  std::string outcome = "no answer";
  bool node_down = false;
  Clock::duration failed_after{};
  if (result.wait_for(kInFlightTimeout + std::chrono::seconds(1)) == std::future_status::ready) {
    failed_after = Clock::now() - killed_at;
    try {
      if (auto e = result.get()) std::rethrow_exception(e);
      outcome = "it returned normally";
    } catch (const fly::NodeDown& e) {
      node_down = true;
      outcome = fmt::format("fly::NodeDown: {}", e.what());
    } catch (const std::exception& e) {
      outcome = fmt::format("{}", e.what());
    }
  }
  out.say(fmt::format("after {}: {}", format_ms(failed_after), outcome));
  out.check(node_down && failed_after < kNodeDownWithin,
            node_down ? fmt::format("the in-flight call failed with fly::NodeDown {} after the "
                                    "kill, not after its {} s timeout",
                                    format_ms(failed_after), kInFlightTimeout.count() / 1000)
                      : "the in-flight call did not fail with fly::NodeDown");
  const auto status =
      ctx.children.wait_exit(*victim->child, Clock::now() + std::chrono::seconds(5));
  out.say(fmt::format("{} (pid {}): {}", victim->name, victim->pid,
                      status ? describe_wait_status(*status) : "still running"));

  // 2. The table heals: every remaining node drops the victim.
  const auto heal_deadline =
      killed_at + ctx.settings.heartbeat_timeout + kHealGrace + std::chrono::seconds(2);
  std::map<std::string, Clock::duration> gone_after;  // when each node's table lost the victim
  std::vector<const ClusterMember*> survivors;
  for (const auto& m : ctx.members) {
    if (m.alive) survivors.push_back(&m);
  }
  while (gone_after.size() < survivors.size() && Clock::now() < heal_deadline) {
    for (const auto* m : survivors) {
      if (gone_after.count(m->name)) continue;
      try {
        const auto table = node.rpc<RegionTable>(m->name, "Fly.region_table",
                                                 fly::timeout(std::chrono::seconds(1)));
        bool listed = false;
        for (const auto& [region, names] : table) {
          listed |= std::find(names.begin(), names.end(), victim->name) != names.end();
        }
        if (!listed) gone_after[m->name] = Clock::now() - killed_at;
      } catch (const fly::Error&) {
        // Asked again next round.
      }
    }
    if (gone_after.size() < survivors.size()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling the tables
    }
  }

  // How each node heard of it: its own "down" line, or our membership event.
  Table t({"NODE", "SAW IT DOWN", "REASON", "TABLE WITHOUT IT"});
  Clock::duration healed_after{};
  for (const auto* m : survivors) {
    std::string saw = "-";
    std::string reason = "-";
    if (m->child) {
      const std::string prefix = "down " + victim->name + " ";
      const auto line = ctx.children.wait_for_line(
          *m->child, [&](std::string_view l) { return l.starts_with(prefix); },
          Clock::now() + std::chrono::milliseconds(200));
      if (line) {
        saw = format_ms(line->at - killed_at);
        // "down <name> <region> <reason...>"
        const auto after_region = line->text.find(' ', prefix.size());
        if (after_region != std::string::npos) reason = line->text.substr(after_region + 1);
      }
    } else {
      for (const auto& e : ctx.events.entries()) {
        if (e.event.kind == fly::MembershipEvent::Kind::down && e.event.node.name == victim->name) {
          saw = format_ms(e.at - killed_at);
          reason = e.event.reason;
          break;
        }
      }
    }
    auto g = gone_after.find(m->name);
    if (g != gone_after.end()) healed_after = std::max(healed_after, g->second);
    t.row({m->name, saw, reason, g == gone_after.end() ? "still listed" : format_ms(g->second)});
  }
  out.table(t);
  const bool healed = gone_after.size() == survivors.size() &&
                      healed_after <= ctx.settings.heartbeat_timeout + kHealGrace;
  out.check(healed,
            gone_after.size() == survivors.size()
                ? fmt::format("{} left all {} tables {} after the kill (heartbeat timeout "
                              "{} ms)",
                              victim->name, survivors.size(), format_ms(healed_after),
                              ctx.settings.heartbeat_timeout.count())
                : fmt::format("{} of {} tables still list {}", survivors.size() - gone_after.size(),
                              survivors.size(), victim->name));

  // 3. Its region is now empty: a typed error naming the regions that exist.
  out.command(ctx.call_command() + " --region " + victim->region + " Kernel.node   # exit 3");
  try {
    const std::string who = node.rpc_region<std::string>(victim->region, "Kernel.node");
    out.check(false, fmt::format("rpc_region(\"{}\") still ran, on {}", victim->region, who));
  } catch (const fly::NoNodeInRegion& e) {
    out.say(fmt::format("fly::NoNodeInRegion: {}", e.what()));
    out.check(e.region() == victim->region,
              fmt::format("rpc_region(\"{}\") now fails with fly::NoNodeInRegion (regions left: "
                          "{})",
                          victim->region, join(e.available_regions())));
  }
}

}  // namespace flyrpc_cli
