// A real Prometheus (Debian package `prometheus`) scrapes a MetricsServer on
// loopback; the test reads the series back through Prometheus's HTTP API.
// And promtool lints the exposition text.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <asio/executor_work_guard.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "http_client.hpp"
#include "support/process.hpp"
#include "support/wait.hpp"
#include "telemetry/metrics_server.hpp"
#include "telemetry/node_metrics.hpp"

namespace {

namespace fs = std::filesystem;
using fly::Errc;
using fly::telemetry::MetricsServer;
using fly::telemetry::NodeMetrics;

// The binaries, from PATH or where Debian installs them; "" if absent.
std::string find_tool(const std::string& name) {
  if (const char* path = std::getenv("PATH")) {
    std::string dirs = path;
    std::size_t start = 0;
    while (start <= dirs.size()) {
      const auto end = std::min(dirs.find(':', start), dirs.size());
      const fs::path candidate = fs::path(dirs.substr(start, end - start)) / name;
      if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
      start = end + 1;
    }
  }
  const std::string debian = "/usr/bin/" + name;
  return ::access(debian.c_str(), X_OK) == 0 ? debian : "";
}

#define SKIP_WITHOUT(tool_var, name)                                   \
  const std::string tool_var = find_tool(name);                        \
  if (tool_var.empty()) {                                              \
    GTEST_SKIP() << name                                               \
        " is not installed: run scripts/install-deps.sh test (Debian " \
        "package prometheus) to run this test";                        \
  }

// A unique temporary directory, removed with everything in it.
struct TempDir {
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "flyrpc-prometheus-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  fs::path path;
};

NodeMetrics& sample_metrics(NodeMetrics& m) {
  for (int i = 0; i < 9; ++i) m.call_started();
  for (int i = 0; i < 7; ++i) {
    m.call_finished("String.upcase", "syd", Errc::ok, std::chrono::microseconds(300 + i));
  }
  for (int i = 0; i < 2; ++i) {
    m.call_finished("String.upcase", "syd", Errc::timeout, std::chrono::seconds(5));
  }
  m.call_started();
  m.call_finished("a \"quoted\\\" name\nwith a newline", "lax", Errc::remote_error,
                  std::chrono::milliseconds(3));
  m.handler_finished("Kernel.+", std::chrono::microseconds(40));
  m.set_nodes_per_region({{"syd", 2}, {"lax", 1}});
  m.bytes_sent(1234);
  m.bytes_received(4321);
  m.handshake_refused("bad_cookie");
  m.reconnected();
  return m;
}

// GET on Prometheus's API; null when it is not up yet or answers non-JSON.
nlohmann::json api_get(const asio::ip::tcp::endpoint& prometheus, const std::string& target) {
  try {
    const auto r = flytest::http_get(prometheus, target);
    if (r.status != 200) return nullptr;
    return nlohmann::json::parse(r.body, nullptr, false);
  } catch (const std::exception&) {
    return nullptr;  // connection refused while Prometheus starts
  }
}

// The vector result of an instant query, or an empty array.
nlohmann::json query(const asio::ip::tcp::endpoint& prometheus, const std::string& promql) {
  std::string encoded;
  for (unsigned char c : promql) {
    if (std::isalnum(c) || c == '_' || c == '.' || c == '-') {
      encoded += static_cast<char>(c);
    } else {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", c);
      encoded += hex;
    }
  }
  const auto j = api_get(prometheus, "/api/v1/query?query=" + encoded);
  if (!j.is_object() || j.value("status", "") != "success") return nlohmann::json::array();
  return j["data"]["result"];
}

std::string value_of(const nlohmann::json& series) {
  return series["value"][1].get<std::string>();
}

TEST(Prometheus, ScrapesTheEndpointAndSeesTheCallCounts) {
  SKIP_WITHOUT(prometheus, "prometheus");

  NodeMetrics metrics;
  sample_metrics(metrics);
  asio::io_context io;
  auto work = asio::make_work_guard(io);
  MetricsServer server(io, {asio::ip::address_v4::loopback(), 0},
                       [&metrics] { return metrics.render_prometheus(); });
  server.start();
  std::thread io_thread([&] { io.run(); });
  struct Join {
    std::thread& t;
    asio::io_context& io;
    ~Join() {
      io.stop();
      t.join();
    }
  } join{io_thread, io};

  TempDir dir;
  const std::string target = "127.0.0.1:" + std::to_string(server.local_endpoint().port());
  {
    std::ofstream config(dir.path / "prometheus.yml");
    config << "global:\n"
              "  scrape_interval: 1s\n"
              "  scrape_timeout: 1s\n"
              "  evaluation_interval: 1s\n"
              "scrape_configs:\n"
              "  - job_name: flyrpc\n"
              "    scrape_interval: 1s\n"
              "    static_configs:\n"
              "      - targets: ['"
           << target << "']\n";
  }
  const int port = flytest::free_port();
  const asio::ip::tcp::endpoint api{asio::ip::address_v4::loopback(),
                                    static_cast<unsigned short>(port)};
  auto proc = flytest::Process::spawn(
      {prometheus, "--config.file=" + (dir.path / "prometheus.yml").string(),
       "--storage.tsdb.path=" + (dir.path / "data").string(),
       "--web.listen-address=127.0.0.1:" + std::to_string(port), "--log.level=warn"});

  nlohmann::json calls = nlohmann::json::array();
  const bool scraped = flytest::eventually(
      [&] {
        if (!proc.running()) return true;  // reported below
        calls = query(api, "flyrpc_calls_total{function=\"String.upcase\"}");
        return calls.size() == 2;
      },
      std::chrono::seconds(30));
  ASSERT_TRUE(proc.running()) << "prometheus exited:\n" << proc.stderr_text();
  ASSERT_TRUE(scraped) << "no scrape seen within 30 s; last result: " << calls.dump()
                       << "\nprometheus log:\n"
                       << proc.stderr_text();

  std::map<std::string, std::string> by_outcome;
  for (const auto& s : calls) {
    const auto& labels = s["metric"];
    EXPECT_EQ(labels.value("__name__", ""), "flyrpc_calls_total");
    EXPECT_EQ(labels.value("function", ""), "String.upcase");
    EXPECT_EQ(labels.value("region", ""), "syd");
    EXPECT_EQ(labels.value("job", ""), "flyrpc");
    EXPECT_EQ(labels.value("instance", ""), target);
    by_outcome[labels.value("outcome", "")] = value_of(s);
  }
  EXPECT_EQ(by_outcome, (std::map<std::string, std::string>{{"ok", "7"}, {"timeout", "2"}}));

  // The same scrape carried the escaped label, the histogram and the gauges.
  const auto quoted = query(api, "flyrpc_calls_total{region=\"lax\"}");
  ASSERT_EQ(quoted.size(), 1u) << quoted.dump();
  EXPECT_EQ(quoted[0]["metric"].value("function", ""), "a \"quoted\\\" name\nwith a newline");
  const auto count = query(api, "flyrpc_call_duration_seconds_count{region=\"syd\"}");
  ASSERT_EQ(count.size(), 1u) << count.dump();
  EXPECT_EQ(value_of(count[0]), "9");
  const auto fast = query(api, "flyrpc_call_duration_seconds_bucket{region=\"syd\",le=\"0.0005\"}");
  ASSERT_EQ(fast.size(), 1u) << fast.dump();
  EXPECT_EQ(value_of(fast[0]), "7");
  const auto nodes = query(api, "flyrpc_nodes{region=\"syd\"}");
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_EQ(value_of(nodes[0]), "2");
  const auto up = query(api, "up{job=\"flyrpc\"}");
  ASSERT_EQ(up.size(), 1u);
  EXPECT_EQ(value_of(up[0]), "1");

  proc.signal(SIGTERM);
  EXPECT_TRUE(proc.wait_for(std::chrono::seconds(10)).has_value())
      << "prometheus did not stop on SIGTERM";
  server.stop();
}

TEST(Prometheus, PromtoolFindsNoProblemInTheExposition) {
  SKIP_WITHOUT(promtool, "promtool");
  NodeMetrics metrics;
  TempDir dir;
  const fs::path file = dir.path / "metrics.txt";
  {
    std::ofstream out(file, std::ios::binary);
    out << sample_metrics(metrics).render_prometheus();
  }
  // promtool reads the text on stdin.
  const auto r = flytest::run(
      {"/bin/sh", "-c", "exec \"$0\" check metrics < \"$1\"", promtool, file.string()});
  EXPECT_EQ(r.exit_code, 0) << "stdout:\n" << r.out << "\nstderr:\n" << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "");

  // A deliberately broken exposition is reported: the check can fail.
  std::ofstream(file, std::ios::binary) << "# TYPE flyrpc_bad counter\nflyrpc_bad 1\n";
  const auto bad = flytest::run(
      {"/bin/sh", "-c", "exec \"$0\" check metrics < \"$1\"", promtool, file.string()});
  EXPECT_NE(bad.exit_code, 0) << bad.out << bad.err;
}

}  // namespace
