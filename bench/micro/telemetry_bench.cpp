// Telemetry costs on the call path: emit() with no handler (the common case:
// it must be about one relaxed load), emit() with one handler, and the
// built-in metrics' per-call recording (NodeMetrics::call_finished).
#include <benchmark/benchmark.h>

#include <atomic>
#include <string>
#include <vector>

#include "fly/telemetry.hpp"
// The metrics facade is internal to the library (src/); this bench reaches it
// by path because the bench target only has the public include/ directory.
#include "../../src/telemetry/node_metrics.hpp"

namespace {

using fly::telemetry::Event;
using fly::telemetry::Measurements;
using fly::telemetry::Metadata;
using fly::telemetry::Telemetry;

Metadata call_metadata() {
  Metadata md;
  md.function = "String.upcase";
  md.region = "syd";
  md.node = "b@syd";
  return md;
}

void BM_EmitNoHandler(benchmark::State& state) {
  static Telemetry t;  // shared by the benchmark's threads
  const Metadata md = call_metadata();
  Measurements m;
  m.bytes_sent = 40;
  for (auto _ : state) {
    t.emit(Event::call_stop, m, md);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_EmitNoHandler)->Threads(1)->Threads(2);

// A handler on another event: call_stop still costs the no-handler path.
void BM_EmitHandlerOnOtherEvent(benchmark::State& state) {
  Telemetry t;
  t.attach("up", {Event::node_up}, [](Event, const Measurements&, const Metadata&) {});
  const Metadata md = call_metadata();
  const Measurements m;
  for (auto _ : state) {
    t.emit(Event::call_stop, m, md);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_EmitHandlerOnOtherEvent);

std::atomic<std::uint64_t> handled{0};

Telemetry& one_handler_bus() {
  static Telemetry t;
  static const bool attached =
      t.attach("count", {Event::call_stop}, [](Event, const Measurements& m, const Metadata&) {
        handled.fetch_add(m.bytes_sent, std::memory_order_relaxed);
      });
  (void)attached;
  return t;
}

void BM_EmitOneHandler(benchmark::State& state) {
  Telemetry& t = one_handler_bus();
  const Metadata md = call_metadata();
  Measurements m;
  m.bytes_sent = 1;
  for (auto _ : state) t.emit(Event::call_stop, m, md);
  benchmark::DoNotOptimize(handled.load());
}
BENCHMARK(BM_EmitOneHandler)->Threads(1)->Threads(2);

fly::telemetry::NodeMetrics& shared_metrics() {
  static fly::telemetry::NodeMetrics m;
  return m;
}

// The per-call metrics cost once the label set is known: lock-free look-up,
// counter and histogram increments.
void BM_CallFinishedKnownLabels(benchmark::State& state) {
  auto& m = shared_metrics();
  const std::string function = "String.upcase";
  const std::string region = "syd";
  m.call_started();
  m.call_finished(function, region, fly::Errc::ok, std::chrono::microseconds(300));
  for (auto _ : state) {
    m.call_started();
    m.call_finished(function, region, fly::Errc::ok, std::chrono::microseconds(300));
  }
}
BENCHMARK(BM_CallFinishedKnownLabels)->Threads(1)->Threads(2);

// 1000 known label sets, visited in turn: look-ups that miss the cache.
void BM_CallFinishedManyLabelSets(benchmark::State& state) {
  fly::telemetry::NodeMetrics m;
  std::vector<std::string> functions;
  for (int i = 0; i < 1000; ++i) functions.push_back("Module.function_" + std::to_string(i));
  for (const auto& f : functions) {
    m.call_started();
    m.call_finished(f, "syd", fly::Errc::ok, std::chrono::microseconds(300));
  }
  std::size_t i = 0;
  for (auto _ : state) {
    m.call_started();
    m.call_finished(functions[i], "syd", fly::Errc::ok, std::chrono::microseconds(300));
    i = (i + 1) % functions.size();
  }
}
BENCHMARK(BM_CallFinishedManyLabelSets);

void BM_BytesSent(benchmark::State& state) {
  auto& m = shared_metrics();
  for (auto _ : state) m.bytes_sent(64);
}
BENCHMARK(BM_BytesSent)->Threads(1)->Threads(2);

// One scrape of 100 call series (20 functions x 5 regions).
void BM_RenderPrometheus(benchmark::State& state) {
  fly::telemetry::NodeMetrics m;
  for (int f = 0; f < 20; ++f) {
    for (const char* r : {"syd", "lax", "hkg", "ams", "gru"}) {
      m.call_started();
      m.call_finished("Module.f" + std::to_string(f), r, fly::Errc::ok,
                      std::chrono::milliseconds(2));
    }
  }
  for (auto _ : state) benchmark::DoNotOptimize(m.render_prometheus());
}
BENCHMARK(BM_RenderPrometheus);

}  // namespace
