// fly::Node's life: construction (the layers assembled, NodeOptions turned
// into the cluster's settings), start, stop, and the waits. The rest of the
// Node is one file per idea: routing.cpp, remote_call.cpp, call_telemetry.cpp,
// membership.cpp, health.cpp; its state is node_core.hpp.
#include "fly/node.hpp"

#include <fmt/format.h>
#include <asio/post.hpp>

#include <algorithm>
#include <system_error>

#include "base/host_port_format.hpp"
#include "base/log.hpp"
#include "discovery/host_port.hpp"
#include "fly/async.hpp"
#include "fly/this_call.hpp"
#include "net/tls.hpp"
#include "node/builtins.hpp"
#include "node/health.hpp"
#include "node/node_core.hpp"
#include "node/resolve_options.hpp"
#include "telemetry/metrics_address.hpp"
#include "wire/frames.hpp"

namespace fly {

namespace {

// stop()'s bounds (documented on Node::stop): how long handlers cancelled at
// drain_timeout get to return, and how long the I/O threads get to flush
// the GOODBYEs and close the sockets.
constexpr std::chrono::milliseconds kCancelGrace{500};
constexpr std::chrono::milliseconds kIoWindDown{2000};

// NodeOptions (public) cannot include src/wire: its default is the public
// constant, which must be the protocol's.
static_assert(kDefaultMaxFrameSize == wire::kDefaultMaxFrameSize);

// Lazy connections with DNS discovery: the addresses of an answer every node
// dials (and keeps), the lowest ones, so that all nodes pick the same hubs.
constexpr std::size_t kLazyDnsHubs = 3;

// The one place NodeOptions becomes the lower layers' settings: the cluster's,
// and in them every connection's (net::PeerSettings).
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
  s.lazy = o.lazy_connections;
  s.idle_close = o.idle_connection_timeout;
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

}  // namespace

Node::Node(NodeOptions options) {
  node::resolve_options(options);
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
      endpoint.health = [&c] { return detail::node_health(c); };
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
    const bool lazy = c.options.lazy_connections;
    c.dns = std::make_unique<discovery::DnsPoller>(
        c.io.get_executor(), std::move(dns),
        [cl, port, answered, lazy](std::vector<asio::ip::address> addresses) {
          answered->store(true);
          if (lazy && addresses.size() > kLazyDnsHubs) {
            // Lazy connections: every node dials the same few (the lowest
            // addresses), which gossip the rest; no full mesh at start.
            std::partial_sort(addresses.begin(), addresses.begin() + kLazyDnsHubs, addresses.end());
            addresses.resize(kLazyDnsHubs);
          }
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
      [&](const cluster::ClusterView& v) {
        return v.visible.size() - (self_visible ? 1 : 0) + v.unconnected.size() >= n;
      },
      timeout);
}

bool Node::wait_for_node(std::string_view name, std::chrono::milliseconds timeout) {
  return core_->cluster->wait_until(
      [&](const cluster::ClusterView& v) {
        return v.find_connected(name) != nullptr ||
               std::any_of(v.unconnected.begin(), v.unconnected.end(),
                           [&](const auto& m) { return m->name == name; });
      },
      timeout);
}

bool Node::wait_for_region(std::string_view region, std::chrono::milliseconds timeout) {
  const std::string& me = core_->options.name;
  return core_->cluster->wait_until(
      [&](const cluster::ClusterView& v) {
        if (v.unconnected_by_region.count(region) != 0) return true;
        auto it = v.by_region.find(region);
        if (it == v.by_region.end()) return false;
        return std::any_of(it->second.begin(), it->second.end(),
                           [&](const cluster::Member* m) { return m->name != me; });
      },
      timeout);
}

}  // namespace fly
