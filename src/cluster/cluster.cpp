// The Cluster's core: construction, the connections it makes (make_peer,
// with this node's HELLO), waiting on the region table, and leaving. The
// rest of the class is spread by concern: listener.cpp, dialer.cpp,
// admission.cpp, gossip.cpp, membership.cpp.
#include "cluster/cluster.hpp"

#include <asio/post.hpp>

#include "base/host_port_format.hpp"
#include "wire/handshake.hpp"

namespace fly::cluster {

namespace {

bool is_wildcard(const std::string& host) {
  return host == "0.0.0.0" || host == "::";
}

}  // namespace

Cluster::Cluster(asio::io_context& io, ClusterSettings settings, FunctionRegistry& functions,
                 net::CallHandler& calls)
    : io_(io),
      heartbeat_(io, settings.peer.heartbeat_interval, settings.peer.heartbeat_timeout),
      settings_(std::move(settings)),
      functions_(functions),
      calls_(calls),
      incarnation_(wire::make_incarnation()),
      accept_strand_(asio::make_strand(io)),
      acceptor_(accept_strand_),
      resolver_(io),
      events_strand_(asio::make_strand(io)),
      idle_timer_(io),
      accept_retry_(accept_strand_),
      view_(std::make_shared<const ClusterView>()) {
  settings_.peer.heartbeat = &heartbeat_;
}

Cluster::~Cluster() = default;

std::shared_ptr<net::Peer> Cluster::make_peer(asio::ip::tcp::socket socket,
                                              const std::string& dialed_address) {
  net::PeerSettings ps = settings_.peer;
  ps.hello = hello_for(socket);
  auto peer =
      std::make_shared<net::Peer>(std::move(socket), std::move(ps), *this, calls_, dialed_address);
  Link& link = links_[peer->id()];
  if (!dialed_address.empty()) {
    auto t = targets_.find(dialed_address);
    if (t != targets_.end() && t->second.on_demand && !t->second.permanent) {
      link.on_demand = true;
      link.quiet_since = std::chrono::steady_clock::now();
    }
  }
  return peer;
}

wire::Hello Cluster::hello_for(const asio::ip::tcp::socket& socket) const {
  wire::Hello hello;
  hello.name = settings_.name;
  hello.region = settings_.region;
  hello.hidden = settings_.hidden;
  hello.incarnation = incarnation_;
  if (!settings_.advertise_address.empty()) {
    hello.listen_address = settings_.advertise_address;
  } else if (listen_port_ != 0) {
    std::string host = settings_.listen_host;
    if (is_wildcard(host)) {
      asio::error_code ec;
      auto local = socket.local_endpoint(ec);
      if (!ec) {
        auto a = local.address();
        if (a.is_v6() && a.to_v6().is_v4_mapped()) {
          a = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
        }
        host = a.to_string();
      }
    }
    hello.listen_address = detail::join_host_port(host, listen_port_);
  }
  return hello;
}

std::string Cluster::self_address() const {
  if (!settings_.advertise_address.empty()) return settings_.advertise_address;
  if (listen_port_ == 0) return "";
  return detail::join_host_port(settings_.listen_host, listen_port_);
}

bool Cluster::wait_until(const std::function<bool(const ClusterView&)>& ready,
                         std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] { return ready(*view_.load()); });
}

std::string Cluster::last_join_error() const {
  std::lock_guard lock(mutex_);
  return last_join_error_;
}

void Cluster::leave() {
  std::lock_guard lock(mutex_);
  leave_locked("node stopping");
}

// Locked. Sends and closes are asynchronous (peer strands), so nothing here
// calls back into the cluster under the lock.
void Cluster::leave_locked(const std::string& goodbye) {
  if (leaving_) return;
  leaving_ = true;
  std::vector<std::shared_ptr<net::Peer>> peers;
  for (auto& [address, t] : targets_) t.timer->cancel();
  idle_timer_.cancel();
  changed_.notify_all();  // connect_on_demand waiters: leaving ends their wait
  for (const auto& [name, e] : members_) peers.push_back(e.peer);
  for (const auto& [id, p] : pending_) peers.push_back(p);
  asio::post(accept_strand_, [this] {
    asio::error_code ec;
    acceptor_.close(ec);
    accept_retry_.cancel();
  });
  asio::post(io_, [this] { resolver_.cancel(); });
  for (const auto& p : peers) {
    p->send([&](detail::Buffer& out) { wire::encode_goodbye(out, goodbye); });
    p->close_after_flush("this node is " + std::string(replaced_ ? "replaced" : "stopping"));
  }
}

}  // namespace fly::cluster
