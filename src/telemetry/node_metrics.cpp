// Recording is atomics on series found lock-free (series_table.hpp); the
// slow path admits new label values under a mutex and pre-renders the
// series' labels, so that rendering a scrape only formats numbers.
#include "telemetry/node_metrics.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "telemetry/exposition.hpp"

namespace fly::telemetry {

namespace {

constexpr std::size_t outcome_slots = 16;

std::size_t outcome_index(Errc e) noexcept {
  return std::min<std::size_t>(static_cast<std::size_t>(e), outcome_slots - 1);
}

// `name="value"` with the value made valid UTF-8 and escaped.
void append_label(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out += "=\"";
  append_label_value(out, valid_utf8(value));
  out += '"';
}

void append_counter_line(std::string& out, std::string_view name, std::string_view labels,
                         std::uint64_t value) {
  out += name;
  if (!labels.empty()) {
    out += '{';
    out += labels;
    out += '}';
  }
  fmt::format_to(std::back_inserter(out), " {}\n", value);
}

// A family of one sample without labels.
void append_single(std::string& out, std::string_view name, std::string_view help,
                   std::string_view type, std::uint64_t value) {
  append_family_header(out, name, help, type);
  append_counter_line(out, name, {}, value);
}

// A family of one sample per key of `counts` (a map), labelled `label="key"`.
template <class Map>
void append_by_label(std::string& out, std::string_view name, std::string_view help,
                     std::string_view type, std::string_view label, const Map& counts) {
  append_family_header(out, name, help, type);
  for (const auto& [key, count] : counts) {
    std::string labels;
    append_label(labels, label, key);
    append_counter_line(out, name, labels, count);
  }
}

template <class Node>
std::vector<const Node*> sorted_nodes(std::vector<const Node*> nodes) {
  std::sort(nodes.begin(), nodes.end(), [](const Node* a, const Node* b) {
    return std::tie(a->first, a->second) < std::tie(b->first, b->second);
  });
  return nodes;
}

}  // namespace

NodeMetrics::NodeMetrics() : NodeMetrics(Limits{}) {}
NodeMetrics::NodeMetrics(Limits limits) : limits_(limits) {}
NodeMetrics::~NodeMetrics() = default;

void NodeMetrics::call_started() noexcept {
  in_flight_.fetch_add(1, std::memory_order_relaxed);
}

void NodeMetrics::call_finished(std::string_view function, std::string_view region, Errc outcome,
                                std::chrono::nanoseconds latency) noexcept {
  in_flight_.fetch_sub(1, std::memory_order_relaxed);
  CallSeries* s = calls_.find(function, region);
  if (s == nullptr) {
    try {
      s = &call_series_slow(function, region);
    } catch (...) {
      return;  // out of memory: lose one sample rather than fail the call
    }
  }
  s->outcomes[outcome_index(outcome)].fetch_add(1, std::memory_order_relaxed);
  s->latency.observe(latency);
}

void NodeMetrics::handler_finished(std::string_view function,
                                   std::chrono::nanoseconds duration) noexcept {
  HandlerSeries* s = handlers_.find(function, {});
  if (s == nullptr) {
    try {
      s = &handler_series_slow(function);
    } catch (...) {
      return;
    }
  }
  s->duration.observe(duration);
}

std::string_view NodeMetrics::bounded(ValueSet& seen, std::size_t cap,
                                      std::string_view value) const {
  if (value.size() > limits_.max_label_bytes) return other;
  if (auto it = seen.find(value); it != seen.end()) return *it;
  if (seen.size() >= cap) return other;
  return *seen.emplace(value).first;
}

// Past the caps, a call whose values are not admitted lands here every time:
// two short mutex sections and look-ups, but no allocation.
NodeMetrics::CallSeries& NodeMetrics::call_series_slow(std::string_view function,
                                                       std::string_view region) {
  std::string_view f;
  std::string_view r;
  {
    std::lock_guard lock(labels_mutex_);
    f = bounded(caller_functions_, limits_.max_functions, function);
    r = bounded(call_regions_, limits_.max_regions, region);
  }
  if (CallSeries* s = calls_.find(f, r)) return *s;
  // Past max_call_series every new pair shares ("other", "other"), the one
  // series admitted beyond the limit. Two threads racing here may each add a
  // pair: the limit can be passed by the number of threads, no more.
  if (calls_.size() >= limits_.max_call_series) {
    f = other;
    r = other;
  }
  return calls_.insert(f, r, [&](CallSeries& s) {
    append_label(s.labels, "function", f);
    s.labels += ',';
    append_label(s.labels, "target_region", r);
  });
}

NodeMetrics::HandlerSeries& NodeMetrics::handler_series_slow(std::string_view function) {
  std::string_view f;
  {
    std::lock_guard lock(labels_mutex_);
    f = bounded(callee_functions_, limits_.max_functions, function);
  }
  return handlers_.insert(f, {}, [&](HandlerSeries& s) { append_label(s.labels, "function", f); });
}

void NodeMetrics::bytes_sent(std::size_t n) noexcept {
  sent_bytes_.fetch_add(n, std::memory_order_relaxed);
}

void NodeMetrics::bytes_received(std::size_t n) noexcept {
  received_bytes_.fetch_add(n, std::memory_order_relaxed);
}

void NodeMetrics::reconnected() noexcept {
  reconnects_.fetch_add(1, std::memory_order_relaxed);
}

void NodeMetrics::handshake_refused(std::string_view reason) noexcept {
  try {
    std::lock_guard lock(rare_mutex_);
    std::string_view key = reason.size() > limits_.max_label_bytes ? other : reason;
    auto it = refused_.find(key);
    if (it == refused_.end()) {
      if (refused_.size() >= limits_.max_reasons) key = other;
      it = refused_.try_emplace(std::string(key), 0).first;
    }
    ++it->second;
  } catch (...) {
    // Out of memory: one refusal goes uncounted.
  }
}

void NodeMetrics::set_nodes_per_region(const std::map<std::string, std::size_t>& nodes) noexcept {
  try {
    std::lock_guard lock(rare_mutex_);
    for (auto& [region, count] : nodes_) count = 0;
    for (const auto& [region, count] : nodes) {
      std::string_view key = region.size() > limits_.max_label_bytes ? other : region;
      auto it = nodes_.find(key);
      if (it == nodes_.end()) {
        if (nodes_.size() >= limits_.max_regions) key = other;
        it = nodes_.try_emplace(std::string(key), 0).first;
      }
      it->second += count;
    }
  } catch (...) {
    // Out of memory: the gauge keeps its previous values.
  }
}

std::string NodeMetrics::render_prometheus() const {
  std::string out;
  out.reserve(4096);

  std::vector<const SeriesTable<CallSeries>::Node*> calls;
  calls_.for_each([&](const auto& n) { calls.push_back(&n); });
  calls = sorted_nodes(std::move(calls));
  std::vector<const SeriesTable<HandlerSeries>::Node*> handlers;
  handlers_.for_each([&](const auto& n) { handlers.push_back(&n); });
  handlers = sorted_nodes(std::move(handlers));

  append_family_header(out, "flyrpc_calls_total",
                       "Calls made by this node, by function, target region and outcome.",
                       "counter");
  for (const auto* n : calls) {
    for (std::size_t i = 0; i < outcome_slots; ++i) {
      const std::uint64_t v = n->series.outcomes[i].load(std::memory_order_relaxed);
      if (v == 0) continue;
      std::string labels = n->series.labels;
      labels += ",outcome=\"";
      labels += fly::to_string(static_cast<Errc>(i));
      labels += '"';
      append_counter_line(out, "flyrpc_calls_total", labels, v);
    }
  }

  append_family_header(out, "flyrpc_call_duration_seconds",
                       "Time from the start of a call to its result or error (caller side).",
                       "histogram");
  for (const auto* n : calls) {
    n->series.latency.render(out, "flyrpc_call_duration_seconds", n->series.labels);
  }

  append_family_header(out, "flyrpc_calls_in_flight",
                       "Calls started by this node that have not finished.", "gauge");
  fmt::format_to(std::back_inserter(out), "flyrpc_calls_in_flight {}\n",
                 in_flight_.load(std::memory_order_relaxed));

  append_family_header(out, "flyrpc_handler_duration_seconds",
                       "Time spent running exposed functions for remote callers (callee side).",
                       "histogram");
  for (const auto* n : handlers) {
    n->series.duration.render(out, "flyrpc_handler_duration_seconds", n->series.labels);
  }

  {
    std::lock_guard lock(rare_mutex_);
    append_by_label(out, "flyrpc_nodes", "Nodes in the region table, by region.", "gauge",
                    "peer_region", nodes_);
  }
  append_single(out, "flyrpc_sent_bytes_total", "Bytes written to cluster connections.", "counter",
                sent_bytes_.load(std::memory_order_relaxed));
  append_single(out, "flyrpc_received_bytes_total", "Bytes read from cluster connections.",
                "counter", received_bytes_.load(std::memory_order_relaxed));
  {
    std::lock_guard lock(rare_mutex_);
    append_by_label(out, "flyrpc_handshakes_refused_total",
                    "Cluster handshakes refused, by reason.", "counter", "reason", refused_);
  }
  append_single(out, "flyrpc_reconnects_total", "Attempts to reconnect to lost peers.", "counter",
                reconnects_.load(std::memory_order_relaxed));
  return out;
}

}  // namespace fly::telemetry
