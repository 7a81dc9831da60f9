// Telemetry events, in the spirit of Elixir's :telemetry.
//
// A node emits an event at the start and end of every call and whenever the
// cluster changes; the application attaches handlers to the events it cares
// about (to log, trace or feed its own metrics). The built-in Prometheus
// metrics do not depend on handlers: they are always counted.
//
//   fly::telemetry::Telemetry& t = node.telemetry();
//   t.attach("log-slow-calls", {fly::telemetry::Event::call_stop},
//            [](fly::telemetry::Event, const fly::telemetry::Measurements& m,
//               const fly::telemetry::Metadata& md) {
//              if (m.duration > 100ms) spdlog::warn("slow call {}", md.function);
//            });
//
// Threads: attach, detach and emit may be called from any thread at any time.
// Handlers run synchronously in the emitting thread (an I/O thread, a worker or
// the caller), so they must be quick and must not block.
//
// Cost: when no handler is attached to an event, emit() is one relaxed atomic
// load and a branch, inlined here (docs/TELEMETRY.md has the measured figure).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fly/errors.hpp"

namespace fly::telemetry {

/// Every event a node emits. Stable: handlers switch on it.
enum class Event : std::uint8_t {
  call_start,          ///< a call begins (caller side); metadata: function, region
  call_stop,           ///< a call ended with a result (outcome ok); duration, bytes
  call_exception,      ///< a call ended with an error; outcome says which, reason the message
  node_up,             ///< a peer completed the handshake; node, region, peer
  node_down,           ///< a peer left or died; node, region, reason
  connection_refused,  ///< a handshake was refused; reason, peer (address)
  reconnect,           ///< a dial to a lost peer is attempted again; peer, attempt
};

/// Number of events (for tables indexed by Event).
inline constexpr std::size_t event_count = 7;

/// The event's dotted name, as :telemetry would spell [:flyrpc, :call, :stop]:
/// "flyrpc.call.start", "flyrpc.call.stop", "flyrpc.call.exception",
/// "flyrpc.node.up", "flyrpc.node.down", "flyrpc.connection.refused",
/// "flyrpc.reconnect".
const char* to_string(Event event) noexcept;

/// Numbers measured for an event. Fields an event does not measure are zero.
struct Measurements {
  /// call_stop, call_exception: time from the call's start to its end.
  std::chrono::nanoseconds duration{0};
  /// call_stop, call_exception: encoded bytes of the request / of the reply
  /// (0 for a call short-circuited to this node, which encodes nothing).
  std::uint64_t bytes_sent = 0;
  std::uint64_t bytes_received = 0;
};

/// What an event is about. Fields an event does not describe are empty.
///
/// Lifetime: the string_views point into the emitter's buffers and are valid
/// ONLY during the handler call. A handler that keeps anything must copy it
/// (std::string(md.function)).
struct Metadata {
  std::string_view function;  ///< call_*: the function's name, e.g. "String.upcase"
  std::string_view region;    ///< call_*: the target region; node_*: the peer's region
  std::string_view node;      ///< call_*: the node that ran it ("" = this node); node_*: the peer
  Errc outcome = Errc::ok;    ///< call_stop: ok; call_exception: the error class
  std::string_view reason;    ///< call_exception: error message; node_down, connection_refused
  std::string_view peer;      ///< connection_refused, reconnect, node_up: "address:port"
  std::uint32_t attempt = 0;  ///< reconnect: 1 for the first retry, then 2, 3, ...

  /// The outcome's stable name ("ok", "timeout", "node_down", ...).
  const char* outcome_name() const noexcept { return fly::to_string(outcome); }
};

/// A handler. Runs in the emitting thread; see Telemetry for what happens when
/// it throws.
using Handler = std::function<void(Event, const Measurements&, const Metadata&)>;

/// The event bus of one node.
class Telemetry {
 public:
  Telemetry();
  ~Telemetry();
  Telemetry(const Telemetry&) = delete;
  Telemetry& operator=(const Telemetry&) = delete;

  /// Attaches `handler` under `name` to `events`. Returns false (and attaches
  /// nothing) if a handler of that name is already attached. An empty event
  /// list or an empty handler is a std::invalid_argument. Takes a mutex and
  /// allocates: attach at set-up, not per call.
  bool attach(std::string name, std::initializer_list<Event> events, Handler handler);
  bool attach(std::string name, std::span<const Event> events, Handler handler);

  /// Detaches the handler `name`; false if none is attached. Emits that
  /// started before detach may still be running the handler on other threads
  /// when detach returns (the handler and what it captures stay alive until
  /// they finish); emits that start after detach returns do not call it.
  /// May be called from inside a handler.
  bool detach(std::string_view name);

  /// Names of the attached handlers, sorted.
  std::vector<std::string> handlers() const;

  /// True when at least one handler is attached to `event`: one relaxed load.
  /// Emitters that must compute measurements can check this first.
  bool wanted(Event event) const noexcept {
    return (mask_.load(std::memory_order_relaxed) >> static_cast<unsigned>(event)) & 1U;
  }

  /// Calls every handler attached to `event`, in attach order, in this thread.
  /// With no handler attached this is wanted() and a return. A handler that
  /// throws is detached and logged (as :telemetry does); the exception never
  /// reaches the emitter, and later handlers still run. noexcept.
  void emit(Event event, const Measurements& measurements, const Metadata& metadata) noexcept {
    if (!wanted(event)) return;
    dispatch(event, measurements, metadata);
  }

 private:
  struct State;
  void dispatch(Event event, const Measurements& measurements, const Metadata& metadata) noexcept;
  void detach_failed(const void* entry, Event event, const char* what) noexcept;

  std::atomic<std::uint32_t> mask_{0};  // bit e set <=> some handler wants Event e
  std::unique_ptr<State> state_;
};

}  // namespace fly::telemetry
