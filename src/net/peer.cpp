// Peer: construction, start, close and the error paths that end a
// connection. The other parts of the class live next to this file:
// peer_write.cpp (senders and the strand's write chain), peer_read.cpp (the
// read side and its two owners, strand and blocking caller), peer_frames.cpp
// (a batch of frames read: dispatch, handshake, replies), peer_heartbeat.cpp
// (the timer), peer_tls.cpp (the TLS handshake), peer_calls.cpp (CALL),
// peer_deadlines.cpp (async calls' deadlines).
#include "net/peer.hpp"

#include <asio/post.hpp>
#include <asio/ssl/error.hpp>

#include <stdexcept>

#include "base/host_port_format.hpp"
#include "base/log.hpp"
#include "net/tls.hpp"
#include "net/tls_session.hpp"

namespace fly::net {

namespace {
std::atomic<std::uint64_t> next_peer_id{1};

std::string endpoint_string(const asio::ip::tcp::endpoint& ep) {
  const auto addr = ep.address();
  return detail::join_host_port(addr.to_string(), ep.port());
}

// Sockets are made on the node's io_context (Cluster): the strand is then of
// the concrete executor type, and posting to it or binding to it costs no
// type-erased executor copies.
asio::io_context::executor_type io_executor_of(asio::ip::tcp::socket& socket) {
  // target() points into the executor object: keep it alive while reading.
  const asio::any_io_executor executor = socket.get_executor();
  const auto* ex = executor.target<asio::io_context::executor_type>();
  if (ex == nullptr) throw std::logic_error("flyrpc: a peer's socket must run on an io_context");
  return *ex;
}

}  // namespace

Peer::Peer(asio::ip::tcp::socket socket, net::PeerSettings settings, net::PeerEvents& events,
           net::CallHandler& calls, std::string dialed_address)
    : socket_(std::move(socket)),
      fd_(socket_.native_handle()),
      strand_(asio::make_strand(io_executor_of(socket_))),
      timer_(strand_),
      deadline_timer_(strand_),
      settings_(std::move(settings)),
      events_(events),
      call_handler_(calls),
      dialed_address_(std::move(dialed_address)),
      id_(next_peer_id.fetch_add(1, std::memory_order_relaxed)),
      handshake_(settings_.cookie, settings_.hello) {
  asio::error_code ec;
  auto remote = socket_.remote_endpoint(ec);
  remote_address_ = ec ? std::string("unknown") : endpoint_string(remote);
  auto local = socket_.local_endpoint(ec);
  if (!ec) local_ip_ = local.address().to_string();
  if (settings_.tls) {
    tls_ = std::make_unique<net::TlsSession>(*settings_.tls, outbound());
    // The TLS handshake is the writer until it completes: frames sent
    // meanwhile wait in out_ (nothing may be written before it).
    writing_ = true;
  }
}

Peer::~Peer() = default;

void Peer::start() {
  asio::post(strand_, [self = shared_from_this()] {
    asio::error_code ec;
    self->socket_.set_option(asio::ip::tcp::no_delay(true), ec);
    self->started_at_ = Clock::now();
    self->last_recv_.store(self->started_at_.time_since_epoch().count(), std::memory_order_relaxed);
    self->last_send_.store(self->started_at_.time_since_epoch().count(), std::memory_order_relaxed);
    if (self->tls_) {
      self->arm_timer();  // handshake_timeout covers the TLS handshake too
      self->tls_handshake();
      return;
    }
    detail::Buffer hello;
    self->handshake_.start(hello);
    self->send_raw(hello);
    self->arm_timer();
    self->do_read();
  });
}

void Peer::send_raw(const detail::Buffer& frames) {
  if (frames.empty()) return;
  send([&](detail::Buffer& out) { out.write(frames.data(), frames.size()); });
}

void Peer::io_failed(bool reading, const std::error_code& ec) {
  std::string reason;
  if (reading && (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated)) {
    reason = "connection closed by peer";
    // Closed before a single byte, by a node we dialled: what a TLS node
    // does with our HELLO when TLS is off here (or a node with too many
    // pending handshakes). Say so (error path only).
    if (!tls_ && outbound() && bytes_received() == 0) {
      reason += " before its HELLO (TLS on there and off here? too many pending handshakes there?)";
    }
  } else if (tls_ && net::is_tls_error(ec)) {
    // A TLS alert (the peer refused our certificate, mutual TLS without
    // one) or a corrupted record: the operator must see why.
    reason = std::string("TLS error on the connection ") + (outbound() ? "to " : "from ") +
             remote_address_ + ": " + net::describe_tls_error(ec, *tls_);
    fly::log::get().warn("flyrpc: {}", reason);
  } else {
    reason = (reading ? "read failed: " : "write failed: ") + ec.message();
  }
  do_close({std::move(reason), authenticated(), std::nullopt, refused_by_us_}, Errc::node_down);
}

void Peer::protocol_error(const std::string& what) {
  const std::string reason = "protocol error from " + remote_address_ + ": " + what;
  fly::log::get().warn("flyrpc: {}", reason);
  detail::Buffer refuse;
  wire::encode_refuse(refuse, {wire::RefuseReason::protocol, what.substr(0, 1024)});
  send_raw(refuse);
  refused_by_us_ = wire::RefuseReason::protocol;
  close_after_flush(reason);
  // Stop reading now: nothing more from this peer is trusted.
  asio::error_code ec;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_receive, ec);
}

void Peer::close(std::string reason, Errc code) {
  asio::post(strand_, [self = shared_from_this(), reason = std::move(reason), code]() mutable {
    self->do_close({std::move(reason), self->authenticated(), std::nullopt, self->refused_by_us_},
                   code);
  });
}

void Peer::close_after_flush(std::string reason) {
  std::unique_lock lock(out_mutex_);
  if (out_closed_) return;
  close_after_flush_ = true;
  close_after_flush_reason_ = std::move(reason);
  if (!writing_) {
    writing_ = true;
    lock.unlock();
    schedule_write();
  }
}

void Peer::do_close(net::CloseInfo info, Errc code) {
  if (closed_) return;
  closed_ = true;
  {
    std::lock_guard lock(out_mutex_);
    out_closed_ = true;
  }
  timer_.cancel();
  deadline_timer_.cancel();
  {
    // The shutdown wakes a caller reading the socket (await_reply), which
    // then lets go of the shared lock; no one uses the descriptor after.
    asio::error_code ec;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    std::unique_lock fd_lock(fd_mutex_);
    fd_closed_ = true;
    socket_.close(ec);
  }
  for (detail::PendingCall* call : calls_.close()) call->fail(code, info.reason);
  // Calls only arrive once authenticated: the many connections that never
  // get there (handshake floods, refusals) cost the dispatcher nothing.
  if (authenticated()) call_handler_.on_connection_closed(shared_from_this(), info.reason);
  events_.on_closed(shared_from_this(), info);
}

}  // namespace fly::net
