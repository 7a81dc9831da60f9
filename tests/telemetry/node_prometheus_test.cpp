// The end-to-end check: a real `flyrpc node --metrics 127.0.0.1:0`
// process serves /metrics, a real Prometheus scrapes it, `flyrpc call` makes
// K calls to it, and Prometheus's HTTP API reports the callee's handler count
// as K. promtool finds no problem in the node's real exposition.
#include <gtest/gtest.h>
#include <signal.h>

#include <sstream>

#include "http_client.hpp"
#include "prometheus_support.hpp"
#include "support/cluster_harness.hpp"
#include "support/wait.hpp"
#include "telemetry/metrics_address.hpp"

namespace {

using namespace std::chrono_literals;

// Starts a node with a metrics endpoint on a free port; returns "host:port"
// of the endpoint from the node's "metrics http://HOST:PORT/metrics" line.
std::string metrics_address_of(flytest::NodeProcess& node) {
  std::string address;
  flytest::eventually(
      [&] {
        std::istringstream in(node.out());
        std::string word;
        while (in >> word) {
          if (word == "metrics" && (in >> word) && word.starts_with("http://") &&
              word.ends_with("/metrics")) {
            address = word.substr(7, word.size() - 7 - 8);
            return true;
          }
        }
        return false;
      },
      10s);
  return address;
}

class NodeProcessMetrics : public ::testing::Test {
 protected:
  void SetUp() override {
    cookie = flytest::random_cookie();
    node = std::make_unique<flytest::NodeProcess>(
        flytest::NodeSpec{"syd-1", "syd", {}, {"--metrics", "127.0.0.1:0"}, {}}, cookie, "syd");
    ASSERT_TRUE(node->wait_listening(10s)) << node->out() << node->err();
    metrics = metrics_address_of(*node);
    ASSERT_FALSE(metrics.empty()) << "no metrics line:\n" << node->out() << node->err();
  }
  void TearDown() override {
    if (node) {
      node->process().signal(SIGTERM);
      EXPECT_TRUE(node->process().wait_for(10s).has_value()) << "the node did not stop";
    }
  }
  std::string cookie;
  std::unique_ptr<flytest::NodeProcess> node;
  std::string metrics;
};

TEST_F(NodeProcessMetrics, PrometheusSeesTheCalleesHandlerCount) {
  FLYTEST_SKIP_WITHOUT(prometheus, "prometheus");
  constexpr int k = 3;
  for (int i = 0; i < k; ++i) {
    const auto r = flytest::cli_call(
        cookie, {"--seeds", node->address(), "--region", "syd", "String.upcase", "\"fly\""});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ(r.out, "\"FLY\"\n");
  }

  flytest::TempDir dir;
  auto prom = flytest::start_prometheus(prometheus, dir, metrics);
  nlohmann::json handled = nlohmann::json::array();
  const bool scraped = flytest::eventually(
      [&] {
        if (!prom.process.running()) return true;  // reported below
        handled = flytest::prometheus_query(
            prom.api, "flyrpc_handler_duration_seconds_count{function=\"String.upcase\"}");
        return handled.size() == 1;
      },
      30s);
  ASSERT_TRUE(prom.process.running()) << "prometheus exited:\n" << prom.process.stderr_text();
  ASSERT_TRUE(scraped) << "no scrape seen within 30 s; last result: " << handled.dump()
                       << "\nprometheus log:\n"
                       << prom.process.stderr_text();
  EXPECT_EQ(flytest::sample_value(handled[0]), std::to_string(k));
  EXPECT_EQ(handled[0]["metric"].value("instance", ""), metrics);
  // The node's own region is in its gauge.
  const auto nodes = flytest::prometheus_query(prom.api, "flyrpc_nodes{peer_region=\"syd\"}");
  ASSERT_EQ(nodes.size(), 1u) << nodes.dump();
  EXPECT_EQ(flytest::sample_value(nodes[0]), "1");

  prom.process.signal(SIGTERM);
  EXPECT_TRUE(prom.process.wait_for(10s).has_value()) << "prometheus did not stop on SIGTERM";
}

TEST_F(NodeProcessMetrics, PromtoolFindsNoProblemInTheNodesMetrics) {
  FLYTEST_SKIP_WITHOUT(promtool, "promtool");
  // One call, so that call and handler series exist in the exposition.
  const auto call = flytest::cli_call(
      cookie, {"--seeds", node->address(), "--region", "syd", "String.upcase", "\"x\""});
  ASSERT_EQ(call.exit_code, 0) << call.out << call.err;
  const auto r = flytest::http_get(fly::telemetry::parse_metrics_address(metrics), "/metrics");
  ASSERT_EQ(r.status, 200);
  ASSERT_NE(r.body.find("flyrpc_handler_duration_seconds_count{function=\"String.upcase\"} 1"),
            std::string::npos)
      << r.body;
  flytest::TempDir dir;
  const auto check = flytest::promtool_check(promtool, dir, r.body);
  EXPECT_EQ(check.exit_code, 0) << "stdout:\n" << check.out << "\nstderr:\n" << check.err;
  EXPECT_EQ(check.out, "");
  EXPECT_EQ(check.err, "");
}

}  // namespace
