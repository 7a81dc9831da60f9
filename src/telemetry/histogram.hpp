// A latency histogram with fixed buckets from 10 µs to 10 s, recorded with
// relaxed atomic increments (no lock, no allocation) and rendered in the
// Prometheus text format (cumulative buckets, +Inf, _sum, _count).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace fly::telemetry {

struct Bucket {
  std::int64_t upper_ns;  ///< inclusive upper bound in nanoseconds
  const char* le;         ///< the same bound in seconds, as the `le` label value
};

/// 1-2.5-5 steps per decade, 10 µs .. 10 s: a loopback call lands in the
/// first buckets, a cross-ocean call around 0.25 s, the 5 s default timeout
/// in the 5 s bucket.
inline constexpr std::array<Bucket, 19> latency_buckets{{
    {10'000, "1e-05"},      {25'000, "2.5e-05"},   {50'000, "5e-05"},      {100'000, "0.0001"},
    {250'000, "0.00025"},   {500'000, "0.0005"},   {1'000'000, "0.001"},   {2'500'000, "0.0025"},
    {5'000'000, "0.005"},   {10'000'000, "0.01"},  {25'000'000, "0.025"},  {50'000'000, "0.05"},
    {100'000'000, "0.1"},   {250'000'000, "0.25"}, {500'000'000, "0.5"},   {1'000'000'000, "1"},
    {2'500'000'000, "2.5"}, {5'000'000'000, "5"},  {10'000'000'000, "10"},
}};

class LatencyHistogram {
 public:
  /// Records one observation. Lock-free, allocation-free, any thread.
  /// Negative durations count as 0.
  void observe(std::chrono::nanoseconds d) noexcept {
    const std::int64_t ns = d.count() < 0 ? 0 : d.count();
    std::size_t i = 0;
    while (i < latency_buckets.size() && ns > latency_buckets[i].upper_ns) ++i;
    counts_[i].fetch_add(1, std::memory_order_relaxed);
    sum_ns_.fetch_add(static_cast<std::uint64_t>(ns), std::memory_order_relaxed);
  }

  /// Appends the _bucket, _sum and _count lines of one series. `labels` is the
  /// series' rendered labels without braces ("function=\"f\"") or empty.
  /// _count equals the +Inf bucket even while other threads observe.
  void render(std::string& out, std::string_view name, std::string_view labels) const;

 private:
  std::array<std::atomic<std::uint64_t>, latency_buckets.size() + 1> counts_{};  // last: +Inf
  std::atomic<std::uint64_t> sum_ns_{0};
};

}  // namespace fly::telemetry
