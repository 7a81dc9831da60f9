// Caller-side telemetry of every call, local or remote: counted in the node's
// metrics and emitted as call_start / call_stop / call_exception events.
// Two clock reads per call: the start (which a remote call also uses as its
// sent_at) and the end (for a reply, the time the connection read it).
#include "fly/node.hpp"

#include "node/call_telemetry.hpp"
#include "node/node_core.hpp"

namespace fly {

namespace {

// The outcome and message of a failed call, for metrics and events. The
// message points into the exception object, which `error` keeps alive.
Errc outcome_of(const std::exception_ptr& error, const char*& reason) noexcept {
  try {
    std::rethrow_exception(error);
  } catch (const Error& e) {
    reason = e.what();
    return e.code();
  } catch (const std::exception& e) {
    reason = e.what();
  } catch (...) {
  }
  return Errc::remote_error;
}

}  // namespace

std::chrono::steady_clock::time_point Node::record_call_start(const detail::Route& route,
                                                              std::string_view function) noexcept {
  auto& c = *core_;
  c.metrics.call_started();
  if (c.telemetry.wanted(telemetry::Event::call_start)) {
    telemetry::Metadata md;
    md.function = function;
    md.region = route.region;
    md.node = route.peer ? route.node : std::string_view();
    c.telemetry.emit(telemetry::Event::call_start, {}, md);
  }
  return std::chrono::steady_clock::now();
}

void Node::record_call_end(const detail::Route& route, std::string_view function,
                           std::chrono::steady_clock::time_point started, Errc outcome,
                           std::string_view reason,
                           std::chrono::steady_clock::time_point ended) noexcept {
  detail::record_call_end(*core_, route, function, started, ended, outcome, reason);
}

void Node::record_call_error(const detail::Route& route, std::string_view function,
                             std::chrono::steady_clock::time_point started,
                             const std::exception_ptr& error) noexcept {
  detail::record_call_error(*core_, route, function, started, {}, error);
}

namespace detail {

void record_call_end(NodeCore& c, const Route& route, std::string_view function,
                     std::chrono::steady_clock::time_point started,
                     std::chrono::steady_clock::time_point ended, Errc outcome,
                     std::string_view reason) noexcept {
  if (ended == std::chrono::steady_clock::time_point{}) ended = std::chrono::steady_clock::now();
  const auto latency = ended - started;
  c.metrics.call_finished(function, route.region, outcome, latency);
  const auto event =
      outcome == Errc::ok ? telemetry::Event::call_stop : telemetry::Event::call_exception;
  if (c.telemetry.wanted(event)) {
    telemetry::Metadata md;
    md.function = function;
    md.region = route.region;
    md.node = route.peer ? route.node : std::string_view();
    md.outcome = outcome;
    md.reason = reason;
    telemetry::Measurements m;
    m.duration = latency;
    c.telemetry.emit(event, m, md);
  }
}

void record_call_error(NodeCore& c, const Route& route, std::string_view function,
                       std::chrono::steady_clock::time_point started,
                       std::chrono::steady_clock::time_point ended,
                       const std::exception_ptr& error) noexcept {
  const char* reason = "";
  const Errc outcome = error ? outcome_of(error, reason) : Errc::ok;
  record_call_end(c, route, function, started, ended, outcome, reason);
}

}  // namespace detail

}  // namespace fly
