// Latency samples of one measurement and the figures reported from them.
#pragma once

#include <cstdint>
#include <vector>

namespace flybench {

/// Round-trip times in nanoseconds. The driver keeps every sample (a few MB at
/// most, bounded by --max-calls), so percentiles are exact, not bucketed.
using Samples = std::vector<std::uint64_t>;

struct Summary {
  std::size_t calls = 0;
  double p50_us = 0, p90_us = 0, p99_us = 0, max_us = 0, mean_us = 0;
};

/// Nearest-rank percentiles of `samples` (reordered in place). Empty -> zeros.
Summary summarize(Samples& samples);

}  // namespace flybench
