// How long a call lives on the node that runs it, and what its end looks
// like to both sides: stop() cancels at drain_timeout and returns within its
// bound whatever the handlers do; a caller's connection that goes away
// cancels the calls it brought; a result or arguments at the frame limit; the
// async API's promises (the initiating function throws nothing and never
// runs the handler) when a call fails right inside it.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "fly/async.hpp"
#include "fly/node.hpp"
#include "fly/this_call.hpp"
#include "support/cluster_harness.hpp"
#include "support/in_process_node.hpp"
#include "support/log_capture.hpp"
#include "support/slack.hpp"
#include "support/wait.hpp"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using flytest::in_process_options;
using flytest::seed_of;
using flytest::slack;

// Node::stop()'s stated bound beyond drain_timeout (node.hpp): 500 ms for
// cancelled handlers to return, and at most 2 s for the I/O threads.
constexpr auto kStopBound = 2500ms;

std::chrono::milliseconds since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t);
}

// ---- stop() at drain_timeout ------------------------------------------------

// What the handlers of the stopping node saw, shared with them by pointer so
// that a handler that outlives its Node never reads the test's stack.
struct Seen {
  std::atomic<int> started{0};
  std::atomic<int> saw_cancelled{0};
  std::atomic<bool> release{false};  // lets a handler that ignores cancellation return
  std::atomic<int> returned{0};
};

class StopAtDrainTimeout : public ::testing::Test {
 protected:
  void SetUp() override {
    auto o = in_process_options("stopper-1", "stp");
    o.drain_timeout = 300ms;
    o.worker_threads = 2;
    callee = std::make_unique<fly::Node>(o);
    // Gives up when cancelled (or after 20 s, so that old code fails the
    // time bound instead of hanging the test).
    callee->expose("Test.until_cancelled", [seen = seen] {
      ++seen->started;
      const auto give_up = Clock::now() + 20s;
      while (!fly::this_call::cancelled() && Clock::now() < give_up) {
        std::this_thread::sleep_for(2ms);  // the function under test works; not synchronisation
      }
      if (fly::this_call::cancelled()) ++seen->saw_cancelled;
      ++seen->returned;
    });
    // Ignores cancellation: returns only when the test releases it (or
    // after 20 s, so that old code, which waits for it, fails rather than
    // hangs). Its
    // capture (`probe`) dies with the function's entry, i.e. with the Node's
    // internals: the test watches it to see them freed, after the handler.
    callee->expose("Test.ignores_cancel", [seen = seen, probe = probe] {
      ++seen->started;
      const auto give_up = Clock::now() + 20s;
      while (!seen->release.load() && Clock::now() < give_up) {
        std::this_thread::sleep_for(2ms);  // the function under test works; not synchronisation
      }
      if (fly::this_call::cancelled()) ++seen->saw_cancelled;
      ++seen->returned;
    });
    // Telemetry is among the last of the Node's internals to be destroyed:
    // this handler's capture says when they all are.
    callee->telemetry().attach(
        "probe", {fly::telemetry::Event::call_start},
        [p = core_probe](fly::telemetry::Event, const fly::telemetry::Measurements&,
                         const fly::telemetry::Metadata&) {});
    callee->start();
    caller = std::make_unique<fly::Node>(in_process_options("caller-1", "cal", {seed_of(*callee)}));
    caller->start();
    ASSERT_TRUE(caller->wait_for_region("stp", slack(10s)));
  }
  void TearDown() override {
    seen->release = true;
    if (caller) caller->stop();
    callee.reset();
  }

  std::shared_ptr<Seen> seen = std::make_shared<Seen>();
  std::shared_ptr<int> probe = std::make_shared<int>(0);
  std::shared_ptr<int> core_probe = std::make_shared<int>(0);
  std::unique_ptr<fly::Node> callee;
  std::unique_ptr<fly::Node> caller;
};

TEST_F(StopAtDrainTimeout, CancelsRunningCallsAndReturnsWithinTheBound) {
  std::atomic<int> node_down{0};
  std::vector<std::thread> callers;
  for (int i = 0; i < 2; ++i) {
    callers.emplace_back([&] {
      try {
        caller->rpc_region<void>("stp", "Test.until_cancelled", fly::timeout(60s));
      } catch (const fly::NodeDown&) {
        ++node_down;
      } catch (...) {
      }
    });
  }
  ASSERT_EVENTUALLY(seen->started == 2, slack(10s));
  const auto t0 = Clock::now();
  callee->stop();
  const auto took = since(t0);
  for (auto& t : callers) t.join();
  EXPECT_GE(took, 300ms) << "stop() must first let the calls drain";
  EXPECT_LT(took, 300ms + slack(kStopBound)) << "stop() took " << took.count() << " ms";
  EXPECT_EQ(seen->saw_cancelled, 2) << "the handlers were not told to give up";
  EXPECT_EQ(node_down, 2) << "the callers must get NodeDown when the node leaves";
}

TEST_F(StopAtDrainTimeout, AbandonsAHandlerThatIgnoresCancellation) {
  std::thread call([&] {
    try {
      caller->rpc_region<void>("stp", "Test.ignores_cancel", fly::timeout(60s));
    } catch (...) {
    }
  });
  ASSERT_EVENTUALLY(seen->started == 1, slack(10s));
  std::weak_ptr<int> internals = probe;
  std::weak_ptr<int> core = core_probe;
  probe.reset();
  core_probe.reset();
  const auto t0 = Clock::now();
  callee->stop();
  EXPECT_LT(since(t0), 300ms + slack(kStopBound));
  // The destructor does not wait for the abandoned handler either...
  const auto t1 = Clock::now();
  callee.reset();
  EXPECT_LT(since(t1), slack(2000ms));
  call.join();
  EXPECT_EQ(seen->returned, 0) << "the handler was to be still running";
  // ...nor frees what it uses under it: the function's entry (and the rest
  // of the Node's internals) lives until the handler has returned.
  EXPECT_FALSE(internals.expired());
  EXPECT_FALSE(core.expired());
  seen->release = true;
  ASSERT_EVENTUALLY(seen->returned == 1, slack(10s));
  EXPECT_EQ(seen->saw_cancelled, 1) << "it was told to give up";
  // Then they are freed (not leaked), by the time the test ends.
  EXPECT_EVENTUALLY(internals.expired() && core.expired(), slack(10s));
}

// The real process: SIGTERM during a 20 s call. The node must exit soon after
// drain_timeout (5 s by default), not when the call would end; the caller
// gets NodeDown (exit 5).
TEST(StopProcess, SigtermCancelsALongCallAndExitsWithinTheBound) {
  const std::string cookie = flytest::random_cookie();
  flytest::NodeProcess node({"s1", "syd", {}, {"--verbose"}, {}}, cookie, "syd");
  ASSERT_TRUE(node.wait_listening(slack(10s))) << node.err();
  auto call =
      flytest::Process::spawn({FLYRPC_CLI_PATH, "call", "--seeds", node.address(), "--region",
                               "syd", "--timeout", "60000", "Process.sleep", "20000"},
                              {{"FLY_RPC_COOKIE", cookie}});
  ASSERT_EVENTUALLY(node.err().find("RECV Process.sleep") != std::string::npos, slack(10s))
      << node.err();
  const auto t0 = Clock::now();
  node.process().signal(SIGTERM);
  const auto exited = node.process().wait_for(5000ms + slack(kStopBound) + 1000ms);
  ASSERT_TRUE(exited.has_value()) << "still running " << since(t0).count() << " ms after SIGTERM";
  EXPECT_EQ(exited->exit_code, 0) << exited->err;
  EXPECT_GE(since(t0), 4900ms) << "it must wait drain_timeout first";
  EXPECT_NE(exited->err.find("cancelling them"), std::string::npos) << exited->err;
  const auto caller = call.wait_for(slack(10s));
  ASSERT_TRUE(caller.has_value());
  EXPECT_EQ(caller->exit_code, 5) << caller->err;  // NodeDown
}

// ---- a caller that dies -----------------------------------------------------

// A node with two workers; three CLI processes call a 600 s sleep on it (two
// run, one is queued), then die by SIGKILL. Their connections' end must
// cancel all three: the workers are free again and a fresh call is served.
TEST(CallerDies, ItsCallsAreCancelledAndTheWorkersFreed) {
  flytest::LogCapture log;
  const std::string cookie = flytest::random_cookie();
  auto seen = std::make_shared<Seen>();
  auto o = in_process_options("pool-1", "pol", {}, cookie);
  o.worker_threads = 2;
  o.verbose_logging = true;  // RECV lines: every call arrived, queued or not
  fly::Node node(o);
  node.expose("Test.hold", [seen](int ms) {
    ++seen->started;
    const auto until = Clock::now() + std::chrono::milliseconds(ms);
    while (!fly::this_call::cancelled() && Clock::now() < until) {
      std::this_thread::sleep_for(2ms);  // the function under test works; not synchronisation
    }
    if (fly::this_call::cancelled()) ++seen->saw_cancelled;
    return ms;
  });
  node.start();
  std::vector<flytest::Process> callers;
  for (int i = 0; i < 3; ++i) {
    callers.push_back(
        flytest::Process::spawn({FLYRPC_CLI_PATH, "call", "--seeds", seed_of(node), "--region",
                                 "pol", "--timeout", "600000", "Test.hold", "600000"},
                                {{"FLY_RPC_COOKIE", cookie}}));
  }
  ASSERT_EVENTUALLY(log.count(spdlog::level::info, "RECV Test.hold") == 3, slack(20s));
  ASSERT_EVENTUALLY(seen->started == 2, slack(10s));
  for (auto& p : callers) p.signal(SIGKILL);
  for (auto& p : callers) ASSERT_TRUE(p.wait_for(slack(10s)).has_value());
  // Each connection's end cancels its call: the running ones see it, the
  // queued one is skipped — or, if a worker freed by another caller's
  // cancellation took it first, it sees its own cancellation too.
  EXPECT_EVENTUALLY(log.count(spdlog::level::info, "its connection closed") == 3, slack(10s));
  EXPECT_EVENTUALLY(seen->started >= 2 && seen->saw_cancelled == seen->started, slack(10s))
      << seen->saw_cancelled << " of " << seen->started << " saw their cancellation";
  // A fresh call needs a worker: served, long before any sleep would end.
  const auto r = flytest::cli_call(
      cookie, {"--seeds", seed_of(node), "--region", "pol", "--timeout", "30000", "Test.hold", "0"},
      40s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "0\n");
  EXPECT_EQ(seen->started - seen->saw_cancelled, 1) << "only the fresh call may run to its end";
  node.stop();
}

// ---- the frame limit, exactly -----------------------------------------------

class FrameLimit : public ::testing::Test {
 protected:
  static constexpr std::size_t kMax = 64 * 1024;  // the smallest max_frame_size allowed
  void SetUp() override {
    auto o = in_process_options("big-1", "big");
    o.max_frame_size = kMax;
    callee = std::make_unique<fly::Node>(o);
    callee->expose("Bytes.make",
                   [](int n) { return std::string(static_cast<std::size_t>(n), 'x'); });
    callee->start();
    auto c = in_process_options("small-1", "sml", {seed_of(*callee)});
    c.max_frame_size = kMax;
    caller = std::make_unique<fly::Node>(c);
    flytest::expose_test_functions(*caller);
    caller->start();
    ASSERT_TRUE(caller->wait_for_region("big", slack(10s)));
    ASSERT_TRUE(callee->wait_for_region("sml", slack(10s)));
  }
  void TearDown() override {
    if (caller) caller->stop();
    if (callee) callee->stop();
  }
  std::unique_ptr<fly::Node> callee, caller;
};

// A string of n < 65536 bytes packs to n + 3; its REPLY frame's length field
// is that plus 10 (type, request id, status). 65523 fills the frame exactly.
TEST_F(FrameLimit, AResultThatFillsTheFrameExactlyPasses) {
  EXPECT_EQ(caller->rpc_region<std::string>("big", "Bytes.make", 65523).size(), 65523u);
  try {
    caller->rpc_region<std::string>("big", "Bytes.make", 65524);
    FAIL() << "no exception";
  } catch (const fly::RemoteError& e) {
    EXPECT_EQ(e.exception_type(), "fly::FrameTooLarge");
    EXPECT_EQ(e.remote_message(),
              "the result is 65527 bytes, which makes a REPLY frame of 65537 bytes, over the "
              "maximum frame size of 65536 bytes (a result may be at most 65526 bytes)");
  }
}

// Arguments: [str] packs to 1 + 3 + n; the CALL's length field adds 1 + 13 +
// the name (13 for String.upcase). n = 65505 fills the frame exactly.
TEST_F(FrameLimit, ArgumentsThatFillTheFrameExactlyPass) {
  EXPECT_EQ(callee->rpc_region<std::string>("sml", "String.upcase", std::string(65505, 'a')),
            std::string(65505, 'A'));
  try {
    callee->rpc_region<std::string>("sml", "String.upcase", std::string(65506, 'a'));
    FAIL() << "no exception";
  } catch (const fly::BadArguments& e) {
    EXPECT_STREQ(e.what(),
                 "bad arguments for String.upcase: the arguments are 65510 bytes, which makes a "
                 "CALL frame of 65537 bytes, over the maximum frame size of 65536 bytes (the "
                 "arguments of String.upcase may be at most 65509 bytes)");
  }
}

// ---- the async API's promises -----------------------------------------------

// Arguments over the frame size, from a call started on the node's own
// executor: no exception out of the initiating function, and the handler
// runs after it returned (posted), with the exact BadArguments.
TEST_F(FrameLimit, AsyncOversizedArgumentsReachTheHandlerNotTheInitiator) {
  std::atomic<bool> threw{false}, ran_inside{false}, done{false};
  std::string message;
  asio::post(callee->executor(), [&] {
    thread_local bool inside = false;
    inside = true;
    try {
      callee->async_rpc_region<std::string>("sml", "String.upcase", std::string(100000, 'a'),
                                            [&](std::exception_ptr e, std::string) {
                                              ran_inside = inside;
                                              try {
                                                if (e) std::rethrow_exception(e);
                                              } catch (const fly::BadArguments& b) {
                                                message = b.what();
                                              } catch (...) {
                                              }
                                              done = true;
                                            });
    } catch (...) {
      threw = true;
    }
    inside = false;
  });
  ASSERT_EVENTUALLY(done || threw, slack(10s));
  EXPECT_FALSE(threw) << "the initiating function threw";
  EXPECT_FALSE(ran_inside) << "the handler ran inside the initiating function";
  EXPECT_EQ(message,
            "bad arguments for String.upcase: the arguments are 100006 bytes, which makes a CALL "
            "frame of 100033 bytes, over the maximum frame size of 65536 bytes (the arguments of "
            "String.upcase may be at most 65509 bytes)");
}

// A connection that has just closed: the callee process dies by SIGKILL while
// an async call to it is in flight. The caller's I/O thread fails that call
// before the region table forgets the node; a call started right then (from
// the telemetry of that failure, on the node's executor) finds the
// connection closed inside its own initiation. Its handler must still run
// later, not inline.
TEST(AsyncPromises, AFailureFoundInsideTheInitiationIsPostedNotRunInline) {
  const std::string cookie = flytest::random_cookie();
  flytest::NodeProcess callee({"gone-1", "gon", {}, {"--verbose"}, {}}, cookie, "gon");
  ASSERT_TRUE(callee.wait_listening(slack(10s))) << callee.err();
  auto o = in_process_options("watch-1", "wch", {callee.address()}, cookie);
  o.io_threads = 1;
  fly::Node node(o);
  node.start();
  ASSERT_TRUE(node.wait_for_region("gon", slack(10s)));

  std::atomic<bool> started_second{false}, second_done{false}, second_inline{false};
  std::atomic<bool> second_threw{false};
  thread_local bool inside = false;
  node.telemetry().attach("start-a-call-while-closing", {fly::telemetry::Event::call_exception},
                          [&](fly::telemetry::Event, const fly::telemetry::Measurements&,
                              const fly::telemetry::Metadata& md) {
                            if (md.function != "Process.sleep" || started_second.exchange(true))
                              return;
                            inside = true;
                            try {
                              node.async_rpc_region<void>("gon", "Process.sleep", 1,
                                                          [&](std::exception_ptr) {
                                                            second_inline = inside;
                                                            second_done = true;
                                                          });
                            } catch (...) {
                              second_threw = true;
                            }
                            inside = false;
                          });
  std::atomic<bool> first_done{false};
  node.async_rpc_region<void>("gon", "Process.sleep", 20000, fly::timeout(60s),
                              [&](std::exception_ptr) { first_done = true; });
  ASSERT_EVENTUALLY(callee.err().find("RECV Process.sleep") != std::string::npos, slack(10s));
  callee.process().signal(SIGKILL);
  ASSERT_EVENTUALLY(first_done && (second_done || second_threw), slack(10s));
  EXPECT_FALSE(second_threw) << "the initiating function threw";
  EXPECT_FALSE(second_inline) << "the handler ran inside the initiating function";
  node.telemetry().detach("start-a-call-while-closing");
  node.stop();
}

}  // namespace
