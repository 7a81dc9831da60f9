// fly::Node: assembles the layers (cluster, rpc, discovery) and implements
// routing, the call path's non-template half, start and stop.
#include "fly/node.hpp"

#include <fmt/format.h>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/thread_pool.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <random>
#include <system_error>
#include <thread>

#include "base/host_port_format.hpp"
#include "base/log.hpp"
#include "cluster/cluster.hpp"
#include "cluster/route_choice.hpp"
#include "discovery/dns_poller.hpp"
#include "discovery/host_port.hpp"
#include "fly/async.hpp"
#include "fly/this_call.hpp"
#include "net/tls.hpp"
#include "node/builtins.hpp"
#include "node/node_options_check.hpp"
#include "rpc/dispatcher.hpp"
#include "telemetry/metrics_address.hpp"
#include "telemetry/metrics_server.hpp"
#include "telemetry/node_metrics.hpp"

namespace fly {

namespace detail {

struct NodeCore {
  explicit NodeCore(NodeOptions o)
      : options(std::move(o)),
        workers(options.worker_threads),
        work(asio::make_work_guard(io)),
        dispatcher(functions, workers, metrics, options.max_frame_size, options.verbose_logging) {}

  NodeOptions options;
  // Declared first so that they outlive everything that records into them.
  telemetry::Telemetry telemetry;
  telemetry::NodeMetrics metrics;
  FunctionRegistry functions;
  asio::io_context io;
  asio::thread_pool workers;
  asio::executor_work_guard<asio::io_context::executor_type> work;
  rpc::Dispatcher dispatcher;
  std::unique_ptr<cluster::Cluster> cluster;
  std::unique_ptr<discovery::DnsPoller> dns;
  std::vector<std::thread> io_threads;
  /// The /metrics endpoint, when options.metrics_address is set (from start()).
  std::unique_ptr<telemetry::MetricsServer> metrics_server;

  std::mutex state_mutex;
  std::condition_variable io_done;
  std::size_t io_running = 0;
  bool started = false;
  bool stopped = false;

  // For /health (read on the I/O threads without state_mutex, which stop()
  // holds while it stops the endpoint).
  std::atomic<bool> listening{false};     // the cluster listens (set by start())
  std::atomic<bool> stopping{false};      // stop() has begun
  std::atomic<bool> dns_answered{false};  // a DNS poll succeeded (even with only this node)
  std::atomic<bool> joined{false};        // /health said "ok" once: it stays so until stop()
  /// stop() left handlers running that ignored their cancellation: the
  /// worker pool must not be joined by the Node (see ~Node).
  std::atomic<bool> abandoned{false};
};

}  // namespace detail

namespace {

// A string as a JSON string literal (node names and regions are validated,
// but the health body must stay valid JSON whatever they hold).
std::string json_string(std::string_view v) {
  std::string out = "\"";
  for (const char ch : v) {
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (static_cast<unsigned char>(ch) < 0x20) {
      out += fmt::format("\\u{:04x}", static_cast<unsigned>(ch));
    } else {
      out += ch;
    }
  }
  return out + '"';
}

// GET /health: healthy once the node has joined — it listens, and when seeds or
// a DNS name are configured, it is connected to a peer or a DNS poll answered
// (the first machine of an app finds only itself, and that is a cluster of
// one); once joined, it stays so. Unhealthy before and from the moment stop()
// begins.
telemetry::HealthReport node_health(detail::NodeCore& c) {
  const auto& o = c.options;
  const std::string who =
      fmt::format(R"("node":{},"region":{},"primary_region":{})", json_string(o.name),
                  json_string(o.region), json_string(o.primary_region));
  if (c.stopping.load()) return {false, fmt::format(R"({{"status":"stopping",{}}})", who)};
  if (!c.listening.load()) return {false, fmt::format(R"({{"status":"starting",{}}})", who)};
  const std::size_t peers = c.cluster->snapshot()->connected.size();
  const bool discovers = !o.seeds.empty() || !o.dns_name.empty();
  bool joined = c.joined.load() || !discovers || peers > 0 || c.dns_answered.load();
  if (joined) c.joined.store(true);  // losing every peer later is not un-joining
  return {joined,
          fmt::format(R"({{"status":"{}",{},"peers":{}}})", joined ? "ok" : "joining", who, peers)};
}

// stop()'s bounds (documented on Node::stop): how long handlers cancelled at
// drain_timeout get to return, and how long the I/O threads get to flush
// the GOODBYEs and close the sockets.
constexpr std::chrono::milliseconds kCancelGrace{500};
constexpr std::chrono::milliseconds kIoWindDown{2000};

// xorshift64*: the random node choice costs a few instructions, no lock.
std::uint64_t next_random() {
  thread_local std::uint64_t state = std::random_device{}() | 1;
  state ^= state >> 12;
  state ^= state << 25;
  state ^= state >> 27;
  return state * 0x2545F4914F6CDD1DULL;
}

// NodeOptions (public) cannot include src/wire, so its max_frame_size
// default spells out wire::kDefaultMaxFrameSize; ClusterSettings takes
// whatever NodeOptions says.
cluster::ClusterSettings cluster_settings(const NodeOptions& o) {
  cluster::ClusterSettings s;
  s.name = o.name;
  s.region = o.region;
  s.hidden = o.hidden;
  s.listen_host = o.listen_host;
  s.port = o.port;
  s.advertise_address = o.advertise_address;
  s.reconnect_min = o.reconnect_min;
  s.reconnect_max = o.reconnect_max;
  s.max_pending_handshakes = o.max_pending_handshakes;
  s.peer.cookie = o.cookie;
  s.peer.max_frame_size = o.max_frame_size;
  s.peer.heartbeat_interval = o.heartbeat_interval;
  s.peer.heartbeat_timeout = o.heartbeat_timeout;
  s.peer.handshake_timeout = o.handshake_timeout;
  s.peer.verbose = o.verbose_logging;
  if (o.tls.enabled()) {
    // Reads and checks the files now: a bad one fails the Node's constructor.
    s.peer.tls = std::make_shared<net::TlsContext>(
        net::TlsSettings{o.tls.certificate_file, o.tls.private_key_file, o.tls.ca_file,
                         o.tls.require_client_certificate});
  }
  return s;
}

// Pins the member's connection for the duration of a call. The node name
// points into the connection's HELLO, which lives as long as the pin.
detail::Route remote_route(const cluster::Member& m, std::string_view function) {
  auto peer = m.peer.lock();
  if (!peer) throw NodeDown(m.name, std::string(function), "the connection just closed");
  detail::Peer* raw = peer.get();
  return {nullptr, raw, std::move(peer), raw->peer_hello().name, raw->peer_hello().region};
}

}  // namespace

Node::Node(NodeOptions options) {
  node::check_options(options);
  // The logger is made here, on the constructing thread, not lazily by the
  // first I/O thread to log: spdlog's registry (an uninstrumented library)
  // is then never first touched by two threads at once.
  if (options.logger) {
    log::set(options.logger);
  } else {
    (void)log::get();
  }
  core_ = std::make_unique<detail::NodeCore>(std::move(options));
  cluster::ClusterSettings settings = cluster_settings(core_->options);
  settings.peer.metrics = &core_->metrics;
  settings.telemetry = &core_->telemetry;
  core_->cluster = std::make_unique<cluster::Cluster>(core_->io, std::move(settings),
                                                      core_->functions, core_->dispatcher);
  node::expose_builtins(*this);
}

Node::~Node() {
  try {
    stop();
  } catch (const std::exception& e) {
    fly::log::get().error("flyrpc: error while stopping node {}: {}", core_->options.name,
                          e.what());
  }
  if (core_->abandoned.load(std::memory_order_acquire)) {
    // Handlers that ignored their cancellation still run on worker threads
    // and, once they return, still use the core (their function's entry,
    // the dispatcher, the metrics). The core is freed by a detached thread
    // when the last of them returns, not here: the Node's destructor does
    // not wait for them, and nothing they touch is freed under them.
    try {
      std::thread([core = std::move(core_)]() mutable {
        core->workers.join();
        core.reset();
      }).detach();
    } catch (const std::system_error&) {
      (void)core_.release();  // no thread to spare: keep it for the process's life
    }
  }
}

FunctionRegistry& Node::functions() noexcept {
  return core_->functions;
}
asio::any_io_executor detail::NodeAsync::executor_of(const Node& node) {
  return node.core_->io.get_executor();
}
telemetry::Telemetry& Node::telemetry() noexcept {
  return core_->telemetry;
}
std::string Node::metrics_text() const {
  return core_->metrics.render_prometheus();
}
std::string Node::metrics_endpoint() const {
  std::lock_guard lock(core_->state_mutex);
  if (!core_->metrics_server) return "";
  return telemetry::to_string(core_->metrics_server->local_endpoint());
}
const std::string& Node::name() const noexcept {
  return core_->options.name;
}
const std::string& Node::region() const noexcept {
  return core_->options.region;
}
const std::string& Node::primary_region() const noexcept {
  return core_->options.primary_region;
}
bool Node::is_primary() const noexcept {
  return core_->options.region == core_->options.primary_region;
}
std::uint16_t Node::listen_port() const noexcept {
  return core_->cluster->listen_port();
}

bool Node::unexpose(std::string_view name) {
  const bool removed = core_->functions.remove(name);
  if (removed) functions_changed();
  return removed;
}

void Node::functions_changed() {
  core_->cluster->functions_changed();
}

// ---- life ----------------------------------------------------------------------

void Node::start() {
  auto& c = *core_;
  {
    std::lock_guard lock(c.state_mutex);
    if (c.started) return;
    if (!c.options.metrics_address.empty()) {
      // First, so that an address it cannot bind fails start() with nothing
      // running (ConfigError naming the address). Served on the I/O threads.
      telemetry::MetricsServer::Options endpoint;
      endpoint.health = [&c] { return node_health(c); };
      auto server = std::make_unique<telemetry::MetricsServer>(
          c.io, telemetry::parse_metrics_address(c.options.metrics_address, "metrics address"),
          [&c] { return c.metrics.render_prometheus(); }, std::move(endpoint));
      server->start();
      c.metrics_server = std::move(server);
    }
    c.started = true;
  }
  c.cluster->start();
  c.listening.store(true);
  for (unsigned i = 0; i < c.options.io_threads; ++i) {
    {
      std::lock_guard lock(c.state_mutex);
      ++c.io_running;
    }
    c.io_threads.emplace_back([&c] {
      c.io.run();
      std::lock_guard lock(c.state_mutex);
      --c.io_running;
      c.io_done.notify_all();
    });
  }
  for (const auto& seed : c.options.seeds) c.cluster->add_seed(seed);
  if (!c.options.dns_name.empty()) {
    discovery::DnsPollerOptions dns;
    dns.name = c.options.dns_name;
    if (!c.options.dns_server.empty()) {
      dns.server = discovery::parse_dns_server("dns server", c.options.dns_server);
    }
    dns.interval = c.options.dns_poll_interval;
    const std::uint16_t port = c.options.port;
    cluster::Cluster* cl = c.cluster.get();
    std::atomic<bool>* answered = &c.dns_answered;
    c.dns = std::make_unique<discovery::DnsPoller>(
        c.io.get_executor(), std::move(dns),
        [cl, port, answered](const std::vector<asio::ip::address>& addresses) {
          answered->store(true);
          // Only ever adds: a name missing from one answer is not a dead node.
          for (const auto& a : addresses) {
            cl->add_seed(detail::join_host_port(a.to_string(), port));
          }
        });
    c.dns->start();
  }
  fly::log::get().info(
      "flyrpc: node {} ({}, primary {}) started{}", c.options.name, c.options.region,
      c.options.primary_region,
      listen_port() ? " on port " + std::to_string(listen_port()) : " (not listening)");
}

void Node::stop() {
  auto& c = *core_;
  {
    std::lock_guard lock(c.state_mutex);
    if (!c.started || c.stopped) {
      c.stopped = true;
      return;
    }
    c.stopped = true;
  }
  c.stopping.store(true);
  if (c.dns) c.dns->stop();
  // 1. Refuse new calls, let the running ones finish and reply. At
  //    drain_timeout, tell those left to give up (fly::this_call::cancelled,
  //    as a CANCEL would); whatever still runs after kCancelGrace is
  //    abandoned to its worker thread, its result dropped.
  c.dispatcher.begin_stopping();
  if (!c.dispatcher.drain(c.options.drain_timeout)) {
    const std::size_t cancelled = c.dispatcher.cancel_all();
    fly::log::get().warn(
        "flyrpc: node {} stopping with {} call(s) still running after {} ms: cancelling them",
        c.options.name, cancelled, c.options.drain_timeout.count());
    if (!c.dispatcher.drain(kCancelGrace)) {
      c.abandoned.store(true, std::memory_order_release);
      fly::log::get().warn(
          "flyrpc: node {} abandons {} call(s) that ignored cancellation for {} ms: their "
          "handlers run on in detached worker threads and their results are dropped",
          c.options.name, c.dispatcher.in_flight(), kCancelGrace.count());
    }
  }
  // 2. Goodbye to every peer, then close them once flushed. The metrics
  //    endpoint stops too (its sockets close on the I/O threads below).
  c.cluster->leave();
  {
    std::lock_guard lock(c.state_mutex);
    if (c.metrics_server) c.metrics_server->stop();
  }
  // 3. Let the I/O threads run out of work (writes flushed, sockets closed),
  //    but not forever.
  c.work.reset();
  {
    std::unique_lock lock(c.state_mutex);
    c.io_done.wait_for(lock, kIoWindDown, [&] { return c.io_running == 0; });
  }
  c.io.stop();
  for (auto& t : c.io_threads) t.join();
  c.io_threads.clear();
  // 4. The worker pool: joined when every handler returned; else stopped
  //    (queued work is dropped, the abandoned handlers run on) and left to
  //    ~Node.
  if (c.abandoned.load(std::memory_order_acquire)) {
    c.workers.stop();
  } else {
    c.workers.join();
  }
}

bool Node::wait_for_nodes(std::size_t n, std::chrono::milliseconds timeout) {
  const bool self_visible = !core_->options.hidden;
  return core_->cluster->wait_until(
      [&](const cluster::ClusterView& v) { return v.visible.size() - (self_visible ? 1 : 0) >= n; },
      timeout);
}

bool Node::wait_for_node(std::string_view name, std::chrono::milliseconds timeout) {
  return core_->cluster->wait_until(
      [&](const cluster::ClusterView& v) { return v.find_connected(name) != nullptr; }, timeout);
}

bool Node::wait_for_region(std::string_view region, std::chrono::milliseconds timeout) {
  const std::string& me = core_->options.name;
  return core_->cluster->wait_until(
      [&](const cluster::ClusterView& v) {
        auto it = v.by_region.find(region);
        if (it == v.by_region.end()) return false;
        return std::any_of(it->second.begin(), it->second.end(),
                           [&](const cluster::Member* m) { return m->name != me; });
      },
      timeout);
}

// ---- membership ------------------------------------------------------------------

std::vector<std::string> Node::regions() const {
  return core_->cluster->snapshot()->regions();
}

std::vector<NodeInfo> Node::nodes() const {
  auto view = core_->cluster->snapshot();
  std::vector<NodeInfo> out;
  for (const auto& m : view->visible) out.push_back(cluster::info_of(*m));
  return out;
}

std::vector<NodeInfo> Node::region_nodes(std::string_view region) const {
  auto view = core_->cluster->snapshot();
  std::vector<NodeInfo> out;
  auto it = view->by_region.find(region);
  if (it != view->by_region.end()) {
    for (const auto* m : it->second) out.push_back(cluster::info_of(*m));
  }
  return out;
}

std::uint64_t Node::subscribe(std::function<void(const MembershipEvent&)> handler) {
  return core_->cluster->subscribe(std::move(handler));
}
void Node::unsubscribe(std::uint64_t id) {
  core_->cluster->unsubscribe(id);
}
std::string Node::last_join_error() const {
  return core_->cluster->last_join_error();
}

// ---- routing ---------------------------------------------------------------------

namespace {

// The route of a call to a chosen member, its connection already pinned by
// the choice (one weak_ptr lock per call, not two). The node name points into
// the connection's HELLO, which lives as long as the pin.
detail::Route pinned_route(std::shared_ptr<detail::Peer> peer) {
  detail::Peer* raw = peer.get();
  return {nullptr, raw, std::move(peer), raw->peer_hello().name, raw->peer_hello().region};
}

}  // namespace

// The per-call cost (issue 8, bench BM_RegionLookup): one snapshot read, one
// probe of the view's (region, function) index, the choice, the pin. Nothing
// here allocates or walks the members of the region.
detail::Route Node::route_region(std::string_view region, std::string_view function,
                                 Prefer prefer) const {
  auto& c = *core_;
  const bool here = !c.options.hidden && region == c.options.region;
  if (here) {
    if (const detail::FunctionEntry* entry = c.functions.find(function)) {
      return {entry, nullptr, nullptr, c.options.name, c.options.region};
    }
  }
  const cluster::ClusterView& view = c.cluster->view();
  const cluster::RouteIndex::Candidates* candidates = view.routes.find(region, function);
  if (candidates == nullptr) {
    if (!view.has_region(region)) {
      validate_region("region", region);
      throw NoNodeInRegion(std::string(region), view.regions());
    }
    throw UnknownFunction(std::string(function), "region " + std::string(region));
  }
  const std::uint64_t random_bits = candidates->size() == 1 ? 0 : next_random();
  cluster::Choice choice = cluster::choose(*candidates, prefer, random_bits);
  if (!choice.peer) {
    throw NodeDown(choice.member->name, std::string(function), "the connection just closed");
  }
  return pinned_route(std::move(choice.peer));
}

detail::Route Node::route_node(std::string_view node, std::string_view function) const {
  auto& c = *core_;
  if (node == c.options.name) {
    if (const detail::FunctionEntry* entry = c.functions.find(function)) {
      return {entry, nullptr, nullptr, c.options.name, c.options.region};
    }
    throw UnknownFunction(std::string(function), "node " + std::string(node));
  }
  const cluster::ClusterView& view = c.cluster->view();
  auto it = view.connected.find(node);
  if (it == view.connected.end() || it->second->hidden) throw NotConnected(std::string(node));
  if (!it->second->exports(function)) {
    throw UnknownFunction(std::string(function), "node " + std::string(node));
  }
  return remote_route(*it->second, function);
}

std::vector<detail::Route> Node::members_of(std::string_view region) const {
  auto& c = *core_;
  auto view = c.cluster->snapshot();
  std::vector<detail::Route> routes;
  for (const auto& m : view->visible) {
    if (!region.empty() && m->region != region) continue;
    if (m->is_self) {
      // this node: runs locally
      routes.push_back({nullptr, nullptr, nullptr, c.options.name, c.options.region});
    } else if (auto peer = m->peer.lock()) {
      detail::Peer* raw = peer.get();
      routes.push_back(
          {nullptr, raw, std::move(peer), raw->peer_hello().name, raw->peer_hello().region});
    }
  }
  if (routes.empty() && !region.empty()) {
    validate_region("region", region);
    throw NoNodeInRegion(std::string(region), view->regions());
  }
  return routes;
}

std::chrono::milliseconds Node::effective_timeout(const CallOptions& options) const noexcept {
  const auto inherited = this_call::remaining();
  const bool has_inherited = inherited != std::chrono::milliseconds::max();
  std::chrono::milliseconds t;
  if (options.timeout.count() > 0) {
    t = has_inherited ? std::min(options.timeout, inherited) : options.timeout;
  } else {
    t = has_inherited ? inherited : core_->options.call_timeout;
  }
  return std::max(t, std::chrono::milliseconds(1));
}

// ---- call telemetry ------------------------------------------------------------------

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
                           std::string_view reason) noexcept {
  auto& c = *core_;
  const auto latency = std::chrono::steady_clock::now() - started;
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

void Node::record_call_error(const detail::Route& route, std::string_view function,
                             std::chrono::steady_clock::time_point started,
                             const std::exception_ptr& error) noexcept {
  const char* reason = "";
  const Errc outcome = error ? outcome_of(error, reason) : Errc::ok;
  record_call_end(route, function, started, outcome, reason);
}

// ---- the remote call path ----------------------------------------------------------

void Node::send_call(detail::Peer& peer, detail::PendingCall& pending, std::string_view function,
                     std::chrono::milliseconds timeout,
                     detail::FunctionRef<void(detail::Buffer&)> encode_args) {
  peer.send_call(pending, function, timeout, encode_args);
}

bool Node::await_reply(detail::Peer& peer, std::binary_semaphore& done,
                       std::chrono::steady_clock::time_point deadline) {
  return peer.await_reply(done, deadline);
}

bool Node::withdraw_call(detail::Peer& peer, detail::PendingCall& pending,
                         std::string_view function, std::chrono::milliseconds timeout) {
  if (!peer.withdraw_call(pending)) return false;
  if (core_->options.verbose_logging) {
    fly::log::get().warn("flyrpc TIMEOUT {} after {} ms", function, timeout.count());
  }
  return true;
}

// ---- async calls ---------------------------------------------------------------------

namespace {

// An async call in flight: owned by itself (self_) until completed once, by
// the reply, the connection's failure, or its timer.
class AsyncCall final : public detail::PendingCall, public std::enable_shared_from_this<AsyncCall> {
 public:
  using Done =
      detail::UniqueFunction<void(std::exception_ptr, std::span<const char>, std::string_view)>;

  AsyncCall(asio::io_context& io, Done done, std::string function, std::string node,
            std::shared_ptr<const void> keep, detail::Peer& peer, std::chrono::milliseconds timeout)
      : done_(std::move(done)),
        function_(std::move(function)),
        node_(std::move(node)),
        keep_(std::move(keep)),
        peer_(peer),
        timeout_(timeout),
        timer_(io) {}

  void arm(std::shared_ptr<AsyncCall> self) {
    self_ = self;
    timer_.expires_after(timeout_);
    timer_.async_wait([weak = std::weak_ptr<AsyncCall>(self)](const asio::error_code& ec) {
      if (ec) return;
      if (auto call = weak.lock()) call->on_timeout();
    });
  }

  void complete(Errc status, std::span<const char> body) noexcept override {
    if (status == Errc::ok) {
      finish(nullptr, body);
    } else {
      finish(detail::make_call_error(status, body, node_, function_, timeout_), {});
    }
  }

  void fail(Errc code, std::string_view reason) noexcept override {
    finish(
        detail::make_call_error(code, {reason.data(), reason.size()}, node_, function_, timeout_),
        {});
  }

  /// The function's name, owned by the call until it completes: what
  /// PendingCall::function_name may point to.
  const std::string& function() const noexcept { return function_; }

  /// The CALL could not be sent (send_call threw; the call was never left
  /// registered): completes with `error`.
  void fail_now(std::exception_ptr error) noexcept { finish(std::move(error), {}); }

 private:
  void on_timeout() {
    if (!peer_.withdraw_call(*this)) return;  // completing right now
    finish(std::make_exception_ptr(Timeout(function_, node_, timeout_)), {});
  }

  void finish(std::exception_ptr e, std::span<const char> body) noexcept {
    asio::error_code ignored;
    timer_.cancel();
    try {
      done_(std::move(e), body, function_);
    } catch (const std::exception& ex) {
      fly::log::get().error("flyrpc: async completion handler threw: {}", ex.what());
    }
    self_.reset();  // may destroy this object: nothing after it
  }

  Done done_;
  std::string function_;
  std::string node_;
  std::shared_ptr<const void> keep_;
  detail::Peer& peer_;
  std::chrono::milliseconds timeout_;
  asio::steady_timer timer_;
  std::shared_ptr<AsyncCall> self_;
};

}  // namespace

void Node::start_async(detail::AsyncStart start, detail::AsyncDone user_done) {
  auto& c = *core_;
  // Telemetry: the call ends when its completion runs (before the result is
  // decoded and the handler dispatched to its executor).
  const auto started = record_call_start(start.route, start.function);
  detail::AsyncDone done = [this, route = start.route, started, user_done = std::move(user_done)](
                               std::exception_ptr e, std::span<const char> body,
                               std::string_view fn) mutable {
    record_call_error(route, fn, started, e);
    user_done(std::move(e), body, fn);
  };
  if (start.route.local != nullptr) {
    asio::post(c.workers, [this, s = std::move(start), done = std::move(done)]() mutable {
      detail::Buffer out;
      try {
        FunctionRegistry::invoke_entry(*s.route.local, name(), s.args.view(), out);
      } catch (...) {
        done(std::current_exception(), {}, s.function);
        return;
      }
      done(nullptr, out.view(), s.function);
    });
    return;
  }
  const auto timeout = effective_timeout(start.options);
  detail::Peer& peer = *start.route.peer;
  auto call =
      std::make_shared<AsyncCall>(c.io, std::move(done), start.function,
                                  std::string(start.route.node), start.route.keep, peer, timeout);
  call->arm(call);
  try {
    // The call's own copy of the name: the verbose RESP line reads it when
    // the reply comes, long after `start` is gone.
    send_call(peer, *call, call->function(), timeout,
              [&](detail::Buffer& out) { out.write(start.args.data(), start.args.size()); });
  } catch (...) {
    // Arguments over the frame size: delivered like every other outcome
    // (posted, see NodeAsync::deliver), never thrown out of the initiation.
    call->fail_now(std::current_exception());
  }
}

}  // namespace fly
