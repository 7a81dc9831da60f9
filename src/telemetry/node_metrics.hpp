// The built-in metrics of one node, and their Prometheus text rendering.
//
// The node's call path and cluster code call the recording functions below;
// the metrics endpoint calls render_prometheus(). Every function may be called
// from any thread. Costs (bench/micro/telemetry_bench.cpp):
//   - call_started, bytes_sent, bytes_received, reconnected: one relaxed
//     atomic add.
//   - call_finished, handler_finished: for a label set seen before, a lock-free
//     hash look-up (no allocation, no lock) and a few relaxed atomic adds. The
//     first time a label set is seen: a mutex and a few allocations.
//   - handshake_refused, set_nodes_per_region: a mutex (rare events).
//   - render_prometheus: allocates; runs once per scrape.
//
// Label values are bounded so that a hostile peer or a buggy caller cannot grow
// memory without bound: past Limits, new values are recorded as "other".
//
// Metric names follow Prometheus conventions (docs/TELEMETRY.md lists them).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>

#include "fly/errors.hpp"
// Same-directory includes, so that this header also compiles where only the
// public include/ is on the include path (bench/micro/telemetry_bench.cpp).
#include "histogram.hpp"
#include "series_table.hpp"

namespace fly::telemetry {

class NodeMetrics {
 public:
  /// Caps on distinct label values. Values past a cap, and values longer than
  /// max_label_bytes, are recorded under "other".
  struct Limits {
    std::size_t max_functions = 1000;     ///< distinct `function` values (caller and callee each)
    std::size_t max_regions = 100;        ///< distinct `region` values (Fly has ~35 regions)
    std::size_t max_call_series = 10000;  ///< distinct (function, region) pairs
    std::size_t max_reasons = 32;         ///< distinct handshake refusal reasons
    std::size_t max_label_bytes = 255;    ///< longer values are "other"
  };

  /// The label value that replaces values past a limit.
  static constexpr std::string_view other = "other";

  NodeMetrics();
  explicit NodeMetrics(Limits limits);
  NodeMetrics(const NodeMetrics&) = delete;
  NodeMetrics& operator=(const NodeMetrics&) = delete;
  ~NodeMetrics();

  // ---- caller side: every call, local or remote -------------------------
  /// A call began (flyrpc_calls_in_flight + 1). Pair every call_started with
  /// exactly one call_finished.
  void call_started() noexcept;
  /// A call ended: flyrpc_calls_in_flight - 1, flyrpc_calls_total{function,
  /// region,outcome} + 1, flyrpc_call_duration_seconds{function,region}
  /// observes `latency`. `region` is the target region (resolved: "syd", not
  /// "primary"). Never throws: if recording a new label set fails for lack of
  /// memory, the call is not counted.
  void call_finished(std::string_view function, std::string_view region, Errc outcome,
                     std::chrono::nanoseconds latency) noexcept;

  // ---- callee side -------------------------------------------------------
  /// An exposed function ran for a remote caller for `duration`
  /// (flyrpc_handler_duration_seconds{function}).
  void handler_finished(std::string_view function, std::chrono::nanoseconds duration) noexcept;

  // ---- connections and cluster -------------------------------------------
  /// Bytes written to / read from cluster connections (frames, handshakes).
  void bytes_sent(std::size_t n) noexcept;
  void bytes_received(std::size_t n) noexcept;
  /// A handshake was refused; `reason` is a short stable word such as
  /// "bad_cookie", "version", "duplicate_name" (flyrpc_handshakes_refused_total).
  void handshake_refused(std::string_view reason) noexcept;
  /// A dial to a lost peer was attempted again (flyrpc_reconnects_total).
  void reconnected() noexcept;
  /// The region table changed: number of nodes per region (flyrpc_nodes).
  /// Regions missing from `nodes` that were reported before are shown as 0.
  void set_nodes_per_region(const std::map<std::string, std::size_t>& nodes) noexcept;

  // ---- exposition ----------------------------------------------------------
  /// Every metric in the Prometheus text format 0.0.4, HELP and TYPE lines
  /// included, series in a stable order.
  std::string render_prometheus() const;

 private:
  struct CallSeries {
    std::array<std::atomic<std::uint64_t>, 16> outcomes{};  // indexed by Errc (clamped)
    LatencyHistogram latency;
    std::string labels;  // rendered: function="...",target_region="..."
  };
  struct HandlerSeries {
    LatencyHistogram duration;
    std::string labels;  // rendered: function="..."
  };

  CallSeries& call_series_slow(std::string_view function, std::string_view region);
  HandlerSeries& handler_series_slow(std::string_view function);
  // Label values admitted so far, looked up without building a std::string.
  struct ViewHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view v) const noexcept {
      return std::hash<std::string_view>{}(v);
    }
  };
  using ValueSet = std::unordered_set<std::string, ViewHash, std::equal_to<>>;
  // The value to record for `value`: itself if admitted (now or before), else
  // `other`. The view stays valid for the NodeMetrics' life (set elements are
  // never erased and do not move). Caller holds labels_mutex_.
  std::string_view bounded(ValueSet& seen, std::size_t cap, std::string_view value) const;

  const Limits limits_;

  alignas(64) std::atomic<std::int64_t> in_flight_{0};
  alignas(64) std::atomic<std::uint64_t> sent_bytes_{0};
  alignas(64) std::atomic<std::uint64_t> received_bytes_{0};
  alignas(64) std::atomic<std::uint64_t> reconnects_{0};

  SeriesTable<CallSeries> calls_;
  SeriesTable<HandlerSeries> handlers_;

  // Slow path only: which label values have been admitted.
  mutable std::mutex labels_mutex_;
  ValueSet caller_functions_;
  ValueSet callee_functions_;
  ValueSet call_regions_;

  mutable std::mutex rare_mutex_;  // handshake reasons and the node gauge
  std::map<std::string, std::uint64_t, std::less<>> refused_;
  std::map<std::string, std::size_t, std::less<>> nodes_;
};

}  // namespace fly::telemetry
