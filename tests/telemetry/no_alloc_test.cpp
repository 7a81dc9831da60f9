// The telemetry work done on every call does not allocate: emit (with and
// without handlers) and the metrics recording for label sets seen before,
// including values past the caps. Counted by support/alloc_counter.hpp, which
// replaces the global operator new in this test binary (this file is the one
// translation unit of telemetry_tests that includes it).
#include <gtest/gtest.h>

#include "fly/telemetry.hpp"
#include "support/alloc_counter.hpp"
#include "telemetry/node_metrics.hpp"

namespace {

using fly::Errc;
using fly::telemetry::Event;
using fly::telemetry::Measurements;
using fly::telemetry::Metadata;
using std::chrono::microseconds;

TEST(TelemetryHotPath, EmitDoesNotAllocate) {
  fly::telemetry::Telemetry t;
  Metadata md;
  md.function = "String.upcase";
  md.region = "syd";
  Measurements m;
  m.bytes_sent = 1;

  std::size_t before = flytest::allocations();
  for (int i = 0; i < 1000; ++i) t.emit(Event::call_stop, m, md);
  EXPECT_EQ(flytest::allocations() - before, 0u) << "no handler";

  std::uint64_t seen = 0;
  ASSERT_TRUE(
      t.attach("count", {Event::call_stop},
               [&seen](Event, const Measurements& mm, const Metadata&) { seen += mm.bytes_sent; }));
  before = flytest::allocations();
  for (int i = 0; i < 1000; ++i) t.emit(Event::call_stop, m, md);
  EXPECT_EQ(flytest::allocations() - before, 0u) << "one handler";
  EXPECT_EQ(seen, 1000u);
}

TEST(TelemetryHotPath, RecordingKnownLabelSetsDoesNotAllocate) {
  fly::telemetry::NodeMetrics::Limits limits;
  limits.max_functions = 2;
  fly::telemetry::NodeMetrics metrics(limits);
  const std::string known = "String.upcase";
  const std::string also_known = "Kernel.+";
  const std::string past_cap = "Random.name";  // recorded as "other"
  // First sightings allocate (series, label strings).
  for (const auto* f : {&known, &also_known, &past_cap}) {
    metrics.call_started();
    metrics.call_finished(*f, "syd", Errc::ok, microseconds(10));
    metrics.handler_finished(*f, microseconds(10));
  }

  const std::size_t before = flytest::allocations();
  for (int i = 0; i < 1000; ++i) {
    for (const auto* f : {&known, &also_known, &past_cap}) {
      metrics.call_started();
      metrics.call_finished(*f, "syd", i % 2 ? Errc::ok : Errc::timeout, microseconds(i));
      metrics.handler_finished(*f, microseconds(i));
    }
    metrics.bytes_sent(10);
    metrics.bytes_received(10);
    metrics.reconnected();
  }
  EXPECT_EQ(flytest::allocations() - before, 0u);
  EXPECT_NE(metrics.render_prometheus().find(
                R"(flyrpc_calls_total{function="other",target_region="syd",outcome="ok"} 501)"),
            std::string::npos);
}

}  // namespace
