// Peer's read side. rbuf_ has one owner at a time (read_state_): the strand
// (do_read, on_readable) or a blocking caller reading its own reply
// (await_reply, lead_reads, leader/follower). The caller completes REPLYs of
// blocking calls only and hands any other frame back to the strand. With TLS
// the owner also opens the records it receives (recv_into_rbuf).
#include <asio/bind_executor.hpp>
#include <asio/post.hpp>

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "base/log.hpp"
#include "net/peer.hpp"
#include "net/peer_buffers.hpp"
#include "net/tls_session.hpp"
#include "telemetry/node_metrics.hpp"

namespace fly::net {

void Peer::do_read() {
  if (closed_ || reading_stopped_) return;
  // Wait for readability only, and read in on_readable(), so that a
  // blocking caller may read in between (await_reply). One wait out at a
  // time: on_readable() also runs when a caller hands the read side back.
  if (wait_armed_) return;
  wait_armed_ = true;
  socket_.async_wait(
      asio::socket_base::wait_read,
      asio::bind_executor(strand_, [self = shared_from_this()](const asio::error_code& ec) {
        self->wait_armed_ = false;
        if (ec) {
          self->io_failed(true, ec);
          return;
        }
        self->on_readable(false);
      }));
}

ssize_t Peer::recv_into_rbuf(std::size_t& room) {
  if (!tls_) {
    char* at = rbuf_.prepare(read_chunk_);
    room = rbuf_.capacity() - rbuf_.size();
    const ssize_t n = ::recv(fd_, at, room, MSG_DONTWAIT);
    if (n > 0) {
      rbuf_.resize(rbuf_.size() + static_cast<std::size_t>(n));
      note_received(static_cast<std::size_t>(n));
      if (static_cast<std::size_t>(n) == room) grow_read_chunk();
    }
    return n;  // errno as recv(2) left it when negative
  }
  if (tls_->failed()) {
    errno = EPROTO;
    return -1;
  }
  if (tls_closed_) return 0;
  char* at = cin_.prepare(read_chunk_);
  room = cin_.capacity() - cin_.size();
  const ssize_t n = ::recv(fd_, at, room, MSG_DONTWAIT);
  if (n <= 0) return n;
  if (static_cast<std::size_t>(n) == room) grow_read_chunk();
  cin_.resize(cin_.size() + static_cast<std::size_t>(n));
  note_received(static_cast<std::size_t>(n));
  const TlsSession::Opened opened = tls_->open(cin_, rbuf_);
  if (cin_.empty()) cin_.shrink_if_above(net::kKeepBuffer);
  if (opened == TlsSession::Opened::failed) {
    errno = EPROTO;
    return -1;
  }
  // close_notify: the plaintext before it is handled first; the next read is
  // the end of the stream.
  if (opened == TlsSession::Opened::closed) tls_closed_ = true;
  return n;
}

void Peer::note_received(std::size_t n) noexcept {
  bytes_received_.fetch_add(n, std::memory_order_relaxed);
  if (settings_.metrics) settings_.metrics->bytes_received(n);
  last_recv_.store(Clock::now().time_since_epoch().count(), std::memory_order_relaxed);
}

bool Peer::try_own_read_as_caller() noexcept {
  std::uint8_t expected = 0;
  return read_state_.compare_exchange_strong(expected, kReadOwned, std::memory_order_acquire,
                                             std::memory_order_relaxed);
}

bool Peer::own_read_on_strand() noexcept {
  std::uint8_t state = read_state_.load(std::memory_order_relaxed);
  for (;;) {
    if ((state & kReadOwned) == 0) {
      if (read_state_.compare_exchange_weak(state, kReadOwned, std::memory_order_acquire,
                                            std::memory_order_relaxed)) {
        return true;
      }
    } else if ((state & kReadHandBack) != 0 ||
               read_state_.compare_exchange_weak(state, state | kReadHandBack,
                                                 std::memory_order_relaxed,
                                                 std::memory_order_relaxed)) {
      return false;  // the caller reading now posts on_readable when it lets go
    }
  }
}

void Peer::release_read_as_caller(bool hand_back) {
  caller_has_read_.store(true, std::memory_order_relaxed);
  const std::uint8_t state = read_state_.exchange(0, std::memory_order_release);
  if (hand_back || (state & kReadHandBack) != 0) {
    asio::post(strand_, [self = shared_from_this(), hand_back] { self->on_readable(hand_back); });
  }
}

void Peer::on_readable(bool left_by_caller) {
  if (closed_ || reading_stopped_) return;
  // Since a caller read the socket, a wake-up may be for bytes it took:
  // peek before taking the read side, so that a caller starting its next
  // call right now finds it free. (Connections without leading callers,
  // a server's, never pay for the peek.)
  if (!left_by_caller && caller_has_read_.exchange(false, std::memory_order_relaxed)) {
    char byte;
    if (::recv(fd_, &byte, 1, MSG_PEEK | MSG_DONTWAIT) < 0 &&
        (errno == EAGAIN || errno == EWOULDBLOCK)) {
      do_read();
      return;
    }
  }
  if (!own_read_on_strand()) return;
  // Whole frames a leading caller left (the first one not a REPLY it handles).
  if (!rbuf_.empty() && !handle_buffered_frames()) return;
  for (;;) {
    std::size_t room = 0;
    const ssize_t n = recv_into_rbuf(room);
    if (n > 0) {
      if (!handle_buffered_frames()) return;
      if (static_cast<std::size_t>(n) < room && !tls_closed_) break;  // drained, most likely
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    reading_stopped_ = true;  // keeps the read side: no caller reads a dead socket
    const int leader_errno = leader_errno_.exchange(0, std::memory_order_relaxed);
    if (tls_ && tls_->failed()) {
      io_failed(true, tls_->error());
    } else if (n == 0 && leader_errno == 0) {
      io_failed(true, asio::error::eof);
    } else {
      io_failed(true, asio::error_code(n == 0 ? leader_errno : errno, asio::system_category()));
    }
    return;
  }
  read_state_.store(0, std::memory_order_release);
  do_read();
}

void Peer::consume_front(std::size_t offset) {
  // Keep the unparsed tail at the front; make room for a frame that the
  // header says is larger than the buffer (already checked against the max).
  const std::size_t rest = rbuf_.size() - offset;
  if (offset > 0 && rest > 0) std::memmove(rbuf_.data(), rbuf_.data() + offset, rest);
  rbuf_.resize(rest);
  if (rest == 0) {
    rbuf_.shrink_if_above(net::kKeepBuffer);
  } else if (rest >= wire::kHeaderSize) {
    rbuf_.reserve(wire::kLengthFieldSize + wire::peek_frame_length(rbuf_.data()));
  }
}

// ---- a blocking caller reading its own reply (leader/follower) ----------------------

bool Peer::await_reply(std::binary_semaphore& done, Clock::time_point deadline) {
  if (done.try_acquire()) return true;
  // Lead only when this is the connection's one call in flight: with more,
  // the I/O thread already reads for them all, and a caller that stops
  // reading once its own reply is in would only add hand-overs (measured:
  // 8 blocking callers on one connection, 12% fewer calls/s when every
  // caller could lead).
  if (authenticated() && calls_.size() <= 1 && try_own_read_as_caller()) {
    const LeadResult result = lead_reads(done, deadline);
    release_read_as_caller(result.hand_back);
    if (result.done) return true;
  }
  return done.try_acquire_until(deadline);
}

Peer::LeadResult Peer::lead_reads(std::binary_semaphore& done, Clock::time_point deadline) {
  std::shared_lock fd_lock(fd_mutex_);
  if (fd_closed_) return {};
  for (;;) {
    const bool all_handled = handle_buffered_replies();
    if (done.try_acquire()) return {true, !all_handled};
    if (!all_handled) return {false, true};
    const auto left = deadline - Clock::now();
    if (left <= Clock::duration::zero()) return {};
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
    const timespec wait{static_cast<std::time_t>(ns / 1'000'000'000),
                        static_cast<long>(ns % 1'000'000'000)};
    pollfd pfd{fd_, POLLIN, 0};
    const int ready = ::ppoll(&pfd, 1, &wait, nullptr);
    if (ready == 0) return {};  // deadline
    if (ready < 0) {
      if (errno == EINTR) continue;
      return {false, true};
    }
    std::size_t room = 0;
    const ssize_t n = recv_into_rbuf(room);
    if (n > 0 && !tls_closed_) continue;
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
    // End of stream (TLS: close_notify, after frames the strand handles) or
    // an error: the strand sees it again and closes.
    if (n < 0) leader_errno_.store(errno, std::memory_order_relaxed);
    return {done.try_acquire(), true};
  }
}

bool Peer::handle_buffered_replies() {
  std::size_t offset = 0;
  bool all_handled = true;
  for (;;) {
    wire::FrameView frame;
    std::string error;
    const auto status = wire::parse_frame({rbuf_.data() + offset, rbuf_.size() - offset},
                                          settings_.max_frame_size, frame, error);
    if (status == wire::ParseStatus::need_more) break;
    wire::ReplyView reply;
    if (status == wire::ParseStatus::error || frame.type != wire::FrameType::reply ||
        !wire::decode_reply(frame.payload, reply, error)) {
      all_handled = false;  // the strand handles it (and any error) in order
      break;
    }
    bool io_thread_only = false;
    detail::PendingCall* call = calls_.take_for_any_thread(reply.request_id, io_thread_only);
    if (io_thread_only) {
      all_handled = false;  // an async call's: completes on an I/O thread
      break;
    }
    if (call != nullptr) complete_reply(*call, reply);  // else withdrawn: ignored
    offset += frame.total_size;
  }
  consume_front(offset);
  return all_handled;
}

void Peer::complete_reply(detail::PendingCall& call, const wire::ReplyView& reply) {
  call.replied_at = Clock::now();
  const auto rtt = call.replied_at - call.sent_at;
  record_rtt(rtt);
  if (settings_.verbose) {
    fly::log::get().info("flyrpc RESP {} from {} ({}): {} in {} us", call.function_name,
                         handshake_.peer().name, handshake_.peer().region, to_string(reply.status),
                         std::chrono::duration_cast<std::chrono::microseconds>(rtt).count());
  }
  call.complete(reply.status, reply.body);
}

void Peer::record_rtt(Clock::duration rtt) noexcept {
  const auto us = static_cast<std::uint32_t>(std::min<std::int64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(rtt).count(), UINT32_MAX));
  const std::uint32_t old = srtt_us_.load(std::memory_order_relaxed);
  // EWMA with gain 1/8, as TCP's SRTT; a lost update under a race is harmless.
  srtt_us_.store(old == 0 ? us : old - old / 8 + us / 8, std::memory_order_relaxed);
}

}  // namespace fly::net
