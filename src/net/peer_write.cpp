// Peer's write side: a sender that finds no writer writes at once from its
// own thread (write_as_sender); the rest goes through the strand's write
// chain (do_write). See send() in peer.hpp. With TLS the writer seals what it
// took before writing, on its own thread (seal_taken, peer_tls.cpp).
#include <asio/bind_executor.hpp>
#include <asio/post.hpp>
#include <asio/write.hpp>

#include <sys/socket.h>

#include <cstring>

#include "net/peer.hpp"
#include "net/peer_buffers.hpp"
#include "telemetry/node_metrics.hpp"

namespace fly::net {

void Peer::write_as_sender() {
  if (tls_ && !seal_taken()) return;
  ssize_t n = -1;
  {
    std::shared_lock fd_lock(fd_mutex_);
    if (!fd_closed_) n = ::send(fd_, wbuf_.data(), wbuf_.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  }
  if (n > 0) {
    const auto written = static_cast<std::size_t>(n);
    note_sent(written);
    const std::size_t rest = wbuf_.size() - written;
    if (rest > 0) std::memmove(wbuf_.data(), wbuf_.data() + written, rest);
    wbuf_.resize(rest);
    if (rest == 0) wbuf_.shrink_if_above(net::kKeepBuffer);
  }
  if (wbuf_.empty()) {
    std::lock_guard lock(out_mutex_);
    if (out_.empty() && !close_after_flush_) {
      writing_ = false;
      return;
    }
  }
  // EAGAIN, an error (the strand's write reports it and closes), a partial
  // write, frames queued meanwhile, or a close waiting for the flush.
  schedule_write();
}

void Peer::flush_deferred() {
  {
    std::lock_guard lock(out_mutex_);
    take_queued();
  }
  write_as_sender();
}

void Peer::note_sent(std::size_t n) noexcept {
  if (settings_.metrics) settings_.metrics->bytes_sent(n);
  last_send_.store(Clock::now().time_since_epoch().count(), std::memory_order_relaxed);
}

void Peer::schedule_write() {
  asio::post(strand_, [self = shared_from_this()] { self->do_write(); });
}

// On the strand, as the writer. Writes what a sender left in wbuf_, then
// takes everything queued and writes it in one go, until nothing is left.
void Peer::do_write() {
  if (!wbuf_.empty() && closed_) wbuf_.clear();
  if (wbuf_.empty()) {
    std::unique_lock lock(out_mutex_);
    if (out_.empty() || closed_) {
      writing_ = false;
      if (close_after_flush_ && !closed_) {
        asio::post(strand_, [self = shared_from_this()] {
          self->do_close({self->close_after_flush_reason_, self->authenticated(), std::nullopt,
                          self->refused_by_us_},
                         Errc::node_down);
        });
      }
      return;
    }
    take_queued();
    lock.unlock();
    if (tls_ && !seal_taken()) return;
  }
  auto on_written = asio::bind_executor(
      strand_, [self = shared_from_this()](const asio::error_code& ec, std::size_t n) {
        if (ec) {
          self->io_failed(false, ec);
          return;
        }
        self->note_sent(n);
        self->wbuf_.clear();
        self->wbuf_.shrink_if_above(net::kKeepBuffer);
        self->do_write();
      });
  asio::async_write(socket_, asio::buffer(wbuf_.data(), wbuf_.size()), std::move(on_written));
}

}  // namespace fly::net
