// Nodes in one process over real loopback sockets: the call path, every
// outcome, async forms and multicall.
#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/use_future.hpp>
#include <atomic>
#include <future>
#include <map>
#include <set>
#include <thread>

#include "fly/async.hpp"
#include "fly/node.hpp"
#include "support/in_process_node.hpp"
#include "support/wait.hpp"

namespace {

using namespace std::chrono_literals;
using flytest::in_process_options;
using flytest::seed_of;

class ThreeRegions : public ::testing::Test {
 protected:
  void SetUp() override {
    syd = std::make_unique<fly::Node>(in_process_options("syd-1", "syd"));
    flytest::expose_test_functions(*syd);
    syd->start();
    lax1 = std::make_unique<fly::Node>(in_process_options("lax-1", "lax", {seed_of(*syd)}));
    lax2 = std::make_unique<fly::Node>(in_process_options("lax-2", "lax", {seed_of(*syd)}));
    hkg = std::make_unique<fly::Node>(in_process_options("hkg-1", "hkg", {seed_of(*syd)}));
    for (auto* n : {lax1.get(), lax2.get(), hkg.get()}) {
      flytest::expose_test_functions(*n);
      n->start();
    }
    for (auto* n : {syd.get(), lax1.get(), lax2.get(), hkg.get()}) {
      ASSERT_TRUE(n->wait_for_nodes(3, 10s)) << n->name() << " did not see the full mesh";
    }
  }
  void TearDown() override {
    for (auto* n : {hkg.get(), lax2.get(), lax1.get(), syd.get()}) {
      if (n) n->stop();
    }
  }
  std::unique_ptr<fly::Node> syd, lax1, lax2, hkg;
};

TEST_F(ThreeRegions, RegionTableAgreesEverywhere) {
  for (auto* n : {syd.get(), lax1.get(), lax2.get(), hkg.get()}) {
    EXPECT_EQ(n->regions(), (std::vector<std::string>{"hkg", "lax", "syd"})) << n->name();
    auto lax = n->region_nodes("lax");
    ASSERT_EQ(lax.size(), 2u) << n->name();
    EXPECT_EQ(lax[0].name, "lax-1");
    EXPECT_EQ(lax[1].name, "lax-2");
  }
}

TEST_F(ThreeRegions, RpcRegionReachesBothNodesOfTheRegion) {
  std::map<std::string, int> served;
  for (int i = 0; i < 1000; ++i) {
    EXPECT_EQ(hkg->rpc_region<std::string>("lax", "String.upcase", "fly"), "FLY");
    served[hkg->rpc_region<std::string>("lax", "Kernel.node")]++;
  }
  EXPECT_EQ(served.size(), 2u);
  EXPECT_GT(served["lax-1"], 0);
  EXPECT_GT(served["lax-2"], 0);
}

TEST_F(ThreeRegions, PrimaryAliasAndRpcPrimary) {
  EXPECT_EQ(lax1->rpc_primary<std::string>("Kernel.node"), "syd-1");
  EXPECT_EQ(lax1->rpc_region<std::string>(fly::primary, "Kernel.node"), "syd-1");
  EXPECT_EQ(lax1->rpc_region<int>(fly::primary, "Kernel.+", 1, 2, fly::timeout(2s)), 3);
  EXPECT_FALSE(lax1->is_primary());
  EXPECT_TRUE(syd->is_primary());
}

TEST_F(ThreeRegions, OwnRegionRunsInTheCallingThread) {
  std::thread::id ran_on;
  lax1->expose("Thread.id", [&ran_on] {
    ran_on = std::this_thread::get_id();
    return 1;
  });
  EXPECT_EQ(lax1->rpc_region<int>("lax", "Thread.id"), 1);
  EXPECT_EQ(ran_on, std::this_thread::get_id());
  EXPECT_EQ(lax1->rpc_region<std::string>("lax", "Kernel.node"), "lax-1");
}

TEST_F(ThreeRegions, RpcToANamedNode) {
  EXPECT_EQ(syd->rpc<std::string>("lax-2", "Kernel.node"), "lax-2");
  EXPECT_EQ(syd->rpc<std::string>("syd-1", "Kernel.node"), "syd-1");
  EXPECT_THROW(syd->rpc<std::string>("nobody", "Kernel.node"), fly::NotConnected);
}

TEST_F(ThreeRegions, EveryErrorIsTyped) {
  try {
    syd->rpc_region<int>("ord", "Kernel.+", 1, 2);
    FAIL();
  } catch (const fly::NoNodeInRegion& e) {
    EXPECT_EQ(e.region(), "ord");
    EXPECT_EQ(e.available_regions(), (std::vector<std::string>{"hkg", "lax", "syd"}));
  }
  EXPECT_THROW(syd->rpc_region<int>("lax", "Nope.nope"), fly::UnknownFunction);
  try {
    syd->rpc_region<int>("lax", "Kernel.+", "one", 2);
    FAIL();
  } catch (const fly::BadArguments& e) {
    EXPECT_EQ(e.expected_signature(), "Kernel.+(int, int) -> int");
    EXPECT_EQ(e.detail(), "argument 1: expected int, got string");
  }
  try {
    syd->rpc_region<int>("hkg", "Kernel.raise", "boom");
    FAIL();
  } catch (const fly::RemoteError& e) {
    EXPECT_EQ(e.node(), "hkg-1");
    EXPECT_EQ(e.function(), "Kernel.raise");
    EXPECT_EQ(e.exception_type(), "std::invalid_argument");
    EXPECT_EQ(e.remote_message(), "boom");
  }
  const auto t0 = std::chrono::steady_clock::now();
  try {
    syd->rpc_region<void>("hkg", "Process.sleep", 5000, fly::timeout(200ms));
    FAIL();
  } catch (const fly::Timeout& e) {
    EXPECT_EQ(e.timeout(), 200ms);
    EXPECT_EQ(e.node(), "hkg-1");
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, flytest::slack(2s));
}

TEST_F(ThreeRegions, DeadlineTravelsWithTheCall) {
  const int left = syd->rpc_region<int>("hkg", "Deadline.left", fly::timeout(3s));
  EXPECT_GT(left, 2000);
  EXPECT_LE(left, 3000);
}

TEST_F(ThreeRegions, ConcurrentCallersNeverGetCrossedReplies) {
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) {
        if (syd->rpc_region<int>("lax", "Kernel.+", t * 1000, i) != t * 1000 + i) ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST_F(ThreeRegions, AsyncWithCallbackAndFuture) {
  std::promise<int> got;
  syd->async_rpc_region<int>("lax", "Kernel.+", 40, 2, [&](std::exception_ptr e, int r) {
    e ? got.set_exception(e) : got.set_value(r);
  });
  EXPECT_EQ(got.get_future().get(), 42);
  auto f = syd->async_rpc_region<std::string>("hkg", "String.upcase", std::string("fly"),
                                              asio::use_future);
  EXPECT_EQ(f.get(), "FLY");
  auto err = syd->async_rpc_region<int>("hkg", "Kernel.raise", "x", asio::use_future);
  EXPECT_THROW(err.get(), fly::RemoteError);
  auto slow = syd->async_rpc_region<void>("hkg", "Process.sleep", 5000, fly::timeout(100ms),
                                          asio::use_future);
  EXPECT_THROW(slow.get(), fly::Timeout);
  auto local = syd->async_rpc_region<int>("syd", "Kernel.+", 1, 1, asio::use_future);
  EXPECT_EQ(local.get(), 2);
}

// C++20 coroutines: asio::use_awaitable as the token; results, remote errors
// and routing errors arrive at the co_await, on the coroutine's executor.
TEST_F(ThreeRegions, AsyncWithUseAwaitable) {
  asio::io_context io;
  std::thread::id runner_id;
  std::promise<std::string> result;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<std::string> {
        std::string seen;
        const int sum =
            co_await syd->async_rpc_region<int>("lax", "Kernel.+", 40, 2, asio::use_awaitable);
        seen += std::to_string(sum);
        if (std::this_thread::get_id() != runner_id) seen += " (resumed off its executor)";
        seen += " " + co_await syd->async_rpc_region<std::string>(
                          "hkg", "String.upcase", std::string("fly"), asio::use_awaitable);
        try {
          co_await syd->async_rpc_region<int>("hkg", "Kernel.raise", "x", asio::use_awaitable);
          seen += " no-error";
        } catch (const fly::RemoteError&) {
          seen += " remote-error";
        }
        try {
          co_await syd->async_rpc_region<int>("ord", "Kernel.+", 1, 2, asio::use_awaitable);
          seen += " no-error";
        } catch (const fly::NoNodeInRegion&) {
          seen += " no-node";
        }
        co_await syd->async_rpc_region<void>("lax", "Process.sleep", 1, fly::timeout(5s),
                                             asio::use_awaitable);
        if (std::this_thread::get_id() != runner_id) seen += " (resumed off its executor)";
        co_return seen + " void";
      },
      [&](std::exception_ptr e, std::string seen) {
        e ? result.set_exception(e) : result.set_value(seen);
      });
  std::thread runner([&] {
    runner_id = std::this_thread::get_id();  // before the coroutine starts, on this thread
    io.run();
  });
  auto seen = result.get_future();
  const bool ready = seen.wait_for(20s) == std::future_status::ready;
  if (!ready) io.stop();
  runner.join();
  // syd's I/O threads dispatch completions into `io`: join them before `io`
  // is destroyed (one may still be returning from its last dispatch).
  syd->stop();
  ASSERT_TRUE(ready) << "the coroutine never finished";
  EXPECT_EQ(seen.get(), "42 FLY remote-error no-node void");
}

// Routing errors reach the completion handler like any other outcome: the
// initiating call does not throw them, and does not run the handler itself.
TEST_F(ThreeRegions, AsyncRoutingErrorsReachTheHandler) {
  auto no_region = syd->async_rpc_region<int>("ord", "Kernel.+", 1, 2, asio::use_future);
  EXPECT_THROW(no_region.get(), fly::NoNodeInRegion);
  auto no_function = syd->async_rpc_region<int>("lax", "No.such", asio::use_future);
  EXPECT_THROW(no_function.get(), fly::UnknownFunction);
  auto no_node = syd->async_rpc<void>("nobody", "Kernel.node", asio::use_future);
  EXPECT_ANY_THROW(no_node.get());

  const auto caller = std::this_thread::get_id();
  std::promise<std::exception_ptr> got;
  syd->async_rpc_region<int>("ord", "Kernel.+", 1, 2, [&](std::exception_ptr e, int) {
    EXPECT_NE(std::this_thread::get_id(), caller) << "the handler ran inside async_rpc_region";
    got.set_value(e);
  });
  auto e = got.get_future().get();
  ASSERT_TRUE(e);
  EXPECT_THROW(std::rethrow_exception(e), fly::NoNodeInRegion);
}

TEST_F(ThreeRegions, MulticallGivesOneOutcomePerNode) {
  auto results = syd->multicall_region<std::string>("lax", "Kernel.node");
  ASSERT_EQ(results.size(), 2u);
  std::set<std::string> names;
  for (auto& r : results) {
    ASSERT_TRUE(r.ok());
    names.insert(r.get());
  }
  EXPECT_EQ(names, (std::set<std::string>{"lax-1", "lax-2"}));
  lax2->unexpose("Kernel.node");
  auto mixed = syd->multicall<std::string>("Kernel.node");
  ASSERT_EQ(mixed.size(), 4u);
  int ok = 0, failed = 0;
  for (auto& r : mixed) (r.ok() ? ok : failed)++;
  EXPECT_EQ(ok, 3);
  EXPECT_EQ(failed, 1);
}

TEST(Cookie, WrongCookieIsRefused) {
  fly::Node a(in_process_options("a", "syd"));
  a.start();
  auto bo = in_process_options("b", "lax", {seed_of(a)});
  bo.cookie = "another-cookie";
  fly::Node b(bo);
  b.start();
  EXPECT_FALSE(b.wait_for_nodes(1, 1500ms));
  EXPECT_EQ(a.nodes().size(), 1u);
  EXPECT_NE(b.last_join_error().find("bad_cookie"), std::string::npos) << b.last_join_error();
}

}  // namespace
