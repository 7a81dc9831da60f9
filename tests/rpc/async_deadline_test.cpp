// Async calls' deadlines, watched by the connection (net/peer_deadlines.cpp):
// one timer per connection set to the earliest deadline in its call table,
// not one per call. A call whose deadline passes fails with fly::Timeout, its
// CANCEL reaches the callee, calls due later still time out (the sweep
// re-arms), a call started later but due sooner re-arms the timer earlier,
// and the connection keeps working for the calls that were not due.
#include <gtest/gtest.h>

#include <asio/use_future.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <thread>
#include <vector>

#include "fly/async.hpp"
#include "fly/node.hpp"
#include "fly/this_call.hpp"
#include "support/in_process_node.hpp"
#include "support/slack.hpp"
#include "support/wait.hpp"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using flytest::in_process_options;
using flytest::seed_of;
using flytest::slack;

class AsyncDeadlines : public ::testing::Test {
 protected:
  void SetUp() override {
    auto callee_options = in_process_options("hkg-1", "hkg");
    callee_options.worker_threads = 8;  // every waiting call below has a worker
    hkg = std::make_unique<fly::Node>(callee_options);
    flytest::expose_test_functions(*hkg);
    // Waits up to `ms` for its caller to cancel; counts the cancellations.
    hkg->expose("Test.wait_cancel", [this](int ms) {
      const auto until = Clock::now() + std::chrono::milliseconds(ms);
      while (Clock::now() < until) {
        if (fly::this_call::cancelled()) {
          cancelled.fetch_add(1);
          return;
        }
        std::this_thread::sleep_for(2ms);  // the function under test polls; not synchronisation
      }
    });
    hkg->start();
    syd = std::make_unique<fly::Node>(in_process_options("syd-1", "syd", {seed_of(*hkg)}));
    syd->start();
    ASSERT_TRUE(syd->wait_for_nodes(1, 10s));
    ASSERT_TRUE(hkg->wait_for_nodes(1, 10s));
  }
  void TearDown() override {
    if (syd) syd->stop();
    if (hkg) hkg->stop();
  }

  // Starts Test.wait_cancel(10 s) with `timeout`; the future holds when it
  // completed, or its error.
  std::future<Clock::time_point> waiting_call(std::chrono::milliseconds timeout) {
    auto done = std::make_shared<std::promise<Clock::time_point>>();
    auto f = done->get_future();
    syd->async_rpc_region<void>(
        "hkg", "Test.wait_cancel", 10000, fly::timeout(timeout), [done](std::exception_ptr e) {
          if (e) {
            try {
              std::rethrow_exception(e);
            } catch (const fly::Timeout&) {
              done->set_value(Clock::now());
              return;
            } catch (...) {
            }
          }
          done->set_exception(std::make_exception_ptr(std::runtime_error("no Timeout")));
        });
    return f;
  }

  std::atomic<int> cancelled{0};
  std::unique_ptr<fly::Node> hkg, syd;
};

TEST_F(AsyncDeadlines, ALaterCallDueSoonerTimesOutFirstAndEachCancelReachesTheCallee) {
  const auto start = Clock::now();
  auto late = waiting_call(600ms);  // armed first
  auto soon = waiting_call(150ms);  // due sooner: re-arms the connection's timer
  auto fine =
      syd->async_rpc_region<int>("hkg", "Kernel.+", 40, 2, fly::timeout(5s), asio::use_future);
  EXPECT_EQ(fine.get(), 42);
  const auto soon_at = soon.get();
  const auto late_at = late.get();
  EXPECT_GE(soon_at - start, 150ms);
  EXPECT_GE(late_at - start, 600ms);
  EXPECT_LT(soon_at, late_at);
  // Well before the callee's 10 s: the sweep fired, and fired again for `late`.
  EXPECT_LT(soon_at - start, slack(3s));
  EXPECT_LT(late_at - start, slack(4s));
  EXPECT_EVENTUALLY(cancelled.load() == 2, slack(5s).count());
  // The connection still works.
  EXPECT_EQ(syd->rpc_region<int>("hkg", "Kernel.+", 1, 2), 3);
}

TEST_F(AsyncDeadlines, CallsDueTogetherAllTimeOutAndLeaveTheOthersAlone) {
  std::vector<std::future<Clock::time_point>> due;
  for (int i = 0; i < 6; ++i) due.push_back(waiting_call(200ms));
  // Started meanwhile, due much later: answered, not swept.
  auto fine =
      syd->async_rpc_region<int>("hkg", "Kernel.+", 1, 1, fly::timeout(30s), asio::use_future);
  EXPECT_EQ(fine.get(), 2);
  for (auto& f : due) EXPECT_NO_THROW(f.get());
  EXPECT_EVENTUALLY(cancelled.load() == 6, slack(5s).count());
  EXPECT_EQ(syd->rpc_region<int>("hkg", "Kernel.+", 2, 2), 4);
}

}  // namespace
