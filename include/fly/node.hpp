// fly::Node: one member of a flyrpc cluster. This header is its whole public
// surface: what it is made with (fly/node_options.hpp), what it exports, the
// calls, membership and telemetry.
//
//   fly::Node node(fly::NodeOptions::from_env());
//   node.expose("String.upcase", [](std::string s) { ...; return s; });
//   node.start();                                   // listen, discover, join
//   node.wait_for_region("syd", 10s);
//   auto up = node.rpc_region<std::string>("syd", "String.upcase", "fly");
//   auto p  = node.rpc_primary<std::string>("String.upcase", "fly");
//   auto r  = node.rpc_region<int>(fly::primary, "Kernel.+", 1, 2, fly::timeout(2s));
//   auto all = node.multicall_region<int>("syd", "Stats.count");
//   node.stop();                                    // drain, goodbye, close
//
//   #include <fly/async.hpp>                        // the async calls (Asio)
//   node.async_rpc_region<int>("syd", "Kernel.+", 1, 2, [](std::exception_ptr e, int r) {...});
//
// Every call ends exactly once: with its result, or by throwing (async: by
// delivering) one of the errors in fly/errors.hpp. Calls may be made from any
// number of threads at once.
//
// The call templates are defined in fly/detail/node_impl.hpp (included at the
// end of this file) and, for the async calls, fly/detail/async_impl.hpp
// (included by fly/async.hpp). Code that makes only blocking calls does not
// compile Asio.
#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <semaphore>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "fly/call_options.hpp"
#include "fly/detail/async_start.hpp"
#include "fly/detail/function_ref.hpp"
#include "fly/errors.hpp"
#include "fly/function.hpp"
#include "fly/membership.hpp"
#include "fly/node_options.hpp"
#include "fly/region.hpp"
#include "fly/telemetry.hpp"

namespace fly {

/// One node's outcome in a multicall: a value or an error, never both.
template <class R>
struct NodeResult {
  std::string node;
  std::conditional_t<std::is_void_v<R>, bool, std::optional<R>> value{};
  std::exception_ptr error;

  bool ok() const noexcept { return !error; }
  /// The value, or throws the node's error.
  decltype(auto) get() const {
    if (error) std::rethrow_exception(error);
    if constexpr (!std::is_void_v<R>) return *value;
  }
};

namespace net {
class Peer;  // a connected member: src/net
}  // namespace net
namespace detail {
class PendingCall;  // fly/detail/pending_call.hpp
struct NodeCore;    // everything a running node owns: src/node/node_core.hpp
struct NodeCalls;   // the blocking call templates: fly/detail/node_impl.hpp
struct NodeAsync;   // the async call templates: fly/detail/async_impl.hpp
}  // namespace detail

class Node {
 public:
  explicit Node(NodeOptions options);
  /// Stops the node if it is running.
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // ---- functions -----------------------------------------------------------

  /// Exports `fn` under `name` (see fly/function.hpp for what it may be).
  /// Allowed before or after start(); peers learn of changes at once.
  template <class F>
  void expose(std::string name, F&& fn, ExposeOptions options = {});
  /// Stops exporting `name`; false if it was not exported.
  bool unexpose(std::string_view name);

  // ---- life ----------------------------------------------------------------

  /// Listens, starts discovery and joins. Throws fly::ConfigError for bad
  /// options (naming the option) or an address it cannot listen on.
  void start();
  /// Refuses new calls, lets in-flight ones finish (up to drain_timeout),
  /// says goodbye (peers drop this node at once), closes. Idempotent.
  ///
  /// Bounded: at drain_timeout the calls still running are cancelled
  /// (fly::this_call::cancelled() turns true, as when a caller sends
  /// CANCEL; their callers get NodeDown when the node leaves) and get
  /// 500 ms more to return; stop() then returns within a few milliseconds
  /// of flushing the goodbyes (at most 2 s more if a peer's socket will not
  /// take them): drain_timeout + 2.5 s at worst, whatever the handlers do.
  ///
  /// NOTE: a handler that ignores cancellation for those 500 ms is
  /// abandoned: it runs on in its worker thread (never interrupted), its
  /// result is dropped, and neither stop() nor ~Node waits for it. The
  /// Node's internals it uses (its function, the registry, the dispatcher)
  /// stay allocated until it returns. REQUIRES: such a handler must not use
  /// the Node object itself (calls, name(), ...) once cancelled(), since
  /// the Node may already be destroyed; nor, if the process may exit,
  /// anything that exit() destroys. A non_blocking handler runs on an I/O
  /// thread and is never abandoned: it must not block (ExposeOptions).
  /// Local async calls (async_rpc_* to this node's own region) are not
  /// cancelled and stop() waits for them.
  /// REQUIRES: not called from a handler of this node (it would wait for
  /// itself until abandoned).
  void stop();

  /// Waits until at least `n` other visible nodes are connected. With lazy
  /// connections, "connected or known by gossip" (a call connects) here and
  /// in the two below.
  bool wait_for_nodes(std::size_t n, std::chrono::milliseconds timeout);
  /// Waits until the node named `name` is connected.
  bool wait_for_node(std::string_view name, std::chrono::milliseconds timeout);
  /// Waits until a visible node of `region` (other than this one) is connected.
  bool wait_for_region(std::string_view region, std::chrono::milliseconds timeout);

  // ---- identity and membership ---------------------------------------------

  const std::string& name() const noexcept;
  const std::string& region() const noexcept;
  const std::string& primary_region() const noexcept;
  bool is_primary() const noexcept;
  /// The port actually listened on (useful with port 0); 0 if not listening.
  std::uint16_t listen_port() const noexcept;

  /// Regions with at least one visible node, this node's included (sorted).
  std::vector<std::string> regions() const;
  /// Visible nodes, this one included (sorted by name). With lazy
  /// connections, also those known by gossip only (NodeInfo::connected false).
  std::vector<NodeInfo> nodes() const;
  /// Visible nodes of one region (this one included if it is there), as nodes().
  std::vector<NodeInfo> region_nodes(std::string_view region) const;
  /// Why the last dial or handshake failed ("" if none): e.g.
  /// "127.0.0.1:4370: refused by 127.0.0.1:4370: bad_cookie". For tools that
  /// must say why they could not join.
  std::string last_join_error() const;

  /// Calls `handler` on every node up/down, from an internal thread; keep it
  /// short. Returns an id for unsubscribe().
  std::uint64_t subscribe(std::function<void(const MembershipEvent&)> handler);
  void unsubscribe(std::uint64_t id);

  // ---- calls ---------------------------------------------------------------
  //
  // `R` is the result type (void for none); the arguments are any values
  // msgpack-cxx can carry (fly/function.hpp). A trailing fly::CallOptions
  // (e.g. fly::timeout(2s)) may follow the arguments.
  // REQUIRES (blocking calls): R is void, or default-constructible and
  // move-constructible: the result is decoded into an `R r;` and returned by
  // move (a static_assert says so).

  /// Runs `function` on a node of `region` and returns its result. When
  /// `region` is this node's own and this node exports the function, it runs
  /// right here in the calling thread: no encoding, no network. Otherwise a
  /// node of the region that exports it is chosen (CallOptions::prefer).
  template <class R, class... Args>
  R rpc_region(std::string_view region, std::string_view function, Args&&... args);
  /// rpc_region on the primary region: rpc_region<R>(fly::primary, ...).
  template <class R, class... Args>
  R rpc_region(primary_t, std::string_view function, Args&&... args);
  /// rpc_region(fly::primary, ...).
  template <class R, class... Args>
  R rpc_primary(std::string_view function, Args&&... args);
  /// Runs `function` on the node named `node` (this node runs it locally).
  template <class R, class... Args>
  R rpc(std::string_view node, std::string_view function, Args&&... args);

  /// Runs `function` on every visible node of `region` in parallel; one
  /// result per node, never an exception that loses the others' results.
  template <class R, class... Args>
  std::vector<NodeResult<R>> multicall_region(std::string_view region, std::string_view function,
                                              Args&&... args);
  /// multicall_region over every visible node of the cluster.
  template <class R, class... Args>
  std::vector<NodeResult<R>> multicall(std::string_view function, Args&&... args);

  // ---- async calls: defined in fly/async.hpp, include it to use ------------
  //
  // (Without it a call does not compile: "use of ... before deduction of
  // 'auto'".) The last argument is a completion token: a callable taking
  // (std::exception_ptr, R) — (std::exception_ptr) for void —,
  // asio::use_future, asio::use_awaitable, ... A fly::CallOptions may come
  // just before it. The arguments are encoded before the function returns,
  // so they may be temporaries. The handler runs on its associated executor,
  // by default an I/O thread of this node: keep it short. An async call to
  // this node's own region runs on the worker pool. Every outcome reaches the
  // handler, routing errors included (NoNodeInRegion, UnknownFunction,
  // NodeDown, BadArguments for arguments over the frame size): the
  // initiating function does not throw them, and never runs the handler
  // itself. The return value is what the token makes of it (void for a
  // callable, a std::future<R> for asio::use_future, ...).
  // REQUIRES: R is void or default-constructible: with an error the handler
  // gets R{} (a static_assert says so).

  /// The async rpc_region.
  template <class R, class... ArgsAndToken>
  auto async_rpc_region(std::string_view region, std::string_view function,
                        ArgsAndToken&&... args_and_token);
  /// The async rpc_primary.
  template <class R, class... ArgsAndToken>
  auto async_rpc_primary(std::string_view function, ArgsAndToken&&... args_and_token);
  /// The async rpc.
  template <class R, class... ArgsAndToken>
  auto async_rpc(std::string_view node, std::string_view function,
                 ArgsAndToken&&... args_and_token);
  /// The executor of this node's I/O threads, an asio::any_io_executor.
  auto executor() const;

  // ---- introspection and telemetry (docs/TELEMETRY.md) ---------------------

  /// The registry behind expose(); for introspection.
  FunctionRegistry& functions() noexcept;
  /// The node's event bus: attach handlers to call and cluster events.
  telemetry::Telemetry& telemetry() noexcept;
  /// The built-in metrics in the Prometheus text format, as /metrics serves
  /// them; available whether or not an endpoint is configured. Allocates.
  std::string metrics_text() const;
  /// "HOST:PORT" the metrics endpoint listens on (the actual port when
  /// configured with port 0); "" when there is no endpoint or before start().
  std::string metrics_endpoint() const;

 private:
  // The non-template half of the calls (src/node: routing.cpp, remote_call.cpp,
  // call_telemetry.cpp); the templates (the friends) bracket them with the
  // typed work: encoding, decoding.
  friend struct detail::NodeCalls;
  friend struct detail::NodeAsync;

  /// The node a call to `function` in `region` goes to: this node when it is
  /// in `region` and exports `function`, else one chosen per `prefer`
  /// (src/cluster/route_choice.hpp), its connection pinned in Route::keep.
  /// With lazy connections, a region with no connected node that exports
  /// `function` is connected to first (bounded by the call's timeout).
  detail::Route route_region(std::string_view region, std::string_view function,
                             const CallOptions& options) const;
  detail::Route route_node(std::string_view node, std::string_view function,
                           const CallOptions& options) const;
  /// Routes to every visible node of `region` ("" = all), no function filter.
  std::vector<detail::Route> members_of(std::string_view region, const CallOptions& options) const;

  std::chrono::milliseconds effective_timeout(const CallOptions& options) const noexcept;
  /// Caller-side telemetry. record_call_start counts the call in flight,
  /// emits call_start and returns the start time; exactly one
  /// record_call_end or record_call_error must follow. Cost without handlers:
  /// two clock reads and the NodeMetrics fast path (~20 ns). noexcept.
  /// `ended`: when the call ended if already known (the reply's arrival), {}: now.
  std::chrono::steady_clock::time_point record_call_start(const detail::Route& route,
                                                          std::string_view function) noexcept;
  void record_call_end(const detail::Route& route, std::string_view function,
                       std::chrono::steady_clock::time_point started, Errc outcome,
                       std::string_view reason = {},
                       std::chrono::steady_clock::time_point ended = {}) noexcept;
  /// record_call_end with the outcome and reason of `error` (a fly::Error's
  /// code() and what(); any other exception counts as remote_error).
  void record_call_error(const detail::Route& route, std::string_view function,
                         std::chrono::steady_clock::time_point started,
                         const std::exception_ptr& error) noexcept;
  /// Registers `pending` with the peer and sends the CALL. If the peer is
  /// gone, `pending` is failed with node_down (no throw).
  void send_call(net::Peer& peer, detail::PendingCall& pending, std::string_view function,
                 std::chrono::milliseconds timeout,
                 detail::FunctionRef<void(detail::Buffer&)> encode_args);
  /// Waits for a blocking call's completion until `deadline` (false: timed
  /// out). The caller may read the connection itself meanwhile
  /// (Peer::await_reply): no thread hop between the REPLY and the caller.
  static bool await_reply(net::Peer& peer, std::binary_semaphore& done,
                          std::chrono::steady_clock::time_point deadline);
  /// After a timeout: takes `pending` back; true if it was still waiting (a
  /// CANCEL is sent), false if a completion is under way.
  bool withdraw_call(net::Peer& peer, detail::PendingCall& pending, std::string_view function,
                     std::chrono::milliseconds timeout);
  /// Starts an async call (local: on the worker pool; remote: sent, its
  /// deadline watched by the connection); `done` runs exactly once, on the
  /// thread that completes it.
  void start_async(detail::AsyncStart start, detail::AsyncDone done);
  void functions_changed();

  std::unique_ptr<detail::NodeCore> core_;
};

}  // namespace fly

#include "fly/detail/node_impl.hpp"  // IWYU pragma: export
