// The built-in metrics: exact exposition text, escaping, histogram shape,
// label caps, and recording from many threads.
#include "telemetry/node_metrics.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "exposition_text.hpp"
#include "telemetry/exposition.hpp"

namespace {

using fly::Errc;
using fly::telemetry::NodeMetrics;
using flytest::lines_starting;
using flytest::sample;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(NodeMetrics, GoldenExposition) {
  NodeMetrics m;
  for (int i = 0; i < 4; ++i) m.call_started();
  m.call_finished("String.upcase", "syd", Errc::ok, milliseconds(1));
  m.call_finished("String.upcase", "syd", Errc::ok, milliseconds(1));
  m.call_finished("String.upcase", "syd", Errc::timeout, seconds(5) + milliseconds(2));
  m.handler_finished("Kernel.+", microseconds(250));
  m.set_nodes_per_region({{"syd", 2}, {"lax", 1}});
  m.bytes_sent(100);
  m.bytes_sent(23);
  m.bytes_received(77);
  m.handshake_refused("bad_cookie");
  m.handshake_refused("bad_cookie");
  m.handshake_refused("version");
  m.reconnected();

  const std::string expected =
      R"(# HELP flyrpc_calls_total Calls made by this node, by function, target region and outcome.
# TYPE flyrpc_calls_total counter
flyrpc_calls_total{function="String.upcase",target_region="syd",outcome="ok"} 2
flyrpc_calls_total{function="String.upcase",target_region="syd",outcome="timeout"} 1
# HELP flyrpc_call_duration_seconds Time from the start of a call to its result or error (caller side).
# TYPE flyrpc_call_duration_seconds histogram
flyrpc_call_duration_seconds_bucket{function="String.upcase",target_region="syd",le="1e-05"} 0
flyrpc_call_duration_seconds_bucket{function="String.upcase",target_region="syd",le="2.5e-05"} 0
flyrpc_call_duration_seconds_bucket{function="String.upcase",target_region="syd",le="5e-05"} 0
flyrpc_call_duration_seconds_bucket{function="String.upcase",target_region="syd",le="0.0001"} 0
flyrpc_call_duration_seconds_bucket{function="String.upcase",target_region="syd",le="0.00025"} 0
flyrpc_call_duration_seconds_bucket{function="String.upcase",target_region="syd",le="0.0005"} 0
flyrpc_call_duration_seconds_bucket{function="String.upcase",target_region="syd",le="0.001"} 2
flyrpc_call_duration_seconds_bucket{function="String.upcase",target_region="syd",le="0.0025"} 2
flyrpc_call_duration_seconds_bucket{function="String.upcase",target_region="syd",le="0.005"} 2
flyrpc_call_duration_seconds_bucket{function="String.upcase",target_region="syd",le="0.01"} 2
flyrpc_call_duration_seconds_bucket{function="String.upcase",target_region="syd",le="0.025"} 2
flyrpc_call_duration_seconds_bucket{function="String.upcase",target_region="syd",le="0.05"} 2
flyrpc_call_duration_seconds_bucket{function="String.upcase",target_region="syd",le="0.1"} 2
flyrpc_call_duration_seconds_bucket{function="String.upcase",target_region="syd",le="0.25"} 2
flyrpc_call_duration_seconds_bucket{function="String.upcase",target_region="syd",le="0.5"} 2
flyrpc_call_duration_seconds_bucket{function="String.upcase",target_region="syd",le="1"} 2
flyrpc_call_duration_seconds_bucket{function="String.upcase",target_region="syd",le="2.5"} 2
flyrpc_call_duration_seconds_bucket{function="String.upcase",target_region="syd",le="5"} 2
flyrpc_call_duration_seconds_bucket{function="String.upcase",target_region="syd",le="10"} 3
flyrpc_call_duration_seconds_bucket{function="String.upcase",target_region="syd",le="+Inf"} 3
flyrpc_call_duration_seconds_sum{function="String.upcase",target_region="syd"} 5.004
flyrpc_call_duration_seconds_count{function="String.upcase",target_region="syd"} 3
# HELP flyrpc_calls_in_flight Calls started by this node that have not finished.
# TYPE flyrpc_calls_in_flight gauge
flyrpc_calls_in_flight 1
# HELP flyrpc_handler_duration_seconds Time spent running exposed functions for remote callers (callee side).
# TYPE flyrpc_handler_duration_seconds histogram
flyrpc_handler_duration_seconds_bucket{function="Kernel.+",le="1e-05"} 0
flyrpc_handler_duration_seconds_bucket{function="Kernel.+",le="2.5e-05"} 0
flyrpc_handler_duration_seconds_bucket{function="Kernel.+",le="5e-05"} 0
flyrpc_handler_duration_seconds_bucket{function="Kernel.+",le="0.0001"} 0
flyrpc_handler_duration_seconds_bucket{function="Kernel.+",le="0.00025"} 1
flyrpc_handler_duration_seconds_bucket{function="Kernel.+",le="0.0005"} 1
flyrpc_handler_duration_seconds_bucket{function="Kernel.+",le="0.001"} 1
flyrpc_handler_duration_seconds_bucket{function="Kernel.+",le="0.0025"} 1
flyrpc_handler_duration_seconds_bucket{function="Kernel.+",le="0.005"} 1
flyrpc_handler_duration_seconds_bucket{function="Kernel.+",le="0.01"} 1
flyrpc_handler_duration_seconds_bucket{function="Kernel.+",le="0.025"} 1
flyrpc_handler_duration_seconds_bucket{function="Kernel.+",le="0.05"} 1
flyrpc_handler_duration_seconds_bucket{function="Kernel.+",le="0.1"} 1
flyrpc_handler_duration_seconds_bucket{function="Kernel.+",le="0.25"} 1
flyrpc_handler_duration_seconds_bucket{function="Kernel.+",le="0.5"} 1
flyrpc_handler_duration_seconds_bucket{function="Kernel.+",le="1"} 1
flyrpc_handler_duration_seconds_bucket{function="Kernel.+",le="2.5"} 1
flyrpc_handler_duration_seconds_bucket{function="Kernel.+",le="5"} 1
flyrpc_handler_duration_seconds_bucket{function="Kernel.+",le="10"} 1
flyrpc_handler_duration_seconds_bucket{function="Kernel.+",le="+Inf"} 1
flyrpc_handler_duration_seconds_sum{function="Kernel.+"} 0.00025
flyrpc_handler_duration_seconds_count{function="Kernel.+"} 1
# HELP flyrpc_nodes Nodes in the region table, by region.
# TYPE flyrpc_nodes gauge
flyrpc_nodes{peer_region="lax"} 1
flyrpc_nodes{peer_region="syd"} 2
# HELP flyrpc_sent_bytes_total Bytes written to cluster connections.
# TYPE flyrpc_sent_bytes_total counter
flyrpc_sent_bytes_total 123
# HELP flyrpc_received_bytes_total Bytes read from cluster connections.
# TYPE flyrpc_received_bytes_total counter
flyrpc_received_bytes_total 77
# HELP flyrpc_handshakes_refused_total Cluster handshakes refused, by reason.
# TYPE flyrpc_handshakes_refused_total counter
flyrpc_handshakes_refused_total{reason="bad_cookie"} 2
flyrpc_handshakes_refused_total{reason="version"} 1
# HELP flyrpc_reconnects_total Attempts to reconnect to lost peers.
# TYPE flyrpc_reconnects_total counter
flyrpc_reconnects_total 1
)";
  EXPECT_EQ(m.render_prometheus(), expected);
}

// The label names of one sample line ("name{a=\"x\",b=\"y\"} 1" -> a, b),
// reading quoted values with their escapes.
std::vector<std::string> label_names(const std::string& line) {
  std::vector<std::string> names;
  std::size_t i = line.find('{');
  if (i == std::string::npos || i > line.find(' ')) return names;
  ++i;
  while (i < line.size() && line[i] != '}') {
    const std::size_t eq = line.find('=', i);
    if (eq == std::string::npos) break;
    names.push_back(line.substr(i, eq - i));
    i = eq + 2;  // past ="
    while (i < line.size() && line[i] != '"') i += line[i] == '\\' ? 2 : 1;
    ++i;  // past the closing quote
    if (i < line.size() && line[i] == ',') ++i;
  }
  return names;
}

// Fly.io's scraper sets app, region, host and instance on every series and
// overwrites labels of those names: a series using one would lose its meaning.
TEST(NodeMetrics, NoSeriesUsesALabelFlyOverwrites) {
  NodeMetrics m;
  m.call_started();
  m.call_finished("String.upcase", "syd", Errc::ok, milliseconds(1));
  m.call_finished("Kernel.+", "lax", Errc::timeout, seconds(5));
  m.handler_finished("Kernel.+", microseconds(250));
  m.set_nodes_per_region({{"syd", 2}, {"lax", 1}});
  m.bytes_sent(1);
  m.bytes_received(1);
  m.handshake_refused("bad_cookie");
  m.reconnected();
  std::istringstream in(m.render_prometheus());
  std::string line;
  int labelled = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto names = label_names(line);
    if (!names.empty()) ++labelled;
    for (const auto& name : names) {
      EXPECT_TRUE(name != "app" && name != "region" && name != "host" && name != "instance")
          << "label '" << name << "' in: " << line;
    }
  }
  EXPECT_GT(labelled, 20);  // every labelled family was rendered and parsed
  const std::string text = m.render_prometheus();
  EXPECT_EQ(
      sample(text,
             R"(flyrpc_calls_total{function="Kernel.+",target_region="lax",outcome="timeout"})"),
      "1");
  EXPECT_EQ(sample(text, R"(flyrpc_nodes{peer_region="syd"})"), "2");
}

TEST(NodeMetrics, EmptyNodeRendersEveryFamilyWithZeroes) {
  NodeMetrics m;
  const std::string text = m.render_prometheus();
  for (const char* family :
       {"flyrpc_calls_total", "flyrpc_call_duration_seconds", "flyrpc_calls_in_flight",
        "flyrpc_handler_duration_seconds", "flyrpc_nodes", "flyrpc_sent_bytes_total",
        "flyrpc_received_bytes_total", "flyrpc_handshakes_refused_total",
        "flyrpc_reconnects_total"}) {
    EXPECT_NE(text.find(std::string("# TYPE ") + family + " "), std::string::npos) << family;
    EXPECT_NE(text.find(std::string("# HELP ") + family + " "), std::string::npos) << family;
  }
  EXPECT_EQ(sample(text, "flyrpc_calls_in_flight"), "0");
  EXPECT_EQ(sample(text, "flyrpc_sent_bytes_total"), "0");
  EXPECT_EQ(sample(text, "flyrpc_reconnects_total"), "0");
}

TEST(NodeMetrics, LabelValuesAreEscaped) {
  NodeMetrics m;
  m.call_started();
  m.call_finished("a\"b\\c\nd", "syd", Errc::remote_error, milliseconds(3));
  m.handshake_refused("quote\"d");
  const std::string text = m.render_prometheus();
  EXPECT_EQ(
      sample(
          text,
          R"(flyrpc_calls_total{function="a\"b\\c\nd",target_region="syd",outcome="remote_error"})"),
      "1");
  EXPECT_EQ(sample(text, R"(flyrpc_handshakes_refused_total{reason="quote\"d"})"), "1");
  // No raw line feed inside a label: every line is a comment or a sample.
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    EXPECT_TRUE(line.rfind("# ", 0) == 0 || line.rfind("flyrpc_", 0) == 0) << line;
  }
}

TEST(NodeMetrics, InvalidUtf8BecomesReplacementCharacter) {
  EXPECT_EQ(fly::telemetry::valid_utf8("ok"), "ok");
  EXPECT_EQ(fly::telemetry::valid_utf8("h\xC3\xA9"), "h\xC3\xA9");
  EXPECT_EQ(fly::telemetry::valid_utf8("a\xFF"
                                       "b"),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(fly::telemetry::valid_utf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong
  EXPECT_EQ(fly::telemetry::valid_utf8("\xED\xA0\x80"),
            "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");                              // surrogate
  EXPECT_EQ(fly::telemetry::valid_utf8("\xE2\x82"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // truncated

  NodeMetrics m;
  m.call_started();
  m.call_finished("F\xFF", "syd", Errc::ok, milliseconds(1));
  EXPECT_EQ(
      sample(m.render_prometheus(),
             "flyrpc_calls_total{function=\"F\xEF\xBF\xBD\",target_region=\"syd\",outcome=\"ok\"}"),
      "1");
}

TEST(NodeMetrics, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  NodeMetrics m;
  const std::vector<std::chrono::nanoseconds> latencies = {std::chrono::nanoseconds(-5),
                                                           microseconds(10),
                                                           microseconds(11),
                                                           microseconds(700),
                                                           milliseconds(30),
                                                           milliseconds(999),
                                                           seconds(7),
                                                           seconds(60)};
  for (auto l : latencies) {
    m.call_started();
    m.call_finished("Kernel.+", "hkg", Errc::ok, l);
  }
  const std::string text = m.render_prometheus();
  const auto buckets = lines_starting(text, "flyrpc_call_duration_seconds_bucket{");
  ASSERT_EQ(buckets.size(), 20u);
  std::uint64_t previous = 0;
  for (const auto& line : buckets) {
    const std::uint64_t v = std::stoull(line.substr(line.rfind(' ') + 1));
    EXPECT_GE(v, previous) << line;
    previous = v;
  }
  EXPECT_NE(buckets.back().find("le=\"+Inf\"} 8"), std::string::npos) << buckets.back();
  const std::string labels = R"({function="Kernel.+",target_region="hkg"})";
  EXPECT_EQ(sample(text, "flyrpc_call_duration_seconds_count" + labels), "8");
  // -5 ns counts as 0; 10 µs is inside the first bucket (le is inclusive).
  EXPECT_EQ(
      sample(
          text,
          R"(flyrpc_call_duration_seconds_bucket{function="Kernel.+",target_region="hkg",le="1e-05"})"),
      "2");
  EXPECT_EQ(
      sample(
          text,
          R"(flyrpc_call_duration_seconds_bucket{function="Kernel.+",target_region="hkg",le="10"})"),
      "7");
  const double sum = std::stod(*sample(text, "flyrpc_call_duration_seconds_sum" + labels));
  EXPECT_NEAR(sum, 0.00001 + 0.000011 + 0.0007 + 0.03 + 0.999 + 7 + 60, 1e-9);
}

TEST(NodeMetrics, FunctionLabelValuesAreCapped) {
  NodeMetrics::Limits limits;
  limits.max_functions = 3;
  limits.max_label_bytes = 20;
  NodeMetrics m(limits);
  for (int i = 0; i < 10; ++i) {
    m.call_started();
    m.call_finished("Fn.f" + std::to_string(i), "syd", Errc::unknown_function, milliseconds(1));
  }
  m.call_started();
  m.call_finished(std::string(21, 'x'), "syd", Errc::ok, milliseconds(1));  // too long
  for (int i = 0; i < 5; ++i) m.handler_finished("Callee.f" + std::to_string(i), milliseconds(1));

  const std::string text = m.render_prometheus();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(sample(text, "flyrpc_calls_total{function=\"Fn.f" + std::to_string(i) +
                               "\",target_region=\"syd\",outcome=\"unknown_function\"}"),
              "1");
  }
  EXPECT_EQ(
      sample(
          text,
          R"(flyrpc_calls_total{function="other",target_region="syd",outcome="unknown_function"})"),
      "7");
  EXPECT_EQ(
      sample(text, R"(flyrpc_calls_total{function="other",target_region="syd",outcome="ok"})"),
      "1");
  EXPECT_EQ(lines_starting(text, "flyrpc_calls_total{").size(), 5u);
  EXPECT_EQ(sample(text, R"(flyrpc_handler_duration_seconds_count{function="other"})"), "2");
  EXPECT_EQ(lines_starting(text, "flyrpc_handler_duration_seconds_count{").size(), 4u);
}

TEST(NodeMetrics, RegionsAndSeriesAreCapped) {
  NodeMetrics::Limits limits;
  limits.max_regions = 2;
  limits.max_call_series = 4;
  limits.max_reasons = 2;
  NodeMetrics m(limits);
  for (const char* r : {"syd", "lax", "hkg", "ams"}) {
    m.call_started();
    m.call_finished("A.a", r, Errc::ok, milliseconds(1));
  }
  std::string text = m.render_prometheus();
  EXPECT_EQ(sample(text, R"(flyrpc_calls_total{function="A.a",target_region="syd",outcome="ok"})"),
            "1");
  EXPECT_EQ(sample(text, R"(flyrpc_calls_total{function="A.a",target_region="lax",outcome="ok"})"),
            "1");
  EXPECT_EQ(
      sample(text, R"(flyrpc_calls_total{function="A.a",target_region="other",outcome="ok"})"),
      "2");

  for (int i = 0; i < 6; ++i) {  // 3 series so far; room for one more, then (other, other)
    m.call_started();
    m.call_finished("B.b" + std::to_string(i), "syd", Errc::ok, milliseconds(1));
  }
  text = m.render_prometheus();
  EXPECT_EQ(sample(text, R"(flyrpc_calls_total{function="B.b0",target_region="syd",outcome="ok"})"),
            "1");
  EXPECT_EQ(
      sample(text, R"(flyrpc_calls_total{function="other",target_region="other",outcome="ok"})"),
      "5");
  EXPECT_EQ(lines_starting(text, "flyrpc_calls_total{").size(), 5u);

  for (const char* reason : {"bad_cookie", "version", "duplicate_name", "garbage"}) {
    m.handshake_refused(reason);
  }
  text = m.render_prometheus();
  EXPECT_EQ(sample(text, R"(flyrpc_handshakes_refused_total{reason="bad_cookie"})"), "1");
  EXPECT_EQ(sample(text, R"(flyrpc_handshakes_refused_total{reason="other"})"), "2");
}

TEST(NodeMetrics, NodesGaugeKeepsGoneRegionsAtZero) {
  NodeMetrics m;
  m.set_nodes_per_region({{"syd", 3}, {"lax", 2}});
  m.set_nodes_per_region({{"syd", 1}});
  const std::string text = m.render_prometheus();
  EXPECT_EQ(sample(text, R"(flyrpc_nodes{peer_region="syd"})"), "1");
  EXPECT_EQ(sample(text, R"(flyrpc_nodes{peer_region="lax"})"), "0");
}

TEST(NodeMetrics, ConcurrentRecordingLosesNothing) {
  NodeMetrics m;
  constexpr int threads = 4;
  constexpr int per_thread = 20000;
  const std::vector<std::string> functions = {"A.a", "B.b", "C.c", "D.d"};
  const std::vector<std::string> regions = {"syd", "lax"};
  std::vector<std::thread> workers;
  std::atomic<bool> go{false};
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      while (!go.load()) std::this_thread::yield();
      for (int i = 0; i < per_thread; ++i) {
        const auto& f = functions[static_cast<std::size_t>(i + t) % functions.size()];
        const auto& r = regions[static_cast<std::size_t>(i) % regions.size()];
        m.call_started();
        m.call_finished(f, r, i % 5 == 0 ? Errc::timeout : Errc::ok, microseconds(i % 1000));
        m.bytes_sent(2);
        m.handler_finished(f, microseconds(5));
      }
    });
  }
  std::thread scraper([&] {  // renders while others record
    while (!go.load()) std::this_thread::yield();
    for (int i = 0; i < 20; ++i) EXPECT_FALSE(m.render_prometheus().empty());
  });
  go.store(true);
  for (auto& w : workers) w.join();
  scraper.join();

  const std::string text = m.render_prometheus();
  std::uint64_t total = 0;
  for (const auto& line : lines_starting(text, "flyrpc_calls_total{")) {
    total += std::stoull(line.substr(line.rfind(' ') + 1));
  }
  EXPECT_EQ(total, std::uint64_t{threads} * per_thread);
  EXPECT_EQ(lines_starting(text, "flyrpc_calls_total{").size(), 16u);  // 4 x 2 x {ok, timeout}
  EXPECT_EQ(sample(text, "flyrpc_calls_in_flight"), "0");
  EXPECT_EQ(sample(text, "flyrpc_sent_bytes_total"), std::to_string(2 * threads * per_thread));
  std::uint64_t handled = 0;
  for (const auto& line : lines_starting(text, "flyrpc_handler_duration_seconds_count{")) {
    handled += std::stoull(line.substr(line.rfind(' ') + 1));
  }
  EXPECT_EQ(handled, std::uint64_t{threads} * per_thread);
}

TEST(NodeMetrics, ManyLabelSetsGrowTheTable) {
  NodeMetrics m;
  for (int i = 0; i < 500; ++i) {  // forces several table growths
    m.call_started();
    m.call_finished("F.f" + std::to_string(i), "syd", Errc::ok, milliseconds(1));
  }
  for (int i = 0; i < 500; ++i) {  // every one is found again, not duplicated
    m.call_started();
    m.call_finished("F.f" + std::to_string(i), "syd", Errc::ok, milliseconds(1));
  }
  const std::string text = m.render_prometheus();
  const auto lines = lines_starting(text, "flyrpc_calls_total{");
  ASSERT_EQ(lines.size(), 500u);
  for (const auto& line : lines) EXPECT_EQ(line.substr(line.rfind(' ') + 1), "2") << line;
}

}  // namespace
