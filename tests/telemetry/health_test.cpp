// GET /health next to /metrics: 503 while a node has not joined, 200 once it
// has (alone, or connected to a seed), 503 again from the moment stop()
// begins — checked over real sockets against real nodes.
#include <gtest/gtest.h>

#include <asio/use_future.hpp>
#include <atomic>
#include <future>
#include <string>
#include <thread>

#include "fly/async.hpp"
#include "fly/node.hpp"
#include "http_client.hpp"
#include "support/in_process_node.hpp"
#include "support/wait.hpp"
#include "telemetry/metrics_address.hpp"
#include "telemetry/metrics_server.hpp"

namespace {

using namespace std::chrono_literals;
using flytest::in_process_options;
using flytest::seed_of;

flytest::HttpResponse health(const fly::Node& node, std::string_view method = "GET") {
  return flytest::http_get(fly::telemetry::parse_metrics_address(node.metrics_endpoint()),
                           "/health", method);
}

fly::NodeOptions with_endpoint(fly::NodeOptions o) {
  o.metrics_address = "127.0.0.1:0";
  return o;
}

TEST(Health, ANodeWithoutSeedsIsHealthyOnceStarted) {
  fly::Node node(with_endpoint(in_process_options("health-a", "syd")));
  node.start();
  const auto r = health(node);
  EXPECT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.headers.at("content-type"), "application/json");
  EXPECT_EQ(r.body,
            R"({"status":"ok","node":"health-a","region":"syd","primary_region":"syd","peers":0})"
            "\n");
  const auto head = health(node, "HEAD");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.body, "");
  EXPECT_EQ(health(node, "POST").status, 405);
  node.stop();
}

TEST(Health, UnhealthyUntilConnectedToASeed) {
  // Nothing listens on the seed's port: the node keeps trying and has not joined.
  fly::Node lonely(with_endpoint(in_process_options("health-b", "lax", {"127.0.0.1:1"})));
  lonely.start();
  auto r = health(lonely);
  EXPECT_EQ(r.status, 503) << r.raw;
  EXPECT_NE(r.body.find(R"("status":"joining")"), std::string::npos) << r.body;

  fly::Node seed(in_process_options("health-seed", "syd"));
  seed.start();
  fly::Node joiner(with_endpoint(in_process_options("health-c", "lax", {seed_of(seed)})));
  joiner.start();
  EXPECT_EVENTUALLY(health(joiner).status == 200, 10s);
  r = health(joiner);
  EXPECT_NE(r.body.find(R"("status":"ok")"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(R"("peers":1)"), std::string::npos) << r.body;
  joiner.stop();
  seed.stop();
  lonely.stop();
}

TEST(Health, UnhealthyWhileStopping) {
  auto o = with_endpoint(in_process_options("health-d", "syd"));
  o.drain_timeout = 10s;
  fly::Node node(o);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<bool> running{false};
  node.expose("Test.block", [&running, released] {
    running = true;
    released.wait();
    return 1;
  });
  node.start();
  ASSERT_EQ(health(node).status, 200);
  auto caller_options = in_process_options("health-caller", "lax", {seed_of(node)});
  caller_options.call_timeout = 60s;  // the call ends when the test releases it
  fly::Node caller(caller_options);
  caller.start();
  ASSERT_TRUE(caller.wait_for_region("syd", 10s));
  auto call = caller.async_rpc_region<int>("syd", "Test.block", asio::use_future);
  ASSERT_EVENTUALLY(running.load(), 10s);
  // stop() drains the blocked call; meanwhile the endpoint still answers, 503.
  std::thread stopper([&] { node.stop(); });
  EXPECT_EVENTUALLY(health(node).status == 503, 10s);
  const auto r = health(node);
  EXPECT_NE(r.body.find(R"("status":"stopping")"), std::string::npos) << r.raw;
  release.set_value();
  stopper.join();
  EXPECT_EQ(call.get(), 1);
  caller.stop();
}

}  // namespace
