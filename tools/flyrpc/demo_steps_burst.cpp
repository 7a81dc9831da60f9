// Step 8: a burst of calls from several threads, with latency percentiles.
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <thread>

#include "demo_steps.hpp"

namespace flyrpc_cli {

namespace {
using Clock = std::chrono::steady_clock;

struct ThreadResult {
  std::vector<std::int64_t> latencies_ns;
  int wrong = 0;   // answered, but not "FLY"
  int failed = 0;  // threw
  std::string first_error;
};

// Nearest-rank percentile of sorted values.
std::int64_t percentile(const std::vector<std::int64_t>& sorted, double q) {
  if (sorted.empty()) return 0;
  const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size() - 1, rank == 0 ? 0 : rank - 1)];
}

std::string micros(std::int64_t ns, const Style& style) {
  return fmt::format("{:.0f} {}", static_cast<double>(ns) / 1000.0, style.micros());
}
}  // namespace

void step_burst(DemoContext& ctx) {
  Narrator& out = ctx.out;
  fly::Node& node = *ctx.node;
  const int calls = ctx.settings.burst_calls;
  const int threads = std::min(ctx.settings.burst_threads, calls);
  out.say(
      fmt::format("{} blocking rpc_region calls of String.upcase to {} (the primary) from {} "
                  "threads at once:",
                  calls, ctx.primary, threads));
  out.command(ctx.call_command() + " --region " + ctx.primary + " String.upcase '\"fly\"'");
  const std::string fly_text = "fly";
  std::vector<ThreadResult> results(static_cast<std::size_t>(threads));
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    // Spread the calls evenly: the first (calls % threads) threads do one more.
    const int share = calls / threads + (t < calls % threads ? 1 : 0);
    pool.emplace_back([&, t, share] {
      ThreadResult& r = results[static_cast<std::size_t>(t)];
      r.latencies_ns.reserve(static_cast<std::size_t>(share));
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      for (int i = 0; i < share; ++i) {
        const auto start = Clock::now();
        try {
          if (node.rpc_region<std::string>(ctx.primary, "String.upcase", fly_text) != "FLY") {
            ++r.wrong;
          }
        } catch (const std::exception& e) {
          if (r.failed++ == 0) r.first_error = e.what();
          continue;
        }
        r.latencies_ns.push_back(
            std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count());
      }
    });
  }
  while (ready.load() < threads) std::this_thread::yield();
  const auto start = Clock::now();
  go.store(true, std::memory_order_release);
  for (auto& th : pool) th.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();

  std::vector<std::int64_t> all;
  int wrong = 0;
  int failed = 0;
  std::string first_error;
  for (const auto& r : results) {
    all.insert(all.end(), r.latencies_ns.begin(), r.latencies_ns.end());
    wrong += r.wrong;
    failed += r.failed;
    if (first_error.empty()) first_error = r.first_error;
  }
  std::sort(all.begin(), all.end());
  const Style& s = out.style();
  Table t({"CALLS", "THREADS", "CALLS/S", "P50", "P90", "P99", "MAX"});
  t.row({std::to_string(calls), std::to_string(threads),
         fmt::format("{:.0f}", static_cast<double>(calls) / std::max(seconds, 1e-9)),
         micros(percentile(all, 0.50), s), micros(percentile(all, 0.90), s),
         micros(percentile(all, 0.99), s), micros(all.empty() ? 0 : all.back(), s)});
  out.table(t);
  const int ok = calls - wrong - failed;
  out.check(ok == calls,
            ok == calls ? fmt::format("all {} calls returned \"FLY\" in {:.2f} s", calls, seconds)
                        : fmt::format("{} of {} calls went wrong ({} wrong answers, {} errors{})",
                                      calls - ok, calls, wrong, failed,
                                      first_error.empty() ? "" : ", first: " + first_error));
}

}  // namespace flyrpc_cli
