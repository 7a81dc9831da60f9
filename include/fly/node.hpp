// fly::Node: one member of a flyrpc cluster.
//
//   fly::Node node(fly::NodeOptions::from_env());
//   node.expose("String.upcase", [](std::string s) { ...; return s; });
//   node.start();                                   // listen, discover, join
//   node.wait_for_region("syd", 10s);
//   auto up = node.rpc_region<std::string>("syd", "String.upcase", "fly");
//   auto p  = node.rpc_primary<std::string>("String.upcase", "fly");
//   auto r  = node.rpc_region<int>(fly::primary, "Kernel.+", 1, 2, fly::timeout(2s));
//   node.async_rpc_region<int>("syd", "Kernel.+", 1, 2, [](std::exception_ptr e, int r) {...});
//   auto all = node.multicall_region<int>("syd", "Stats.count");
//   node.stop();                                    // drain, goodbye, close
//
// Every call ends exactly once: with its result, or by throwing (async: by
// delivering) one of the errors in fly/errors.hpp. Calls may be made from any
// number of threads at once.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/dispatch.hpp>
#include <asio/post.hpp>

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <semaphore>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "fly/call_options.hpp"
#include "fly/detail/function_ref.hpp"
#include "fly/detail/pending_call.hpp"
#include "fly/detail/unique_function.hpp"
#include "fly/errors.hpp"
#include "fly/function.hpp"
#include "fly/membership.hpp"
#include "fly/region.hpp"
#include "fly/telemetry.hpp"

namespace spdlog {
class logger;  // only an application that hands flyrpc its own logger includes spdlog
}

namespace fly {

/// TLS 1.3 between nodes (README "TLS"), for networks that are not already
/// encrypted (Fly's private network is: WireGuard). Off by default. On when
/// certificate_file is set (or, for a hidden node that does not listen, when
/// only ca_file is: it then dials without a certificate of its own). Every
/// node of a cluster must agree: a TLS node and a plaintext one cannot talk.
/// Each side checks the other's certificate chain against ca_file, with no
/// host name check (nodes are dialled by IP); the cookie handshake still
/// runs inside TLS. Files are PEM and read once, at Node construction.
struct TlsOptions {
  /// This node's certificate (leaf first, then any intermediates). Default:
  /// FLY_RPC_TLS_CERT, else "" (TLS off).
  std::string certificate_file;
  /// Its private key, not encrypted. Required with certificate_file.
  /// Default: FLY_RPC_TLS_KEY, else "".
  std::string private_key_file;
  /// The CA certificate(s) every peer's certificate must chain to. Required
  /// when TLS is on. Default: FLY_RPC_TLS_CA, else "".
  std::string ca_file;
  /// Mutual TLS: refuse connecting peers that present no certificate (a
  /// certificate that is presented is always verified). Default false
  /// (FLY_RPC_TLS_MUTUAL=1 turns it on).
  bool require_client_certificate = false;

  bool enabled() const noexcept { return !certificate_file.empty() || !ca_file.empty(); }
};

/// Everything a node needs; every field says its default. from_env() fills
/// them from the environment (docs: README "Environment").
struct NodeOptions {
  /// Unique name in the cluster. Default: FLY_MACHINE_ID, else "<host>-<pid>".
  std::string name;
  /// This node's region. Default: FLY_REGION, else MY_REGION, else "local".
  std::string region = "local";
  /// The primary region. Default: PRIMARY_REGION, else "local".
  std::string primary_region = "local";
  /// Address to listen on (IPv4 or IPv6 literal; "::" or "0.0.0.0" for all).
  /// Default: FLY_PRIVATE_IP when set, else "127.0.0.1". Empty: do not listen
  /// (allowed only for hidden nodes).
  std::string listen_host = "127.0.0.1";
  /// Cluster port, the same on every node. Default 4370 (FLY_RPC_PORT).
  /// 0 picks a free port (tests); see Node::listen_port().
  std::uint16_t port = 4370;
  /// Address peers should dial, "host:port". Default: empty, meaning the
  /// listen address (or, when listening on a wildcard, the local address of
  /// each connection).
  std::string advertise_address;
  /// The shared secret every node of the cluster must have. Default:
  /// FLY_RPC_COOKIE, else the contents of ~/.flyrpc.cookie (created with a
  /// random secret on first use, like ~/.erlang.cookie). Never sent on the wire.
  std::string cookie;
  /// Hidden nodes (tools, shells) connect and can call, but appear in no
  /// region table and are never routed to. Default false.
  bool hidden = false;
  /// Static peers, "host:port" each ([v6]:port for IPv6). Default: FLY_RPC_SEEDS.
  std::vector<std::string> seeds;
  /// DNS discovery: a name whose AAAA/A records are the cluster's nodes,
  /// dialled at `port`. Default: FLY_RPC_DNS_NAME, else "<FLY_APP_NAME>.internal"
  /// when FLY_APP_NAME is set, else none.
  std::string dns_name;
  /// DNS resolver "host[:port]". Default: FLY_RPC_DNS_SERVER, else the system's.
  std::string dns_server;
  /// Between DNS polls. Default 5 s.
  std::chrono::milliseconds dns_poll_interval{5000};
  /// Send a PING when nothing was sent for this long. Default 1 s.
  std::chrono::milliseconds heartbeat_interval{1000};
  /// Declare a peer down when nothing was received for this long. Default 4 s.
  std::chrono::milliseconds heartbeat_timeout{4000};
  /// A connection must authenticate within this. Also the connect timeout. Default 5 s.
  std::chrono::milliseconds handshake_timeout{5000};
  /// Reconnect back-off: first delay, and the cap (with ±25% jitter). Defaults 100 ms, 5 s.
  std::chrono::milliseconds reconnect_min{100};
  std::chrono::milliseconds reconnect_max{5000};
  /// Largest frame accepted or sent, bytes: what a frame's length field
  /// counts (docs/PROTOCOL.md), i.e. a result of n encoded bytes needs
  /// n + 10, arguments need their encoding + 14 + the function name's
  /// length. Over it: BadArguments (caller) or RemoteError "fly::FrameTooLarge"
  /// (result), both giving the sizes. Default 16 MiB.
  std::size_t max_frame_size = 16 * 1024 * 1024;
  /// Connections allowed to be mid-handshake at once; more are refused. Default 64.
  std::size_t max_pending_handshakes = 64;
  /// Default timeout of a call. Default 5 s (as Fly RPC).
  std::chrono::milliseconds call_timeout{5000};
  /// On stop(), how long in-flight handlers may take to finish. Default 5 s.
  std::chrono::milliseconds drain_timeout{5000};
  /// Threads running the network. Default 1.
  unsigned io_threads = 1;
  /// Threads running exposed functions. Default 4.
  unsigned worker_threads = 4;
  /// Log one line per SEND, RESP and TIMEOUT (Fly RPC's verbose_logging;
  /// TIMEOUT at warning level). Default false (FLY_RPC_VERBOSE: 1/true/yes
  /// on, 0/false/no off, anything else an error).
  bool verbose_logging = false;
  /// The spdlog logger flyrpc logs to. Process-wide (the library has one
  /// logger): the Node constructor installs it, and it stays for every node
  /// until another is installed. Default: null, meaning flyrpc's own logger
  /// "flyrpc" on stderr (never stdout), at FLY_RPC_LOG_LEVEL, else the level
  /// SPDLOG_LEVEL gives it, else info. To use a sink of the application's:
  /// std::make_shared<spdlog::logger>("flyrpc", sink).
  std::shared_ptr<spdlog::logger> logger;
  /// Serve the Prometheus metrics at http://HOST:PORT/metrics, "HOST:PORT"
  /// as telemetry::parse_metrics_address reads it ("0.0.0.0:9091",
  /// "[::]:9091"; port 0 picks a free one). Default: FLY_RPC_METRICS (empty
  /// counts as unset), else "" (no endpoint; the metrics are still counted,
  /// see Node::metrics_text). docs/TELEMETRY.md.
  std::string metrics_address;
  /// TLS between nodes (see TlsOptions). Default: off; FLY_RPC_TLS_*.
  TlsOptions tls;

  /// Reads the environment (README "Environment"). Throws fly::ConfigError
  /// naming the variable for a malformed value.
  static NodeOptions from_env();
};

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

namespace detail {
class Peer;  // a connected member: src/net
struct NodeCore;
/// Where a call goes: run here (`local`), or on `peer`.
struct Route {
  const FunctionEntry* local = nullptr;
  Peer* peer = nullptr;              ///< kept alive by `keep`
  std::shared_ptr<const void> keep;  ///< owns the chosen member while the call runs
  std::string_view node;             ///< the chosen node's name; lives as long as `keep`/the Node
  std::string_view region;           ///< the chosen node's region (metrics); same lifetime
};
template <class T>
struct is_call_options : std::is_same<std::remove_cvref_t<T>, CallOptions> {};
template <class... T>
struct last_is_options : std::false_type {};
template <class T>
struct last_is_options<T> : is_call_options<T> {};
template <class T, class U, class... Rest>
struct last_is_options<T, U, Rest...> : last_is_options<U, Rest...> {};
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
  void expose(std::string name, F&& fn, ExposeOptions options = {}) {
    functions().expose(std::move(name), std::forward<F>(fn), options);
    functions_changed();
  }
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

  /// Waits until at least `n` other visible nodes are connected.
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
  /// Visible nodes, this one included (sorted by name).
  std::vector<NodeInfo> nodes() const;
  /// Visible nodes of one region (this one included if it is there).
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

  /// Runs `function` on a node of `region` and returns its result. When
  /// `region` is this node's own and this node exports the function, it runs
  /// right here in the calling thread: no encoding, no network. Otherwise a
  /// node of the region that exports it is chosen (CallOptions::prefer).
  /// A trailing fly::CallOptions (e.g. fly::timeout(2s)) may follow the args.
  template <class R, class... Args>
  R rpc_region(std::string_view region, std::string_view function, Args&&... args) {
    return with_options(
        [&](const CallOptions& o, auto&&... a) {
          return call<R>(route_region(region, function, o.prefer), function, o, a...);
        },
        std::forward<Args>(args)...);
  }
  template <class R, class... Args>
  R rpc_region(primary_t, std::string_view function, Args&&... args) {
    return rpc_region<R>(primary_region(), function, std::forward<Args>(args)...);
  }
  /// rpc_region(fly::primary, ...).
  template <class R, class... Args>
  R rpc_primary(std::string_view function, Args&&... args) {
    return rpc_region<R>(primary_region(), function, std::forward<Args>(args)...);
  }
  /// Runs `function` on the node named `node` (this node runs it locally).
  template <class R, class... Args>
  R rpc(std::string_view node, std::string_view function, Args&&... args) {
    return with_options(
        [&](const CallOptions& o, auto&&... a) {
          return call<R>(route_node(node, function), function, o, a...);
        },
        std::forward<Args>(args)...);
  }

  /// Runs `function` on every visible node of `region` in parallel; one
  /// result per node, never an exception that loses the others' results.
  template <class R, class... Args>
  std::vector<NodeResult<R>> multicall_region(std::string_view region, std::string_view function,
                                              Args&&... args) {
    return with_options(
        [&](const CallOptions& o, auto&&... a) {
          return multicall_on<R>(members_of(region), function, o, a...);
        },
        std::forward<Args>(args)...);
  }
  /// multicall_region over every visible node of the cluster.
  template <class R, class... Args>
  std::vector<NodeResult<R>> multicall(std::string_view function, Args&&... args) {
    return with_options(
        [&](const CallOptions& o, auto&&... a) {
          return multicall_on<R>(members_of(""), function, o, a...);
        },
        std::forward<Args>(args)...);
  }

  // ---- async calls (Asio completion tokens) --------------------------------
  //
  // The last argument is a completion token: a callable taking
  // (std::exception_ptr, R) — (std::exception_ptr) for void —, asio::use_future,
  // asio::use_awaitable, ... A fly::CallOptions may come just before it. The
  // arguments are encoded before the function returns, so they may be
  // temporaries. The handler runs on its associated executor, by default an
  // I/O thread of this node: keep it short. An async call to this node's own
  // region runs on the worker pool. Every outcome reaches the handler,
  // routing errors included (NoNodeInRegion, UnknownFunction, NodeDown,
  // BadArguments for arguments over the frame size): the initiating function
  // does not throw them, and never runs the handler itself.

  template <class R, class... ArgsAndToken>
  auto async_rpc_region(std::string_view region, std::string_view function,
                        ArgsAndToken&&... args_and_token) {
    return with_token<R>(
        [this, region, function](const CallOptions& o, auto&&... a) {
          return prepare_async(route_region(region, function, o.prefer), function, o, a...);
        },
        std::forward<ArgsAndToken>(args_and_token)...);
  }
  template <class R, class... ArgsAndToken>
  auto async_rpc_primary(std::string_view function, ArgsAndToken&&... args_and_token) {
    return async_rpc_region<R>(primary_region(), function,
                               std::forward<ArgsAndToken>(args_and_token)...);
  }
  template <class R, class... ArgsAndToken>
  auto async_rpc(std::string_view node, std::string_view function,
                 ArgsAndToken&&... args_and_token) {
    return with_token<R>(
        [this, node, function](const CallOptions& o, auto&&... a) {
          return prepare_async(route_node(node, function), function, o, a...);
        },
        std::forward<ArgsAndToken>(args_and_token)...);
  }

  /// The registry behind expose(); for introspection.
  FunctionRegistry& functions() noexcept;
  /// The executor of this node's I/O threads.
  asio::any_io_executor executor() const;

  // ---- telemetry (docs/TELEMETRY.md) ---------------------------------------

  /// The node's event bus: attach handlers to call and cluster events.
  telemetry::Telemetry& telemetry() noexcept;
  /// The built-in metrics in the Prometheus text format, as /metrics serves
  /// them; available whether or not an endpoint is configured. Allocates.
  std::string metrics_text() const;
  /// "HOST:PORT" the metrics endpoint listens on (the actual port when
  /// configured with port 0); "" when there is no endpoint or before start().
  std::string metrics_endpoint() const;

 private:
  // An async call ready to start: encoded arguments and where they go.
  struct AsyncStart {
    detail::Route route;
    std::string function;
    CallOptions options;
    detail::Buffer args;
    std::exception_ptr error;  ///< routing or encoding failed: deliver this instead
  };

  // Splits a trailing CallOptions off the arguments.
  template <class F, class... Args>
  static decltype(auto) with_options(F&& f, Args&&... args) {
    if constexpr (detail::last_is_options<Args...>::value) {
      auto all = std::forward_as_tuple(std::forward<Args>(args)...);
      return apply_prefix(std::forward<F>(f), std::get<sizeof...(Args) - 1>(all), all,
                          std::make_index_sequence<sizeof...(Args) - 1>{});
    } else {
      return std::forward<F>(f)(CallOptions{}, args...);
    }
  }
  template <class F, class Tuple, std::size_t... I>
  static decltype(auto) apply_prefix(F&& f, const CallOptions& o, Tuple& all,
                                     std::index_sequence<I...>) {
    return std::forward<F>(f)(o, std::get<I>(all)...);
  }

  // Splits the completion token (last) and optional CallOptions off.
  template <class R, class F, class... ArgsAndToken>
  auto with_token(F&& prepare, ArgsAndToken&&... args_and_token) {
    static_assert(sizeof...(ArgsAndToken) >= 1, "the last argument is a completion token");
    auto all = std::forward_as_tuple(std::forward<ArgsAndToken>(args_and_token)...);
    constexpr std::size_t n = sizeof...(ArgsAndToken) - 1;
    auto&& token = std::get<n>(all);
    AsyncStart start;
    try {
      start = split_token_args(prepare, all, std::make_index_sequence<n>{});
    } catch (...) {
      start.error = std::current_exception();
    }
    return initiate_async<R>(std::move(start), std::forward<decltype(token)>(token));
  }
  template <class F, class Tuple, std::size_t... I>
  AsyncStart split_token_args(F& prepare, Tuple& all, std::index_sequence<I...>) {
    return with_options(prepare, std::get<I>(all)...);
  }

  template <class... Args>
  AsyncStart prepare_async(detail::Route route, std::string_view function,
                           const CallOptions& options, const Args&... args) {
    AsyncStart start{std::move(route), std::string(function), options, {}, nullptr};
    detail::encode_args(start.args, args...);
    return start;
  }

  template <class R>
  struct SignatureOf {
    using type = void(std::exception_ptr, R);
  };
  template <class R>
  requires std::is_void_v<R>
  struct SignatureOf<R> {
    using type = void(std::exception_ptr);
  };
  template <class R>
  using Signature = typename SignatureOf<R>::type;

  template <class R, class Token>
  auto initiate_async(AsyncStart start, Token&& token) {
    return asio::async_initiate<Token, Signature<R>>(
        [this](auto handler, AsyncStart s) {
          auto ex = asio::get_associated_executor(handler, this->executor());
          if (s.error) {
            // Posted, not called: a handler never runs inside the initiating call.
            asio::post(ex, [h = std::move(handler), e = s.error]() mutable {
              if constexpr (std::is_void_v<R>) {
                std::move(h)(e);
              } else {
                std::move(h)(e, R{});
              }
            });
            return;
          }
          start_async(std::move(s),
                      [h = std::move(handler), ex](std::exception_ptr e, std::span<const char> body,
                                                   std::string_view fn) mutable {
                        deliver<R>(std::move(h), ex, std::move(e), body, fn);
                      });
        },
        token, std::move(start));
  }

  // Decodes the result (on the completing thread) and hands the handler to
  // its executor: dispatched after a reply (an I/O thread completes it, never
  // the initiating function), posted after a failure, which may be found
  // inside the initiating function itself (a connection that has just
  // closed, arguments over the frame size) — where dispatch would run the
  // handler inline when the call was started on its executor.
  template <class R, class Handler, class Executor>
  static void deliver(Handler&& h, const Executor& ex, std::exception_ptr e,
                      std::span<const char> body, std::string_view function) {
    if constexpr (std::is_void_v<R>) {
      if (e) {
        asio::post(ex, [h = std::move(h), e]() mutable { std::move(h)(e); });
      } else {
        asio::dispatch(ex, [h = std::move(h), e]() mutable { std::move(h)(e); });
      }
    } else {
      R value{};
      if (!e) {
        try {
          msgpack::zone& zone = detail::scratch_zone();
          msgpack::object o;
          std::string error;
          if (!detail::decode_value(zone, body.data(), body.size(), o, error)) {
            throw ProtocolError("undecodable result of " + std::string(function) + ": " + error);
          }
          value = detail::convert_result<R>(o, function);
        } catch (...) {
          e = std::current_exception();
        }
      }
      auto run = [h = std::move(h), e, v = std::move(value)]() mutable {
        std::move(h)(e, std::move(v));
      };
      if (e) {
        asio::post(ex, std::move(run));
      } else {
        asio::dispatch(ex, std::move(run));
      }
    }
  }

  /// Completion of an async call: (error or null, result body if ok, function).
  /// Move-only: it owns the caller's completion handler, which may be (for
  /// asio::use_awaitable) impossible to copy.
  using AsyncDone =
      detail::UniqueFunction<void(std::exception_ptr, std::span<const char>, std::string_view)>;
  void start_async(AsyncStart start, AsyncDone done);

  // Every call, local or remote, is counted (record_call_*; node.cpp): the
  // template only brackets the real work, so the recording code exists once.
  template <class R, class... Args>
  R call(const detail::Route& route, std::string_view function, const CallOptions& options,
         const Args&... args) {
    const auto started = record_call_start(route, function);
    try {
      if constexpr (std::is_void_v<R>) {
        call_unrecorded<R>(route, function, options, args...);
        record_call_end(route, function, started, Errc::ok);
      } else {
        R result = call_unrecorded<R>(route, function, options, args...);
        record_call_end(route, function, started, Errc::ok);
        return result;
      }
    } catch (...) {
      record_call_error(route, function, started, std::current_exception());
      throw;
    }
  }

  template <class R, class... Args>
  R call_unrecorded(const detail::Route& route, std::string_view function,
                    const CallOptions& options, const Args&... args) {
    if (route.local != nullptr) {
      return FunctionRegistry::call_entry<R>(*route.local, name(), args...);
    }
    const std::chrono::milliseconds timeout = effective_timeout(options);
    detail::BlockingCall<R> pending(route.node, function, timeout);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    send_call(*route.peer, pending, function, timeout,
              [&](detail::Buffer& out) { detail::encode_args(out, args...); });
    if (!await_reply(*route.peer, pending.done(), deadline)) {
      if (withdraw_call(*route.peer, pending, function, timeout)) {
        throw Timeout(std::string(function), std::string(route.node), timeout);
      }
      pending.wait();  // a reply or failure is being delivered right now
    }
    return pending.take();
  }

  template <class R, class... Args>
  std::vector<NodeResult<R>> multicall_on(const std::vector<detail::Route>& routes,
                                          std::string_view function, const CallOptions& options,
                                          const Args&... args);

  /// The node a call to `function` in `region` goes to: this node when it is
  /// in `region` and exports `function`, else one chosen per `prefer`
  /// (src/cluster/route_choice.hpp), its connection pinned in Route::keep.
  detail::Route route_region(std::string_view region, std::string_view function,
                             Prefer prefer) const;
  detail::Route route_node(std::string_view node, std::string_view function) const;
  /// Routes to every visible node of `region` ("" = all), no function filter.
  std::vector<detail::Route> members_of(std::string_view region) const;
  std::chrono::milliseconds effective_timeout(const CallOptions& options) const noexcept;
  /// Caller-side telemetry. record_call_start counts the call in flight,
  /// emits call_start and returns the start time; exactly one
  /// record_call_end or record_call_error must follow. Cost without handlers:
  /// two clock reads and the NodeMetrics fast path (~20 ns). noexcept.
  std::chrono::steady_clock::time_point record_call_start(const detail::Route& route,
                                                          std::string_view function) noexcept;
  void record_call_end(const detail::Route& route, std::string_view function,
                       std::chrono::steady_clock::time_point started, Errc outcome,
                       std::string_view reason = {}) noexcept;
  /// record_call_end with the outcome and reason of `error` (a fly::Error's
  /// code() and what(); any other exception counts as remote_error).
  void record_call_error(const detail::Route& route, std::string_view function,
                         std::chrono::steady_clock::time_point started,
                         const std::exception_ptr& error) noexcept;
  /// Registers `pending` with the peer and sends the CALL. If the peer is
  /// gone, `pending` is failed with node_down (no throw).
  void send_call(detail::Peer& peer, detail::PendingCall& pending, std::string_view function,
                 std::chrono::milliseconds timeout,
                 detail::FunctionRef<void(detail::Buffer&)> encode_args);
  /// Waits for a blocking call's completion until `deadline` (false: timed
  /// out). The caller may read the connection itself meanwhile
  /// (Peer::await_reply): no thread hop between the REPLY and the caller.
  static bool await_reply(detail::Peer& peer, std::binary_semaphore& done,
                          std::chrono::steady_clock::time_point deadline);
  /// After a timeout: takes `pending` back; true if it was still waiting (a
  /// CANCEL is sent), false if a completion is under way.
  bool withdraw_call(detail::Peer& peer, detail::PendingCall& pending, std::string_view function,
                     std::chrono::milliseconds timeout);
  void functions_changed();

  std::unique_ptr<detail::NodeCore> core_;
};

// multicall: start every call, then wait for all. Remote calls run in
// parallel; a local one runs in the calling thread while the others fly.
template <class R, class... Args>
std::vector<NodeResult<R>> Node::multicall_on(const std::vector<detail::Route>& routes,
                                              std::string_view function, const CallOptions& options,
                                              const Args&... args) {
  const std::chrono::milliseconds timeout = effective_timeout(options);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<std::unique_ptr<detail::BlockingCall<R>>> pending(routes.size());
  std::vector<NodeResult<R>> results(routes.size());
  // Each node's call is one call for telemetry, ended when its result is in.
  std::vector<std::chrono::steady_clock::time_point> started(routes.size());
  auto record = [&](std::size_t i) {
    if (results[i].error) {
      record_call_error(routes[i], function, started[i], results[i].error);
    } else {
      record_call_end(routes[i], function, started[i], Errc::ok);
    }
  };
  for (std::size_t i = 0; i < routes.size(); ++i) {
    results[i].node = routes[i].node;
    if (routes[i].peer) {
      started[i] = record_call_start(routes[i], function);
      pending[i] = std::make_unique<detail::BlockingCall<R>>(results[i].node, function, timeout);
      try {
        send_call(*routes[i].peer, *pending[i], function, timeout,
                  [&](detail::Buffer& out) { detail::encode_args(out, args...); });
      } catch (...) {
        results[i].error = std::current_exception();
        pending[i].reset();  // never registered (send_call withdrew it)
        record(i);
      }
    }
  }
  for (std::size_t i = 0; i < routes.size(); ++i) {
    if (routes[i].peer) continue;
    started[i] = record_call_start(routes[i], function);
    try {
      const detail::FunctionEntry* entry = functions().find(function);
      if (entry == nullptr) throw UnknownFunction(std::string(function), "node " + name());
      if constexpr (std::is_void_v<R>) {
        FunctionRegistry::call_entry<R>(*entry, name(), args...);
        results[i].value = true;
      } else {
        results[i].value = FunctionRegistry::call_entry<R>(*entry, name(), args...);
      }
    } catch (...) {
      results[i].error = std::current_exception();
    }
    record(i);
  }
  for (std::size_t i = 0; i < routes.size(); ++i) {
    if (!pending[i]) continue;
    auto& p = *pending[i];
    if (!await_reply(*routes[i].peer, p.done(), deadline)) {
      if (withdraw_call(*routes[i].peer, p, function, timeout)) {
        results[i].error =
            std::make_exception_ptr(Timeout(std::string(function), results[i].node, timeout));
        record(i);
        continue;
      }
      p.wait();
    }
    try {
      if constexpr (std::is_void_v<R>) {
        p.take();
        results[i].value = true;
      } else {
        results[i].value = p.take();
      }
    } catch (...) {
      results[i].error = std::current_exception();
    }
    record(i);
  }
  return results;
}

}  // namespace fly
