// Peer over TLS: the TLS handshake that precedes HELLO (the stream itself is
// net/tls.hpp's; reads and writes pick it in peer_read.cpp / peer_write.cpp).
#include <asio/bind_executor.hpp>

#include "base/log.hpp"
#include "net/peer.hpp"
#include "net/tls.hpp"

namespace fly::net {

void Peer::tls_handshake() {
  tls_->stream.async_handshake(
      outbound() ? asio::ssl::stream_base::client : asio::ssl::stream_base::server,
      asio::bind_executor(strand_, [self = shared_from_this()](const asio::error_code& ec) {
        if (self->closed_) return;  // timed out or closed meanwhile
        if (ec) {
          const std::string reason =
              std::string("TLS handshake ") + (self->outbound() ? "with " : "from ") +
              self->remote_address_ + " failed: " + net::describe_tls_error(ec, *self->tls_);
          fly::log::get().warn("flyrpc: {}", reason);
          self->do_close({reason, false, std::nullopt, std::nullopt}, Errc::node_down);
          return;
        }
        self->tls_established_ = true;
        detail::Buffer hello;
        self->handshake_.start(hello);
        self->send_raw(hello);  // queued: the handshake still holds the writer role
        self->do_write();       // which passes to the strand's write chain here
        self->do_read();
      }));
}

}  // namespace fly::net
