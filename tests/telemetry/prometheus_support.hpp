// Helpers for the tests that run a real Prometheus (Debian package
// `prometheus`) and promtool on loopback.
#pragma once

#include <asio/ip/tcp.hpp>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "support/process.hpp"

namespace flytest {

/// The binary `name` from PATH or /usr/bin; "" if absent.
std::string find_tool(const std::string& name);

/// Skips the test (with how to install it) when the tool is absent.
#define FLYTEST_SKIP_WITHOUT(tool_var, name)                           \
  const std::string tool_var = flytest::find_tool(name);               \
  if (tool_var.empty()) {                                              \
    GTEST_SKIP() << name                                               \
        " is not installed: run scripts/install-deps.sh test (Debian " \
        "package prometheus) to run this test";                        \
  }

/// A unique temporary directory, removed with everything in it.
struct TempDir {
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::filesystem::path path;
};

/// A Prometheus on 127.0.0.1 (a free port), data in `dir`, scraping
/// `target` ("127.0.0.1:port", path /metrics) every second as job "flyrpc".
/// The Process kills it when destroyed.
struct PrometheusServer {
  Process process;
  asio::ip::tcp::endpoint api;
};
PrometheusServer start_prometheus(const std::string& binary, const TempDir& dir,
                                  const std::string& target);

/// The vector result of an instant query, or an empty array (not up yet,
/// error, no such series).
nlohmann::json prometheus_query(const asio::ip::tcp::endpoint& prometheus,
                                const std::string& promql);

/// The sample value of one series of a query result, as Prometheus prints it.
std::string sample_value(const nlohmann::json& series);

/// `promtool check metrics` on `text`.
ProcessResult promtool_check(const std::string& promtool, const TempDir& dir,
                             const std::string& text);

}  // namespace flytest
