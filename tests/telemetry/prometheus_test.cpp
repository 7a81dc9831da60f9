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

#include "prometheus_support.hpp"
#include "support/process.hpp"
#include "support/wait.hpp"
#include "telemetry/metrics_server.hpp"
#include "telemetry/node_metrics.hpp"

namespace {

namespace fs = std::filesystem;
using fly::Errc;
using fly::telemetry::MetricsServer;
using fly::telemetry::NodeMetrics;

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

using flytest::prometheus_query;
using flytest::sample_value;
using flytest::TempDir;

TEST(Prometheus, ScrapesTheEndpointAndSeesTheCallCounts) {
  FLYTEST_SKIP_WITHOUT(prometheus, "prometheus");

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
  auto prom = flytest::start_prometheus(prometheus, dir, target);
  auto& proc = prom.process;
  const auto& api = prom.api;

  nlohmann::json calls = nlohmann::json::array();
  const bool scraped = flytest::eventually(
      [&] {
        if (!proc.running()) return true;  // reported below
        calls = prometheus_query(api, "flyrpc_calls_total{function=\"String.upcase\"}");
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
    EXPECT_EQ(labels.value("target_region", ""), "syd");
    EXPECT_EQ(labels.value("job", ""), "flyrpc");
    EXPECT_EQ(labels.value("instance", ""), target);
    by_outcome[labels.value("outcome", "")] = sample_value(s);
  }
  EXPECT_EQ(by_outcome, (std::map<std::string, std::string>{{"ok", "7"}, {"timeout", "2"}}));

  // The same scrape carried the escaped label, the histogram and the gauges.
  const auto quoted = prometheus_query(api, "flyrpc_calls_total{target_region=\"lax\"}");
  ASSERT_EQ(quoted.size(), 1u) << quoted.dump();
  EXPECT_EQ(quoted[0]["metric"].value("function", ""), "a \"quoted\\\" name\nwith a newline");
  const auto count =
      prometheus_query(api, "flyrpc_call_duration_seconds_count{target_region=\"syd\"}");
  ASSERT_EQ(count.size(), 1u) << count.dump();
  EXPECT_EQ(sample_value(count[0]), "9");
  const auto fast = prometheus_query(
      api, "flyrpc_call_duration_seconds_bucket{target_region=\"syd\",le=\"0.0005\"}");
  ASSERT_EQ(fast.size(), 1u) << fast.dump();
  EXPECT_EQ(sample_value(fast[0]), "7");
  const auto nodes = prometheus_query(api, "flyrpc_nodes{peer_region=\"syd\"}");
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_EQ(sample_value(nodes[0]), "2");
  const auto up = prometheus_query(api, "up{job=\"flyrpc\"}");
  ASSERT_EQ(up.size(), 1u);
  EXPECT_EQ(sample_value(up[0]), "1");

  proc.signal(SIGTERM);
  EXPECT_TRUE(proc.wait_for(std::chrono::seconds(10)).has_value())
      << "prometheus did not stop on SIGTERM";
  server.stop();
}

TEST(Prometheus, PromtoolFindsNoProblemInTheExposition) {
  FLYTEST_SKIP_WITHOUT(promtool, "promtool");
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
