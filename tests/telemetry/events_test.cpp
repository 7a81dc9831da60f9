// Telemetry events: attach, detach, emit, failing handlers, and emitting from
// many threads while handlers come and go.
#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "fly/telemetry.hpp"

namespace {

using fly::telemetry::Event;
using fly::telemetry::Measurements;
using fly::telemetry::Metadata;
using fly::telemetry::Telemetry;

TEST(TelemetryEvents, NothingIsWantedUntilAttached) {
  Telemetry t;
  for (std::size_t i = 0; i < fly::telemetry::event_count; ++i) {
    EXPECT_FALSE(t.wanted(static_cast<Event>(i))) << i;
  }
  t.emit(Event::call_stop, {}, {});  // no handler: nothing to call, nothing to fail
  EXPECT_TRUE(t.handlers().empty());
}

TEST(TelemetryEvents, HandlerSeesMeasurementsAndMetadata) {
  Telemetry t;
  std::string function, region, node, outcome;
  std::chrono::nanoseconds duration{};
  std::uint64_t sent = 0, received = 0;
  int calls = 0;
  ASSERT_TRUE(t.attach("probe", {Event::call_exception},
                       [&](Event e, const Measurements& m, const Metadata& md) {
                         EXPECT_EQ(e, Event::call_exception);
                         ++calls;
                         function = md.function;  // copied: views die with the call
                         region = md.region;
                         node = md.node;
                         outcome = md.outcome_name();
                         duration = m.duration;
                         sent = m.bytes_sent;
                         received = m.bytes_received;
                       }));
  EXPECT_TRUE(t.wanted(Event::call_exception));
  EXPECT_FALSE(t.wanted(Event::call_stop));

  std::string fn = "String.upcase";
  Measurements m;
  m.duration = std::chrono::milliseconds(5);
  m.bytes_sent = 40;
  m.bytes_received = 12;
  Metadata md;
  md.function = fn;
  md.region = "syd";
  md.node = "b@syd";
  md.outcome = fly::Errc::timeout;
  t.emit(Event::call_exception, m, md);
  t.emit(Event::call_stop, m, md);  // not attached to this one
  fn = "overwritten";

  EXPECT_EQ(calls, 1);
  EXPECT_EQ(function, "String.upcase");
  EXPECT_EQ(region, "syd");
  EXPECT_EQ(node, "b@syd");
  EXPECT_EQ(outcome, "timeout");
  EXPECT_EQ(duration, std::chrono::milliseconds(5));
  EXPECT_EQ(sent, 40u);
  EXPECT_EQ(received, 12u);
}

TEST(TelemetryEvents, NamesAreUniqueAndDetachStopsDelivery) {
  Telemetry t;
  int a = 0, b = 0;
  EXPECT_TRUE(t.attach("a", {Event::node_up, Event::node_down},
                       [&](Event, const Measurements&, const Metadata&) { ++a; }));
  EXPECT_FALSE(t.attach("a", {Event::node_up}, [&](Event, const Measurements&, const Metadata&) {
    ++b;
  })) << "a name already attached must be refused";
  EXPECT_TRUE(
      t.attach("b", {Event::node_up}, [&](Event, const Measurements&, const Metadata&) { ++b; }));
  EXPECT_EQ(t.handlers(), (std::vector<std::string>{"a", "b"}));

  t.emit(Event::node_up, {}, {});
  t.emit(Event::node_down, {}, {});
  EXPECT_EQ(a, 2);
  EXPECT_EQ(b, 1);

  EXPECT_TRUE(t.detach("a"));
  EXPECT_FALSE(t.detach("a"));
  EXPECT_FALSE(t.wanted(Event::node_down));
  EXPECT_TRUE(t.wanted(Event::node_up));
  t.emit(Event::node_up, {}, {});
  t.emit(Event::node_down, {}, {});
  EXPECT_EQ(a, 2);
  EXPECT_EQ(b, 2);

  // The name is free again.
  EXPECT_TRUE(t.attach(
      "a", {Event::reconnect},
      [&](Event, const Measurements&, const Metadata& md) { a += static_cast<int>(md.attempt); }));
  Metadata md;
  md.attempt = 3;
  t.emit(Event::reconnect, {}, md);
  EXPECT_EQ(a, 5);
}

TEST(TelemetryEvents, BadAttachArgumentsAreRejected) {
  Telemetry t;
  EXPECT_THROW(t.attach("x", {}, [](Event, const Measurements&, const Metadata&) {}),
               std::invalid_argument);
  EXPECT_THROW(t.attach("x", {Event::node_up}, fly::telemetry::Handler{}), std::invalid_argument);
  EXPECT_TRUE(t.handlers().empty());
}

TEST(TelemetryEvents, ThrowingHandlerIsDetachedAndOthersStillRun) {
  Telemetry t;
  int thrower_calls = 0, good_calls = 0;
  ASSERT_TRUE(t.attach("thrower", {Event::call_stop, Event::node_up},
                       [&](Event, const Measurements&, const Metadata&) {
                         ++thrower_calls;
                         throw std::runtime_error("handler bug");
                       }));
  ASSERT_TRUE(t.attach("good", {Event::call_stop},
                       [&](Event, const Measurements&, const Metadata&) { ++good_calls; }));

  EXPECT_NO_THROW(t.emit(Event::call_stop, {}, {}));
  EXPECT_EQ(thrower_calls, 1);
  EXPECT_EQ(good_calls, 1) << "a handler after the failing one still runs";
  EXPECT_EQ(t.handlers(), std::vector<std::string>{"good"});
  EXPECT_FALSE(t.wanted(Event::node_up)) << "the failing handler was the only one on node_up";

  t.emit(Event::call_stop, {}, {});
  EXPECT_EQ(thrower_calls, 1);
  EXPECT_EQ(good_calls, 2);

  // Non-std exceptions are caught too.
  ASSERT_TRUE(t.attach("int-thrower", {Event::node_down},
                       [](Event, const Measurements&, const Metadata&) { throw 42; }));
  EXPECT_NO_THROW(t.emit(Event::node_down, {}, {}));
  EXPECT_EQ(t.handlers(), std::vector<std::string>{"good"});
}

TEST(TelemetryEvents, HandlerMayDetachItselfAndAttachOthers) {
  Telemetry t;
  int once = 0, later = 0;
  ASSERT_TRUE(t.attach("once", {Event::node_up}, [&](Event, const Measurements&, const Metadata&) {
    ++once;
    EXPECT_TRUE(t.detach("once"));
    t.attach("later", {Event::node_up},
             [&](Event, const Measurements&, const Metadata&) { ++later; });
  }));
  t.emit(Event::node_up, {}, {});
  t.emit(Event::node_up, {}, {});
  EXPECT_EQ(once, 1);
  EXPECT_EQ(later, 1) << "attached during the first emit, called by the second";
}

TEST(TelemetryEvents, EventNamesAreStable) {
  EXPECT_STREQ(fly::telemetry::to_string(Event::call_start), "flyrpc.call.start");
  EXPECT_STREQ(fly::telemetry::to_string(Event::call_stop), "flyrpc.call.stop");
  EXPECT_STREQ(fly::telemetry::to_string(Event::call_exception), "flyrpc.call.exception");
  EXPECT_STREQ(fly::telemetry::to_string(Event::node_up), "flyrpc.node.up");
  EXPECT_STREQ(fly::telemetry::to_string(Event::node_down), "flyrpc.node.down");
  EXPECT_STREQ(fly::telemetry::to_string(Event::connection_refused), "flyrpc.connection.refused");
  EXPECT_STREQ(fly::telemetry::to_string(Event::reconnect), "flyrpc.reconnect");
}

// Emitters on several threads while another thread attaches and detaches: no
// emit is lost for the handler that stays attached, and (under TSan) no race.
TEST(TelemetryEvents, ConcurrentEmitAttachDetach) {
  Telemetry t;
  std::atomic<std::uint64_t> steady{0};
  std::atomic<std::uint64_t> churn{0};
  ASSERT_TRUE(
      t.attach("steady", {Event::call_stop}, [&](Event, const Measurements& m, const Metadata&) {
        steady.fetch_add(m.bytes_sent, std::memory_order_relaxed);
      }));

  constexpr int emitters = 4;
  constexpr int per_thread = 20000;
  constexpr int min_cycles = 200;  // emitters keep going until the churn overlapped them
  std::atomic<bool> go{false};
  std::atomic<int> done{0};
  std::atomic<int> cycles{0};
  std::atomic<std::uint64_t> emitted{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < emitters; ++i) {
    threads.emplace_back([&] {
      while (!go.load()) std::this_thread::yield();
      Measurements m;
      m.bytes_sent = 1;
      std::string fn = "Kernel.+";
      Metadata md;
      md.function = fn;
      std::uint64_t k = 0;
      for (; k < per_thread || cycles.load() < min_cycles; ++k) t.emit(Event::call_stop, m, md);
      emitted.fetch_add(k);
      done.fetch_add(1);
    });
  }
  std::thread churner([&] {
    while (!go.load()) std::this_thread::yield();
    for (int c = 0; done.load() < emitters || c < min_cycles; ++c) {
      t.attach("churn-" + std::to_string(c % 3), {Event::call_stop, Event::node_up},
               [&churn](Event, const Measurements&, const Metadata& md) {
                 if (md.function == "Kernel.+") churn.fetch_add(1, std::memory_order_relaxed);
               });
      t.detach("churn-" + std::to_string((c + 1) % 3));
      cycles.store(c + 1);
    }
  });
  go.store(true);
  for (auto& th : threads) th.join();
  churner.join();

  EXPECT_EQ(steady.load(), emitted.load()) << "every emit reached the handler that stayed";
  EXPECT_GE(emitted.load(), std::uint64_t{emitters} * per_thread);
  EXPECT_GE(cycles.load(), min_cycles);
  EXPECT_TRUE(t.wanted(Event::call_stop));
}

}  // namespace
