// A rate limit for log lines of conditions that can repeat many times a
// second (an accept loop out of descriptors, a peer refusing every redial):
// at most one line per interval, the occurrences in between counted into
// the next line.
//
// Not thread-safe: the caller holds its own lock or runs on one strand.
#pragma once

#include <chrono>
#include <cstddef>

namespace fly::detail {

class LogLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  explicit LogLimiter(std::chrono::milliseconds interval = std::chrono::seconds(1))
      : interval_(interval) {}

  /// Records one occurrence. True if a line may be logged now; `suppressed`
  /// is then how many occurrences were not logged since the last line.
  bool allow(std::size_t& suppressed, Clock::time_point now = Clock::now()) {
    if (logged_once_ && now - last_ < interval_) {
      ++suppressed_;
      return false;
    }
    suppressed = suppressed_;
    suppressed_ = 0;
    last_ = now;
    logged_once_ = true;
    return true;
  }

 private:
  std::chrono::milliseconds interval_;
  Clock::time_point last_{};
  bool logged_once_ = false;
  std::size_t suppressed_ = 0;
};

}  // namespace fly::detail
