// The exactly-once ledger: one slot per call issued, stamped when the call
// starts and when it ends. A second completion of the same call is counted
// as a duplicate (never as an outcome), so at the end
//   sum of outcomes == issued  and  duplicates == 0
// is the invariant "every call ended exactly once", and the slots' times
// give "within its timeout plus a small bound".
//
// Thread-safety: begin() and end() may be called from any threads at once
// (they touch only their slot and atomic counters); the readers may run
// concurrently and see a consistent-enough snapshot (each counter is exact,
// the set of counters is not read atomically). Memory: ~32 bytes per slot,
// allocated up front.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace flyrel {

/// How a call ended, as the suite counts it.
enum class Outcome : std::uint8_t {
  ok,         ///< the expected result
  timeout,    ///< fly::Timeout
  node_down,  ///< fly::NodeDown
  no_node,    ///< fly::NoNodeInRegion (the region had no visible node)
  other,      ///< anything else: another error, or a wrong result
};
inline constexpr std::size_t kOutcomes = 5;
const char* to_string(Outcome o);

/// The Outcome of an error (null = ok), and its message in `detail`.
Outcome classify(const std::exception_ptr& error, std::string* detail = nullptr);

class Ledger {
 public:
  using Clock = std::chrono::steady_clock;

  /// Room for `capacity` calls, each to one of `targets` (e.g. regions).
  Ledger(std::size_t capacity, std::vector<std::string> targets);

  /// Opens the slot of a new call to targets()[target]; returns its id.
  /// Throws std::length_error when full.
  std::size_t begin(std::size_t target);
  /// Records a completion of call `id`. True for its first completion;
  /// false (and a duplicate counted, the outcome ignored) for any later one.
  /// `detail` (e.g. the error message of an `other`) is kept for the first
  /// few `other`s.
  bool end(std::size_t id, Outcome outcome, std::string_view detail = {});

  const std::vector<std::string>& targets() const { return targets_; }
  std::size_t issued() const { return issued_.load(); }
  /// Calls that ended (first completions only).
  std::size_t ended() const { return ended_.load(); }
  std::size_t duplicates() const { return duplicates_.load(); }
  std::size_t count(Outcome o) const;
  std::size_t count(std::size_t target, Outcome o) const;
  /// Sum over outcomes (== ended()).
  std::size_t sum_of_outcomes() const;

  /// Ids of calls that have not ended.
  std::vector<std::size_t> unended() const;
  /// Longest begin-to-end time of an ended call (0 if none).
  std::chrono::milliseconds max_elapsed() const;
  /// Longest begin-to-end time of an ended call with outcome `o`.
  std::chrono::milliseconds max_elapsed(Outcome o) const;
  /// Calls that ended more than `bound` after they began.
  std::size_t ended_later_than(std::chrono::milliseconds bound) const;
  /// Calls to `target` that began at or after `t` and ended ok.
  std::size_t ok_begun_after(std::size_t target, Clock::time_point t) const;
  /// The `p`-th percentile (0..1) of the begin-to-end times of the calls to
  /// `target` that ended ok (0 if none). Sorts a copy: O(n log n).
  std::chrono::microseconds ok_percentile(std::size_t target, double p) const;
  /// The end time of call `id` (time_point{} if it has not ended).
  Clock::time_point end_time(std::size_t id) const;

  /// The first few `other` details.
  std::vector<std::string> other_samples() const;
  /// A table: one row per target, one column per outcome, then totals,
  /// duplicates and the longest call. For the test output.
  std::string report(const std::string& title) const;

 private:
  struct Slot {
    // Atomics because readers scan slots while calls run; each is written
    // once (began/target by begin(), the rest by the first end()).
    std::atomic<std::int64_t> began_ns{0};
    std::atomic<std::int64_t> ended_ns{0};
    std::atomic<std::uint32_t> completions{0};
    std::atomic<std::uint8_t> outcome{0};
    std::atomic<std::uint8_t> target{0};
  };

  std::vector<std::string> targets_;
  std::size_t capacity_;
  std::unique_ptr<Slot[]> slots_;
  std::unique_ptr<std::atomic<std::size_t>[]> counts_;  // [target * kOutcomes + outcome]
  std::atomic<std::size_t> issued_{0};
  std::atomic<std::size_t> ended_{0};
  std::atomic<std::size_t> duplicates_{0};
  mutable std::mutex samples_mutex_;
  std::vector<std::string> other_samples_;
};

}  // namespace flyrel
