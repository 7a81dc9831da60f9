#include "telemetry/histogram.hpp"

#include <fmt/format.h>

#include "telemetry/exposition.hpp"

namespace fly::telemetry {

namespace {
void append_sample_prefix(std::string& out, std::string_view name, std::string_view suffix,
                          std::string_view labels, std::string_view le) {
  out += name;
  out += suffix;
  if (labels.empty() && le.empty()) {
    out += ' ';
    return;
  }
  out += '{';
  out += labels;
  if (!le.empty()) {
    if (!labels.empty()) out += ',';
    out += "le=\"";
    out += le;
    out += '"';
  }
  out += "} ";
}
}  // namespace

void LatencyHistogram::render(std::string& out, std::string_view name,
                              std::string_view labels) const {
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    cumulative += counts_[i].load(std::memory_order_relaxed);
    const char* le = i < latency_buckets.size() ? latency_buckets[i].le : "+Inf";
    append_sample_prefix(out, name, "_bucket", labels, le);
    fmt::format_to(std::back_inserter(out), "{}\n", cumulative);
  }
  const double sum_seconds =
      static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1'000'000'000.0;
  append_sample_prefix(out, name, "_sum", labels, "");
  out += format_value(sum_seconds);
  out += '\n';
  append_sample_prefix(out, name, "_count", labels, "");
  fmt::format_to(std::back_inserter(out), "{}\n", cumulative);
}

}  // namespace fly::telemetry
