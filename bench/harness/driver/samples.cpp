#include "samples.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace flybench {

Summary summarize(Samples& samples) {
  Summary s;
  s.calls = samples.size();
  if (samples.empty()) return s;
  std::sort(samples.begin(), samples.end());
  auto rank = [&](double p) {
    auto k = static_cast<std::size_t>(std::ceil(p * static_cast<double>(samples.size())));
    return static_cast<double>(samples[std::clamp<std::size_t>(k, 1, samples.size()) - 1]) / 1e3;
  };
  s.p50_us = rank(0.50);
  s.p90_us = rank(0.90);
  s.p99_us = rank(0.99);
  s.max_us = static_cast<double>(samples.back()) / 1e3;
  s.mean_us = static_cast<double>(std::accumulate(samples.begin(), samples.end(), 0.0)) /
              static_cast<double>(samples.size()) / 1e3;
  return s;
}

}  // namespace flybench
