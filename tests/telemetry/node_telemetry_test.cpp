// Telemetry wired into fly::Node: two nodes in one process over loopback make
// calls of every kind; the caller's metrics count each call by function,
// target region and outcome, the callee's count handler time, and attached
// handlers see the call and cluster events.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <asio/use_future.hpp>
#include <atomic>
#include <mutex>
#include <sstream>
#include <vector>

#include "exposition_text.hpp"
#include "fly/async.hpp"
#include "fly/node.hpp"
#include "http_client.hpp"
#include "support/in_process_node.hpp"
#include "support/wait.hpp"
#include "telemetry/metrics_address.hpp"

namespace {

using namespace std::chrono_literals;
using fly::telemetry::Event;
using flytest::in_process_options;
using flytest::sample;
using flytest::seed_of;

// The value of a counter's sample line; 0 when the series is absent.
std::uint64_t count_of(const std::string& text, const std::string& series) {
  const auto v = sample(text, series);
  return v ? std::stoull(*v) : 0;
}

// What a handler saw, copied (metadata views die with the handler call).
struct Seen {
  Event event;
  std::string function, region, node, reason;
  fly::Errc outcome;
  std::chrono::nanoseconds duration;
};

class Recorder {
 public:
  void attach(fly::Node& node) {
    ASSERT_TRUE(node.telemetry().attach(
        "recorder", {Event::call_start, Event::call_stop, Event::call_exception, Event::node_up},
        [this](Event e, const fly::telemetry::Measurements& m, const fly::telemetry::Metadata& md) {
          std::lock_guard lock(mutex_);
          seen_.push_back({e, std::string(md.function), std::string(md.region),
                           std::string(md.node), std::string(md.reason), md.outcome, m.duration});
        }));
  }
  std::vector<Seen> seen() const {
    std::lock_guard lock(mutex_);
    return seen_;
  }
  std::size_t count(Event e, const std::string& function = "") const {
    std::size_t n = 0;
    for (const auto& s : seen()) n += s.event == e && (function.empty() || s.function == function);
    return n;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<Seen> seen_;
};

class NodeTelemetry : public ::testing::Test {
 protected:
  void SetUp() override {
    syd = std::make_unique<fly::Node>(in_process_options("syd-1", "syd"));
    flytest::expose_test_functions(*syd);
    recorder.attach(*syd);  // before start: node_up must be seen
    syd->start();
    lax = std::make_unique<fly::Node>(in_process_options("lax-1", "lax", {seed_of(*syd)}));
    flytest::expose_test_functions(*lax);
    lax->start();
    ASSERT_TRUE(syd->wait_for_region("lax", 10s));
    ASSERT_TRUE(lax->wait_for_region("syd", 10s));
  }
  void TearDown() override {
    if (lax) lax->stop();
    if (syd) syd->stop();
  }
  Recorder recorder;
  std::unique_ptr<fly::Node> syd, lax;
};

TEST_F(NodeTelemetry, CountsEveryCallByFunctionRegionAndOutcome) {
  constexpr int n = 5;
  for (int i = 0; i < n; ++i) {
    EXPECT_EQ(syd->rpc_region<std::string>("lax", "String.upcase", "fly"), "FLY");
  }
  for (int i = 0; i < 2; ++i) {
    EXPECT_THROW(syd->rpc_region<void>("lax", "Process.sleep", 5000, fly::timeout(100ms)),
                 fly::Timeout);
  }
  EXPECT_THROW(syd->rpc_region<int>("lax", "Kernel.raise", "boom"), fly::RemoteError);
  // Local short-circuit, async and multicall are counted too.
  EXPECT_EQ(syd->rpc_region<std::string>("syd", "String.upcase", "here"), "HERE");
  EXPECT_EQ(syd->async_rpc_region<int>("lax", "Kernel.+", 1, 2, asio::use_future).get(), 3);
  const auto all = syd->multicall<std::string>("Kernel.node");
  ASSERT_EQ(all.size(), 2u);

  const std::string text = syd->metrics_text();
  EXPECT_EQ(
      sample(text,
             R"(flyrpc_calls_total{function="String.upcase",target_region="lax",outcome="ok"})"),
      std::to_string(n))
      << text;
  EXPECT_EQ(
      sample(
          text,
          R"(flyrpc_calls_total{function="Process.sleep",target_region="lax",outcome="timeout"})"),
      "2");
  EXPECT_EQ(
      sample(
          text,
          R"(flyrpc_calls_total{function="Kernel.raise",target_region="lax",outcome="remote_error"})"),
      "1");
  EXPECT_EQ(
      sample(text,
             R"(flyrpc_calls_total{function="String.upcase",target_region="syd",outcome="ok"})"),
      "1");
  EXPECT_EQ(
      sample(text, R"(flyrpc_calls_total{function="Kernel.+",target_region="lax",outcome="ok"})"),
      "1");
  EXPECT_EQ(
      sample(text,
             R"(flyrpc_calls_total{function="Kernel.node",target_region="lax",outcome="ok"})"),
      "1");
  EXPECT_EQ(
      sample(text,
             R"(flyrpc_calls_total{function="Kernel.node",target_region="syd",outcome="ok"})"),
      "1");
  // No other outcome of these functions was recorded.
  EXPECT_EQ(
      sample(
          text,
          R"(flyrpc_calls_total{function="String.upcase",target_region="lax",outcome="timeout"})"),
      std::nullopt);
  EXPECT_EQ(
      sample(
          text,
          "flyrpc_call_duration_seconds_count{function=\"Process.sleep\",target_region=\"lax\"}"),
      "2");
  EXPECT_EQ(sample(text, "flyrpc_calls_in_flight"), "0");
  EXPECT_EQ(sample(text, R"(flyrpc_nodes{peer_region="syd"})"), "1");
  EXPECT_EQ(sample(text, R"(flyrpc_nodes{peer_region="lax"})"), "1");
  const std::string sent = sample(text, "flyrpc_sent_bytes_total").value_or("");
  ASSERT_FALSE(sent.empty()) << text;
  EXPECT_GT(std::stoull(sent), 0u);
  EXPECT_GT(std::stoull(sample(text, "flyrpc_received_bytes_total").value_or("")), 0u);

  // The callee timed its handlers (the caller's local call ran no handler).
  const std::string callee = lax->metrics_text();
  EXPECT_EQ(sample(callee, R"(flyrpc_handler_duration_seconds_count{function="String.upcase"})"),
            std::to_string(n))
      << callee;
  EXPECT_EQ(sample(callee, R"(flyrpc_handler_duration_seconds_count{function="Kernel.raise"})"),
            "1");

  // The handler saw every call start and end, with the labels.
  constexpr std::size_t calls = n + 2 + 1 + 1 + 1 + 2;
  EXPECT_EQ(recorder.count(Event::call_start), calls);
  EXPECT_EQ(recorder.count(Event::call_stop) + recorder.count(Event::call_exception), calls);
  EXPECT_EQ(recorder.count(Event::call_exception, "Process.sleep"), 2u);
  bool saw_stop = false, saw_timeout = false, saw_raise = false;
  for (const auto& s : recorder.seen()) {
    if (s.event == Event::call_stop && s.function == "String.upcase" && s.region == "lax") {
      saw_stop = true;
      EXPECT_EQ(s.node, "lax-1");
      EXPECT_EQ(s.outcome, fly::Errc::ok);
      EXPECT_GT(s.duration.count(), 0);
    }
    if (s.event == Event::call_exception && s.function == "Process.sleep") {
      saw_timeout = true;
      EXPECT_EQ(s.region, "lax");
      EXPECT_EQ(s.outcome, fly::Errc::timeout);
      EXPECT_GE(s.duration, 100ms);
    }
    if (s.event == Event::call_exception && s.function == "Kernel.raise") {
      saw_raise = true;
      EXPECT_EQ(s.outcome, fly::Errc::remote_error);
      EXPECT_NE(s.reason.find("boom"), std::string::npos) << s.reason;
    }
  }
  EXPECT_TRUE(saw_stop);
  EXPECT_TRUE(saw_timeout);
  EXPECT_TRUE(saw_raise);
}

TEST_F(NodeTelemetry, EmitsNodeUpAndCountsTheNodeGauge) {
  // Cluster events are delivered on an I/O thread shortly after the change.
  auto saw_lax_up = [&] {
    for (const auto& s : recorder.seen()) {
      if (s.event == Event::node_up && s.node == "lax-1" && s.region == "lax") return true;
    }
    return false;
  };
  EXPECT_EVENTUALLY(saw_lax_up(), 5s);
  lax->stop();
  EXPECT_EVENTUALLY(sample(syd->metrics_text(), R"(flyrpc_nodes{peer_region="lax"})") == "0", 5s);
}

TEST(NodeClusterTelemetry, ABadCookieIsCountedAndRetried) {
  std::mutex mutex;                  // declared before the nodes: their handlers use them
  std::vector<std::string> refused;  // reasons seen by the handler
  std::atomic<int> retries{0};
  fly::Node syd(in_process_options("syd-1", "syd"));
  ASSERT_TRUE(syd.telemetry().attach(
      "refusals", {Event::connection_refused},
      [&](Event, const fly::telemetry::Measurements&, const fly::telemetry::Metadata& md) {
        std::lock_guard lock(mutex);
        refused.emplace_back(md.reason);
      }));
  syd.start();
  auto o = in_process_options("intruder", "lax", {seed_of(syd)});
  o.cookie = "wrong-cookie";
  fly::Node intruder(o);
  ASSERT_TRUE(intruder.telemetry().attach(
      "retries", {Event::reconnect},
      [&](Event, const fly::telemetry::Measurements&, const fly::telemetry::Metadata& md) {
        if (md.peer == seed_of(syd) && md.attempt >= 1) ++retries;
      }));
  intruder.start();
  // The seed is permanent: the intruder keeps retrying, and is refused each time.
  EXPECT_EVENTUALLY(
      count_of(syd.metrics_text(), R"(flyrpc_handshakes_refused_total{reason="bad_cookie"})") >= 1,
      10s);
  EXPECT_EVENTUALLY(retries.load() >= 1, 10s);
  EXPECT_EVENTUALLY(count_of(intruder.metrics_text(), "flyrpc_reconnects_total") >= 1, 10s);
  auto first_refusal = [&] {
    std::lock_guard lock(mutex);
    return refused.empty() ? std::string() : refused.front();
  };
  EXPECT_EVENTUALLY(first_refusal() == "bad_cookie", 10s);
  EXPECT_EQ(sample(syd.metrics_text(), R"(flyrpc_nodes{peer_region="lax"})"), std::nullopt);
  intruder.stop();
  syd.stop();
}

TEST(NodeMetricsEndpoint, ServesMetricsWhenConfigured) {
  auto o = in_process_options("metrics-1", "syd");
  o.metrics_address = "127.0.0.1:0";
  fly::Node node(o);
  EXPECT_EQ(node.metrics_endpoint(), "");  // not before start()
  node.start();
  const std::string where = node.metrics_endpoint();
  ASSERT_FALSE(where.empty());
  const auto endpoint = fly::telemetry::parse_metrics_address(where);
  EXPECT_NE(endpoint.port(), 0);
  const auto r = flytest::http_get(endpoint, "/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("# TYPE flyrpc_calls_total counter"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(R"(flyrpc_nodes{peer_region="syd"} 1)"), std::string::npos) << r.body;
  node.stop();
}

TEST(NodeMetricsEndpoint, AnAddressInUseFailsStartNamingIt) {
  auto first_options = in_process_options("metrics-a", "syd");
  first_options.metrics_address = "127.0.0.1:0";
  fly::Node first(first_options);
  first.start();
  auto o = in_process_options("metrics-b", "syd");
  o.metrics_address = first.metrics_endpoint();
  fly::Node second(o);
  try {
    second.start();
    FAIL() << "start() listened on an address in use";
  } catch (const fly::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(o.metrics_address), std::string::npos) << e.what();
  }
  first.stop();
}

TEST(NodeMetricsEndpoint, AMalformedAddressIsAConfigError) {
  auto o = in_process_options("metrics-c", "syd");
  o.metrics_address = "9091";
  try {
    fly::Node node(o);
    FAIL() << "a malformed metrics address was accepted";
  } catch (const fly::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("metrics address"), std::string::npos) << e.what();
  }
}

TEST(NodeMetricsEndpoint, FromEnvReadsFlyRpcMetrics) {
  // Each test runs in its own process (gtest_discover_tests), so the
  // environment change stays here.
  ::setenv("FLY_RPC_METRICS", "0.0.0.0:9091", 1);
  EXPECT_EQ(fly::NodeOptions::from_env().metrics_address, "0.0.0.0:9091");
  ::setenv("FLY_RPC_METRICS", "", 1);  // empty counts as unset
  EXPECT_EQ(fly::NodeOptions::from_env().metrics_address, "");
  ::setenv("FLY_RPC_METRICS", "localhost:99999", 1);
  try {
    (void)fly::NodeOptions::from_env();
    ADD_FAILURE() << "a port over 65535 was accepted";
  } catch (const fly::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("FLY_RPC_METRICS"), std::string::npos) << e.what();
  }
  ::unsetenv("FLY_RPC_METRICS");
}

}  // namespace
