// The telemetry work done on every call does not allocate: emit (with and
// without handlers) and the metrics recording for label sets seen before,
// including values past the caps. Counted by replacing the global operator
// new in this test binary (the replacement forwards to malloc, so sanitizers
// still see every allocation).
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "fly/telemetry.hpp"
#include "telemetry/node_metrics.hpp"

namespace {
std::atomic<std::size_t> g_allocations{0};
}  // namespace

// GCC sees free() on memory from operator new and warns, not knowing that
// this operator new is malloc.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
  return operator new(n);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}

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

  std::size_t before = g_allocations.load();
  for (int i = 0; i < 1000; ++i) t.emit(Event::call_stop, m, md);
  EXPECT_EQ(g_allocations.load() - before, 0u) << "no handler";

  std::uint64_t seen = 0;
  ASSERT_TRUE(
      t.attach("count", {Event::call_stop},
               [&seen](Event, const Measurements& mm, const Metadata&) { seen += mm.bytes_sent; }));
  before = g_allocations.load();
  for (int i = 0; i < 1000; ++i) t.emit(Event::call_stop, m, md);
  EXPECT_EQ(g_allocations.load() - before, 0u) << "one handler";
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

  const std::size_t before = g_allocations.load();
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
  EXPECT_EQ(g_allocations.load() - before, 0u);
  EXPECT_NE(metrics.render_prometheus().find(
                R"(flyrpc_calls_total{function="other",region="syd",outcome="ok"} 501)"),
            std::string::npos);
}

}  // namespace
