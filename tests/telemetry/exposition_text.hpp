// Reading the Prometheus text a node renders, for the tests that check it
// line by line (node_metrics_test.cpp, node_telemetry_test.cpp).
#pragma once

#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace flytest {

/// The value of the sample line `series` (name and labels exactly as
/// rendered): what follows "series " on its line; nullopt when no line is
/// that series.
inline std::optional<std::string> sample(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 &&
        line[series.size()] == ' ') {
      return line.substr(series.size() + 1);
    }
  }
  return std::nullopt;
}

/// Every line of `text` that starts with `prefix`, in order.
inline std::vector<std::string> lines_starting(const std::string& text, const std::string& prefix) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, prefix.size(), prefix) == 0) out.push_back(line);
  }
  return out;
}

}  // namespace flytest
