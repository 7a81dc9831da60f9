// Listening: the acceptor, the accept loop and its back-off when accept(2)
// fails, and the cap on inbound handshakes (refuse_busy). The acceptor, its
// retry timer and their handlers run on accept_strand_.
#include <asio/ip/v6_only.hpp>

#include <algorithm>
#include <cerrno>

#include "base/host_port_format.hpp"
#include "base/log.hpp"
#include "cluster/cluster.hpp"
#include "wire/handshake.hpp"

namespace fly::cluster {

namespace {

// An accept(2) error that says the process or system is out of a resource
// (descriptors, socket buffers, memory): the connection stays in the backlog
// and retrying at once fails the same way. Other errors concern one
// connection, and the next accept may succeed.
bool is_resource_exhaustion(const asio::error_code& ec) {
  return ec == asio::error::no_descriptors ||  // EMFILE
         (ec.category() == asio::error::get_system_category() && ec.value() == ENFILE) ||
         ec == asio::error::no_buffer_space || ec == asio::error::no_memory;
}

// Pauses before the next accept after a failure: out of a resource, the
// first pause, doubling per repeat up to the longest; any other error, the
// short one.
constexpr std::chrono::milliseconds kAcceptPauseOther{10};
constexpr std::chrono::milliseconds kAcceptPauseFirst{50};
constexpr std::chrono::milliseconds kAcceptPauseMax{1000};

}  // namespace

void Cluster::start() {
  if (!settings_.listen_host.empty()) {
    asio::error_code ec;
    const auto address = asio::ip::make_address(settings_.listen_host, ec);
    if (ec) {
      throw ConfigError("listen address", settings_.listen_host, "not an IPv4 or IPv6 address");
    }
    const asio::ip::tcp::endpoint endpoint(address, settings_.port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
    if (!ec && address.is_v6()) acceptor_.set_option(asio::ip::v6_only(false), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      throw ConfigError("listen address",
                        detail::join_host_port(settings_.listen_host, settings_.port),
                        "cannot listen: " + ec.message());
    }
    listen_port_ = acceptor_.local_endpoint().port();
    accept_next();
  }
  std::lock_guard lock(mutex_);
  publish();
}

void Cluster::accept_next() {
  acceptor_.async_accept([this](const asio::error_code& ec, asio::ip::tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (ec) {
      accept_failed(ec);
      return;
    }
    if (accept_pause_.count() != 0) {
      accept_pause_ = std::chrono::milliseconds(0);
      std::size_t suppressed = 0;
      if (accept_again_log_.allow(suppressed)) {
        fly::log::get().info("flyrpc: accepting connections on port {} again", listen_port_);
      }
    }
    on_accept(std::move(socket));
    accept_next();
  });
}

void Cluster::accept_failed(const asio::error_code& ec) {
  // Out of descriptors (EMFILE/ENFILE) or buffers, the pending connection
  // stays in the backlog and the next accept fails the same way at once:
  // pause, 50 ms doubling to 1 s while it lasts, so that a node at its fd
  // limit idles instead of spinning, serves the connections it has, and
  // takes new ones within a second of descriptors coming free. Any other
  // error (rarer: asio already retries aborted connections) pauses briefly.
  const bool exhausted = is_resource_exhaustion(ec);
  accept_pause_ = !exhausted                   ? kAcceptPauseOther
                  : accept_pause_.count() == 0 ? kAcceptPauseFirst
                                               : std::min(accept_pause_ * 2, kAcceptPauseMax);
  std::size_t suppressed = 0;
  if (accept_log_.allow(suppressed)) {
    fly::log::get().warn(
        "flyrpc: cannot accept connections on port {}: {}{}; retrying in {} ms ({} more such "
        "errors since the last message)",
        listen_port_, ec.message(),
        exhausted ? " (existing connections are still served; raise the limit with ulimit -n)" : "",
        accept_pause_.count(), suppressed);
  }
  accept_retry_.expires_after(accept_pause_);
  accept_retry_.async_wait([this](const asio::error_code& wait_ec) {
    if (!wait_ec && acceptor_.is_open()) accept_next();
  });
}

void Cluster::on_accept(asio::ip::tcp::socket socket) {
  std::shared_ptr<net::Peer> peer;
  {
    std::lock_guard lock(mutex_);
    if (leaving_) return;  // the socket closes as it goes out of scope
    if (handshaking_inbound_ >= settings_.max_pending_handshakes) {
      refuse_busy(socket);
      return;  // the socket closes as it goes out of scope
    }
    peer = make_peer(std::move(socket), "");
    pending_[peer->id()] = peer;
    ++handshaking_inbound_;
  }
  peer->start();
}

// Locked. An inbound connection over max_pending_handshakes: a best-effort
// REFUSE busy (plaintext only: a TLS client could not read it; one
// non-blocking write, never waiting), then the caller closes it. Logged with
// the remote address, at most once a second under a flood.
void Cluster::refuse_busy(asio::ip::tcp::socket& socket) {
  asio::error_code ec;
  const auto remote = socket.remote_endpoint(ec);
  const std::string address =
      ec ? std::string() : detail::join_host_port(remote.address().to_string(), remote.port());
  if (!settings_.peer.tls) {
    detail::Buffer refuse;
    wire::encode_refuse(refuse,
                        {wire::RefuseReason::busy, std::to_string(handshaking_inbound_) +
                                                       " handshakes already pending; retry later"});
    socket.non_blocking(true, ec);
    if (!ec) socket.write_some(asio::buffer(refuse.data(), refuse.size()), ec);
  }
  record_refusal(wire::RefuseReason::busy, address);
  if (std::size_t suppressed = 0; busy_log_.allow(suppressed)) {
    fly::log::get().warn(
        "flyrpc: refusing a connection from {}: {} handshakes already pending "
        "(max_pending_handshakes; {} refused since the last such message)",
        address.empty() ? "an unknown address" : address, handshaking_inbound_, suppressed + 1);
  }
}

}  // namespace fly::cluster
