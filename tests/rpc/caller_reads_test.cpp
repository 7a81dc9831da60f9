// A blocking caller that reads its own reply (Peer::await_reply): the REPLY
// is read and completed on the caller's thread when its call is the
// connection's only one, and everything else that arrives meanwhile — a call
// from the other node, an async call's reply, a late reply of a timed-out
// call, the end of the connection — still reaches whoever must handle it.
//
// Which thread read a REPLY is seen in the verbose log: the "flyrpc RESP"
// line is written by the thread that completed the call.
//
// Every test runs twice: in plaintext and over TLS, where the caller also
// opens the records it reads (net/tls_session.hpp).
#include <gtest/gtest.h>
#include <spdlog/details/os.h>

#include <asio/use_future.hpp>
#include <atomic>
#include <csignal>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "fly/async.hpp"
#include "fly/node.hpp"
#include "support/cluster_harness.hpp"
#include "support/in_process_node.hpp"
#include "support/log_capture.hpp"
#include "support/test_pki.hpp"
#include "support/wait.hpp"

namespace {

using namespace std::chrono_literals;
using flytest::in_process_options;
using flytest::seed_of;

class CallerReads : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    auto syd_options = in_process_options("syd-1", "syd");
    syd_options.verbose_logging = true;  // RESP lines name the reading thread
    if (GetParam()) syd_options.tls = tls_as("a");
    syd = std::make_unique<fly::Node>(syd_options);
    flytest::expose_test_functions(*syd);
    syd->start();
    auto lax_options = in_process_options("lax-1", "lax", {seed_of(*syd)});
    lax_options.drain_timeout = 200ms;
    if (GetParam()) lax_options.tls = tls_as("b");
    lax = std::make_unique<fly::Node>(lax_options);
    flytest::expose_test_functions(*lax);
    // A call back to syd while syd's caller waits for this call's reply: its
    // CALL reaches syd on the connection that caller is reading.
    lax->expose("Ask.back", [this](std::string s) {
      return lax->rpc_region<std::string>("syd", "String.upcase", s);
    });
    lax->expose("Block.until_released", [this] {
      entered.store(true);
      release.get_future().wait();
    });
    lax->start();
    ASSERT_TRUE(syd->wait_for_nodes(1, 10s));
    ASSERT_TRUE(lax->wait_for_nodes(1, 10s));
  }
  void TearDown() override {
    if (!released) release.set_value();
    if (lax) lax->stop();
    if (syd) syd->stop();
  }

  static fly::TlsOptions tls_as(const std::string& node) {
    const auto& pki = tlstest::TestPki::get();
    return tlstest::tls_options(pki.node(node), pki.ca, /*mutual=*/true);
  }

  /// RESP lines of `function` logged by the thread `tid`, and by any other.
  std::pair<std::size_t, std::size_t> resp_lines(const std::string& function,
                                                 std::size_t tid) const {
    std::size_t mine = 0, others = 0;
    for (const auto& line : log.lines_with("flyrpc RESP " + function + " ")) {
      (line.thread == tid ? mine : others)++;
    }
    return {mine, others};
  }

  flytest::LogCapture log;  // before the nodes: outlives every thread that logs
  std::unique_ptr<fly::Node> syd, lax;
  std::atomic<bool> entered{false};
  std::promise<void> release;
  bool released = false;
};

TEST_P(CallerReads, ACallerWaitingAloneReadsItsOwnReply) {
  const std::size_t me = spdlog::details::os::thread_id();
  // Each reply comes 20 ms after its call, long after the caller began to
  // wait: the caller, reading the connection, is the one to find it. (With
  // an instant reply, which thread gets there first is up to the scheduler;
  // both are correct.)
  for (int i = 0; i < 20; ++i) syd->rpc_region<void>("lax", "Process.sleep", 20);
  const auto [mine, others] = resp_lines("Process.sleep", me);
  EXPECT_EQ(mine + others, 20u) << log.all();
  EXPECT_GE(mine, 10u) << "replies read by the calling thread: " << mine << " of 20";
}

TEST_P(CallerReads, SequentialCallsGetTheirOwnResults) {
  for (int i = 0; i < 500; ++i) {
    ASSERT_EQ(syd->rpc_region<std::string>("lax", "String.upcase", "fly" + std::to_string(i)),
              "FLY" + std::to_string(i));
  }
}

TEST_P(CallerReads, ACallFromTheOtherNodeArrivingMeanwhileIsServed) {
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(syd->rpc_region<std::string>("lax", "Ask.back", "x" + std::to_string(i)),
              "X" + std::to_string(i));
  }
}

TEST_P(CallerReads, AsyncRepliesReachingAReadingCallerCompleteOnIoThreads) {
  std::atomic<std::size_t> reader{0};
  auto blocked = std::async(std::launch::async, [&] {
    reader.store(spdlog::details::os::thread_id());
    syd->rpc_region<void>("lax", "Block.until_released", fly::timeout(60s));
  });
  // The blocked call is the connection's only one: its caller reads the
  // connection while these async calls come and go.
  ASSERT_EVENTUALLY(entered.load(), 10000);
  std::vector<std::future<std::string>> futures;
  for (int i = 0; i < 20; ++i) {
    futures.push_back(syd->async_rpc_region<std::string>(
        "lax", "String.upcase", "a" + std::to_string(i), asio::use_future));
  }
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(futures[static_cast<std::size_t>(i)].wait_for(30s), std::future_status::ready);
    EXPECT_EQ(futures[static_cast<std::size_t>(i)].get(), "A" + std::to_string(i));
  }
  release.set_value();
  released = true;
  blocked.get();
  const auto [on_reader, elsewhere] = resp_lines("String.upcase", reader.load());
  EXPECT_EQ(on_reader, 0u) << "an async call completed on a blocking caller's thread";
  EXPECT_EQ(elsewhere, 20u) << log.all();
}

TEST_P(CallerReads, BlockingAndAsyncCallersOnOneConnectionGetTheirOwnResults) {
  std::atomic<int> wrong{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t) {
    callers.emplace_back([&, t] {
      for (int i = 0; i < 300; ++i) {
        const std::string s = "t" + std::to_string(t) + "-" + std::to_string(i);
        std::string upper = s;
        for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        if (t % 2 == 0) {
          if (syd->rpc_region<std::string>("lax", "String.upcase", s) != upper) ++wrong;
        } else {
          auto f = syd->async_rpc_region<std::string>("lax", "String.upcase", s, asio::use_future);
          if (f.get() != upper) ++wrong;
        }
      }
    });
  }
  for (auto& c : callers) c.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST_P(CallerReads, ALateReplyAfterATimeoutIsIgnoredAndTheConnectionServesOn) {
  EXPECT_THROW(syd->rpc_region<void>("lax", "Process.sleep", 300, fly::timeout(50ms)),
               fly::Timeout);
  // The sleep's REPLY (or its cancellation) arrives while these calls read
  // the connection: it completes nothing and breaks nothing.
  const auto until = std::chrono::steady_clock::now() + 600ms;
  int calls = 0;
  while (std::chrono::steady_clock::now() < until) {
    ASSERT_EQ(syd->rpc_region<int>("lax", "Kernel.+", calls, 2), calls + 2);
    ++calls;
  }
  EXPECT_GT(calls, 0);
}

TEST_P(CallerReads, TheEndOfTheConnectionWakesTheReadingCaller) {
  auto call = std::async(std::launch::async, [&] {
    syd->rpc_region<void>("lax", "Block.until_released", fly::timeout(60s));
  });
  ASSERT_EVENTUALLY(entered.load(), 10000);
  // lax stops: its handler does not finish within the drain timeout, so the
  // connection closes under the waiting caller.
  std::thread stopper([&] { lax->stop(); });
  const auto status = call.wait_for(30s);
  release.set_value();
  released = true;
  stopper.join();
  ASSERT_EQ(status, std::future_status::ready) << "the caller still waits after the close";
  try {
    call.get();
    FAIL() << "the call succeeded although its node stopped";
  } catch (const fly::NodeDown&) {
  } catch (const fly::Cancelled&) {
  }
}

INSTANTIATE_TEST_SUITE_P(Transport, CallerReads, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& param) {
                           return param.param ? "Tls" : "Plaintext";
                         });

// The node called is a real process, killed with SIGKILL while the caller
// waits on its connection: the end of the stream reaches the caller, which
// hands the read side back, and the strand fails the call at once.
TEST(CallerReadsProcess, KillNineOfTheCalleeEndsTheWaitWithNodeDown) {
  flytest::LogCapture log;
  const std::string cookie = flytest::random_cookie();
  flytest::NodeProcess lax({"lax-1", "lax", {}, {}, {}}, cookie, "syd");
  ASSERT_TRUE(lax.wait_listening(10s)) << lax.err();
  auto options = in_process_options("syd-1", "syd", {lax.address()}, cookie);
  options.verbose_logging = true;  // the SEND line says the call left
  fly::Node syd(options);
  syd.start();
  ASSERT_TRUE(syd.wait_for_nodes(1, 10s));
  auto call = std::async(std::launch::async, [&] {
    syd.rpc_region<void>("lax", "Process.sleep", 60000, fly::timeout(120s));
  });
  ASSERT_EVENTUALLY(log.count(spdlog::level::info, "flyrpc SEND Process.sleep") == 1, 10000);
  lax.process().signal(SIGKILL);
  ASSERT_EQ(call.wait_for(30s), std::future_status::ready)
      << "the caller still waits after its callee was killed";
  EXPECT_THROW(call.get(), fly::NodeDown);
  syd.stop();
}

}  // namespace
