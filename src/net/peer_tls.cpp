// Peer over TLS: the TLS handshake that precedes HELLO, and the two hooks the
// read and write paths call (the session itself is net/tls_session.hpp).
#include <asio/bind_executor.hpp>
#include <asio/post.hpp>
#include <asio/ssl/error.hpp>
#include <asio/write.hpp>

#include <sys/socket.h>

#include "base/log.hpp"
#include "net/peer.hpp"
#include "net/peer_buffers.hpp"
#include "net/tls.hpp"
#include "net/tls_session.hpp"

namespace fly::net {

namespace {
// A handshake flight is a few KiB (certificate chains); one read asks for this.
constexpr std::size_t kHandshakeRead = 16 * 1024;
}  // namespace

// Strand. The handshake holds the writer role (writing_, set at construction)
// and the read side: nothing else touches wbuf_ or cin_ until it is done.
void Peer::tls_handshake() {
  if (closed_) return;
  const TlsSession::Progress progress = tls_->handshake(cin_, wbuf_);
  if (progress == TlsSession::Progress::failed) {
    tls_handshake_failed(tls_->error());
    return;
  }
  if (progress == TlsSession::Progress::done) {
    tls_established_ = true;
    // Records that came with the other side's last flight (its HELLO).
    if (!cin_.empty() && tls_->open(cin_, rbuf_) == TlsSession::Opened::failed) {
      io_failed(true, tls_->error());
      return;
    }
    detail::Buffer hello;
    handshake_.start(hello);
    send_raw(hello);    // queued: the handshake still holds the writer role
    do_write();         // our last flight (in wbuf_), then HELLO, via the strand's chain
    on_readable(true);  // frames already opened, then the socket
    return;
  }
  if (!wbuf_.empty()) {
    asio::async_write(socket_, asio::buffer(wbuf_.data(), wbuf_.size()),
                      asio::bind_executor(strand_, [self = shared_from_this()](
                                                       const asio::error_code& ec, std::size_t n) {
                        if (self->closed_) return;  // timed out or closed meanwhile
                        if (ec) {
                          self->tls_handshake_failed(ec);
                          return;
                        }
                        self->note_sent(n);
                        self->wbuf_.clear();
                        self->tls_handshake();
                      }));
    return;
  }
  char* at = cin_.prepare(kHandshakeRead);
  socket_.async_read_some(
      asio::buffer(at, cin_.capacity() - cin_.size()),
      asio::bind_executor(
          strand_, [self = shared_from_this()](const asio::error_code& ec, std::size_t n) {
            if (self->closed_) return;
            if (ec) {
              // Closed mid-handshake: what asio's SSL stream called it.
              self->tls_handshake_failed(ec == asio::error::eof ? asio::ssl::error::stream_truncated
                                                                : ec);
              return;
            }
            self->cin_.resize(self->cin_.size() + n);
            self->note_received(n);
            self->tls_handshake();
          }));
}

void Peer::tls_handshake_failed(const std::error_code& ec) {
  // Tell the other side why (the alert OpenSSL made, if any), best effort:
  // one non-blocking send, the connection closes right after.
  if (!wbuf_.empty()) {
    (void)::send(fd_, wbuf_.data(), wbuf_.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    wbuf_.clear();
  }
  const std::string reason = std::string("TLS handshake ") + (outbound() ? "with " : "from ") +
                             remote_address_ + " failed: " + net::describe_tls_error(ec, *tls_);
  fly::log::get().warn("flyrpc: {}", reason);
  do_close({reason, false, std::nullopt, std::nullopt}, Errc::node_down);
}

bool Peer::seal_taken() {
  if (plain_out_.empty()) return true;
  const bool sealed = tls_->seal(plain_out_.view(), wbuf_);
  plain_out_.clear();
  plain_out_.shrink_if_above(net::kKeepBuffer);
  if (sealed) return true;
  // The session failed (a bad record read meanwhile, most likely): the
  // writer role stays taken, the strand closes and fails the calls.
  wbuf_.clear();
  asio::post(strand_, [self = shared_from_this()] { self->io_failed(false, self->tls_->error()); });
  return false;
}

}  // namespace fly::net
