#include "net/peer.hpp"

#include "net/heartbeat_tick.hpp"

#include <asio/bind_executor.hpp>
#include <asio/post.hpp>
#include <asio/write.hpp>
#include "base/log.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <ctime>

#include <cstring>
#include <stdexcept>

#include "base/host_port_format.hpp"
#include "net/tls.hpp"
#include "telemetry/node_metrics.hpp"

namespace fly::detail {

namespace {
std::atomic<std::uint64_t> next_peer_id{1};

std::string endpoint_string(const asio::ip::tcp::endpoint& ep) {
  const auto addr = ep.address();
  return join_host_port(addr.to_string(), ep.port());
}

// A TLS record header (handshake or alert, version 3.x): what a plaintext
// node receives from a TLS one. Only asked on the error path.
bool looks_like_tls(const Buffer& b) {
  if (b.size() < 3) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(b.data());
  return (p[0] == 0x16 || p[0] == 0x15) && p[1] == 0x03 && p[2] <= 0x04;
}

// Read-buffer memory kept between frames; a larger buffer (after a large
// frame) is released once drained.
constexpr std::size_t kReadChunk = 64 * 1024;
constexpr std::size_t kKeepBuffer = 1024 * 1024;

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

// How often a connection's timer looks at it: twice per heartbeat interval
// (or per handshake timeout, if shorter), so that a timeout is seen at most
// half an interval late.
std::chrono::milliseconds tick_of(const net::PeerSettings& s) {
  return std::max(std::chrono::milliseconds(10),
                  std::min(s.heartbeat_interval, s.handshake_timeout) / 2);
}
}  // namespace

Peer::Peer(asio::ip::tcp::socket socket, net::PeerSettings settings, net::PeerEvents& events,
           net::CallHandler& calls, std::string dialed_address)
    : socket_(std::move(socket)),
      fd_(socket_.native_handle()),
      strand_(asio::make_strand(io_executor_of(socket_))),
      timer_(strand_),
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
    tls_ = std::make_unique<net::TlsStream>(*settings_.tls, socket_, outbound());
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
    Buffer hello;
    self->handshake_.start(hello);
    self->send_raw(hello);
    self->arm_timer();
    self->do_read();
  });
}

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
        Buffer hello;
        self->handshake_.start(hello);
        self->send_raw(hello);  // queued: the handshake still holds the writer role
        self->do_write();       // which passes to the strand's write chain here
        self->do_read();
      }));
}

void Peer::send_raw(const Buffer& frames) {
  if (frames.empty()) return;
  send([&](Buffer& out) { out.write(frames.data(), frames.size()); });
}

void Peer::write_as_sender() {
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
    if (rest == 0) wbuf_.shrink_if_above(kKeepBuffer);
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

namespace {
// The batch of frames an I/O thread is handling (Peer::handle_buffered_frames), and the
// peers that became writers during it. Peers other than the one being read
// are held by a strong reference until the batch ends; past kMaxOthers they
// hop to their strand instead.
struct ReadBatch {
  static constexpr std::size_t kMaxOthers = 8;
  Peer* reading = nullptr;
  bool reading_deferred = false;
  std::size_t others = 0;
  std::shared_ptr<Peer> other[kMaxOthers];
};
thread_local ReadBatch t_batch;
}  // namespace

bool Peer::defer_to_read_batch() {
  ReadBatch& b = t_batch;
  if (b.reading == nullptr) return false;
  if (b.reading == this) {
    b.reading_deferred = true;
    return true;
  }
  if (b.others == ReadBatch::kMaxOthers) return false;
  b.other[b.others++] = shared_from_this();
  return true;
}

void Peer::end_read_batch() {
  ReadBatch& b = t_batch;
  b.reading = nullptr;
  if (b.reading_deferred) {
    b.reading_deferred = false;
    flush_deferred();
  }
  // Others are flushed one by one; taking each out first keeps the list
  // valid if a flush's own completion starts another batch on this thread.
  while (b.others > 0) {
    std::shared_ptr<Peer> peer = std::move(b.other[--b.others]);
    peer->flush_deferred();
  }
}

void Peer::flush_deferred() {
  if (tls_) {
    // TLS: the strand writes. The peer whose batch ends is on its strand.
    if (strand_.running_in_this_thread()) {
      do_write();
    } else {
      schedule_write();
    }
    return;
  }
  {
    std::lock_guard lock(out_mutex_);
    out_.swap(wbuf_);
  }
  write_as_sender();
}

void Peer::note_sent(std::size_t n) noexcept {
  bytes_sent_.fetch_add(n, std::memory_order_relaxed);
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
    std::lock_guard lock(out_mutex_);
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
    out_.swap(wbuf_);
  }
  auto on_written = asio::bind_executor(
      strand_, [self = shared_from_this()](const asio::error_code& ec, std::size_t n) {
        if (ec) {
          self->io_failed(false, ec);
          return;
        }
        self->note_sent(n);
        self->wbuf_.clear();
        self->wbuf_.shrink_if_above(kKeepBuffer);
        self->do_write();
      });
  const auto bytes = asio::buffer(wbuf_.data(), wbuf_.size());
  if (tls_) {
    asio::async_write(tls_->stream, bytes, std::move(on_written));
  } else {
    asio::async_write(socket_, bytes, std::move(on_written));
  }
}

void Peer::do_read() {
  if (closed_ || reading_stopped_) return;
  if (tls_) {
    char* at = rbuf_.prepare(kReadChunk);
    const std::size_t room = rbuf_.capacity() - rbuf_.size();
    tls_->stream.async_read_some(
        asio::buffer(at, room),
        asio::bind_executor(strand_,
                            [self = shared_from_this()](const asio::error_code& ec, std::size_t n) {
                              if (ec) {
                                self->io_failed(true, ec);
                                return;
                              }
                              self->on_read(n);
                            }));
    return;
  }
  // Plaintext: wait for readability only, and read in on_readable(), so
  // that a blocking caller may read in between (await_reply). One wait out
  // at a time: on_readable() also runs when a caller hands the read side back.
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

void Peer::on_read(std::size_t n) {
  if (closed_) return;
  rbuf_.resize(rbuf_.size() + n);
  note_received(n);
  if (handle_buffered_frames()) do_read();
}

ssize_t Peer::recv_into_rbuf(std::size_t& room) {
  char* at = rbuf_.prepare(kReadChunk);
  room = rbuf_.capacity() - rbuf_.size();
  const ssize_t n = ::recv(fd_, at, room, MSG_DONTWAIT);
  if (n > 0) {
    rbuf_.resize(rbuf_.size() + static_cast<std::size_t>(n));
    note_received(static_cast<std::size_t>(n));
  }
  return n;  // errno as recv(2) left it when negative
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
      if (static_cast<std::size_t>(n) < room) break;  // drained, most likely
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    reading_stopped_ = true;  // keeps the read side: no caller reads a dead socket
    const int leader_errno = leader_errno_.exchange(0, std::memory_order_relaxed);
    if (n == 0 && leader_errno == 0) {
      io_failed(true, asio::error::eof);
    } else {
      io_failed(true, asio::error_code(n == 0 ? leader_errno : errno, asio::system_category()));
    }
    return;
  }
  read_state_.store(0, std::memory_order_release);
  do_read();
}

bool Peer::handle_buffered_frames() {
  std::size_t offset = 0;
  {
    // Frames sent while this batch is handled are written once, when the
    // block ends (before the next read is started).
    t_batch.reading = this;
    struct EndBatch {
      Peer* peer;
      ~EndBatch() { peer->end_read_batch(); }
    } end_batch{this};
    while (!closed_) {
      wire::FrameView frame;
      std::string error;
      const auto status = wire::parse_frame({rbuf_.data() + offset, rbuf_.size() - offset},
                                            settings_.max_frame_size, frame, error);
      if (status == wire::ParseStatus::need_more) break;
      if (status == wire::ParseStatus::error) {
        protocol_error(offset == 0 && !authenticated() && !tls_ && looks_like_tls(rbuf_)
                           ? "TLS bytes (a TLS record) instead of HELLO: TLS is on at the other "
                             "node and off here (README \"TLS\")"
                           : error);
        reading_stopped_ = true;
        return false;
      }
      if (!handle_frame(frame)) {
        reading_stopped_ = true;
        return false;
      }
      offset += frame.total_size;
    }
  }
  if (closed_) {
    reading_stopped_ = true;
    return false;
  }
  consume_front(offset);
  return true;
}

void Peer::consume_front(std::size_t offset) {
  // Keep the unparsed tail at the front; make room for a frame that the
  // header says is larger than the buffer (already checked against the max).
  const std::size_t rest = rbuf_.size() - offset;
  if (offset > 0 && rest > 0) std::memmove(rbuf_.data(), rbuf_.data() + offset, rest);
  rbuf_.resize(rest);
  if (rest == 0) {
    rbuf_.shrink_if_above(kKeepBuffer);
  } else if (rest >= wire::kHeaderSize) {
    const auto* p = reinterpret_cast<const unsigned char*>(rbuf_.data());
    const std::size_t length = (std::size_t{p[0]} << 24) | (std::size_t{p[1]} << 16) |
                               (std::size_t{p[2]} << 8) | std::size_t{p[3]};
    rbuf_.reserve(4 + length);
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
  if (!tls_ && authenticated() && calls_.size() <= 1 && try_own_read_as_caller()) {
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
    if (n > 0) continue;
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
    // End of stream or an error: the strand sees it again and closes.
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
    PendingCall* call = calls_.take_for_any_thread(reply.request_id, io_thread_only);
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

bool Peer::handle_frame(const wire::FrameView& frame) {
  if (!authenticated()) return handle_handshake_frame(frame);
  std::string error;
  switch (frame.type) {
    case wire::FrameType::call: {
      wire::CallView call;
      if (!wire::decode_call(frame.payload, call, error)) {
        protocol_error(error);
        return false;
      }
      call_handler_.on_call(shared_from_this(), call);
      return !closed_;
    }
    case wire::FrameType::reply:
      return handle_reply(frame) && !closed_;
    case wire::FrameType::cancel: {
      std::uint64_t id = 0;
      if (!wire::decode_cancel(frame.payload, id, error)) {
        protocol_error(error);
        return false;
      }
      call_handler_.on_cancel(shared_from_this(), id);
      return true;
    }
    case wire::FrameType::ping:
      return true;
    case wire::FrameType::refuse: {
      wire::Refuse refuse;
      if (!wire::decode_refuse(frame.payload, refuse, error)) {
        protocol_error(error);
        return false;
      }
      do_close({"refused by peer: " + std::string(wire::to_string(refuse.reason)) +
                    (refuse.message.empty() ? "" : " (" + refuse.message + ")"),
                true, refuse.reason, std::nullopt},
               Errc::node_down);
      return false;
    }
    case wire::FrameType::announce:
    case wire::FrameType::activate:
    case wire::FrameType::peers:
    case wire::FrameType::goodbye:
      events_.on_control_frame(shared_from_this(), frame);
      return !closed_;
    case wire::FrameType::hello:
    case wire::FrameType::auth:
      protocol_error(std::string(wire::to_string(frame.type)) + " after the handshake");
      return false;
  }
  protocol_error("unexpected frame");
  return false;
}

bool Peer::handle_handshake_frame(const wire::FrameView& frame) {
  if (frame.type == wire::FrameType::goodbye) {
    // The peer stops before the handshake ended (a tool that finished its
    // call while gossip had it dialling us): a normal close, not a refusal.
    fly::log::get().debug("flyrpc: {} said goodbye during the handshake", remote_address_);
    do_close({"goodbye during the handshake", false, std::nullopt, std::nullopt}, Errc::node_down);
    return false;
  }
  Buffer out;
  const auto step = handshake_.on_frame(frame, out);
  send_raw(out);
  switch (step) {
    case wire::Handshake::Step::in_progress:
      return true;
    case wire::Handshake::Step::authenticated:
      authenticated_.store(true, std::memory_order_release);
      events_.on_authenticated(shared_from_this());
      return !closed_;
    case wire::Handshake::Step::failed:
      break;
  }
  net::CloseInfo info;
  info.authenticated = false;
  if (handshake_.peer_refused()) {
    info.refused_by_peer = handshake_.failure_reason();
    info.reason =
        "refused by " + remote_address_ + ": " + wire::to_string(handshake_.failure_reason()) +
        (handshake_.failure_message().empty() ? "" : " (" + handshake_.failure_message() + ")");
    fly::log::get().log(outbound() ? spdlog::level::debug : spdlog::level::warn, "flyrpc: {}",
                        info.reason);
    do_close(std::move(info), Errc::node_down);
  } else {
    info.refused_by_us = handshake_.failure_reason();
    refused_by_us_ = info.refused_by_us;
    info.reason =
        std::string("refused ") + (outbound() ? "connection to " : "connection from ") +
        remote_address_ + ": " + wire::to_string(handshake_.failure_reason()) +
        (handshake_.failure_message().empty() ? "" : " (" + handshake_.failure_message() + ")");
    // Inbound refusals are the ones an operator must see (a wrong cookie,
    // a port scan); our own failed dials are reported by the dialer.
    fly::log::get().log(outbound() ? spdlog::level::debug : spdlog::level::warn, "flyrpc: {}",
                        info.reason);
    close_after_flush(info.reason);
  }
  return false;
}

bool Peer::handle_reply(const wire::FrameView& frame) {
  wire::ReplyView reply;
  std::string error;
  if (!wire::decode_reply(frame.payload, reply, error)) {
    protocol_error(error);
    return false;
  }
  // A reply for a call that was withdrawn (timeout) or never made is ignored.
  if (PendingCall* call = calls_.take(reply.request_id)) complete_reply(*call, reply);
  return true;
}

void Peer::complete_reply(PendingCall& call, const wire::ReplyView& reply) {
  const auto rtt = Clock::now() - call.sent_at;
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

void Peer::protocol_error(const std::string& what) {
  const std::string reason = "protocol error from " + remote_address_ + ": " + what;
  fly::log::get().warn("flyrpc: {}", reason);
  Buffer refuse;
  wire::encode_refuse(refuse, {wire::RefuseReason::protocol, what.substr(0, 1024)});
  send_raw(refuse);
  refused_by_us_ = wire::RefuseReason::protocol;
  close_after_flush(reason);
  // Stop reading now: nothing more from this peer is trusted.
  asio::error_code ec;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_receive, ec);
}

void Peer::arm_timer() {
  const auto tick = tick_of(settings_);
  // On the process's shared grid: one reactor wake-up per tick for all peers.
  timer_.expires_at(net::next_heartbeat_tick(Clock::now(), tick, net::heartbeat_phase(tick)));
  timer_.async_wait([self = shared_from_this()](const asio::error_code& ec) {
    if (!ec) self->on_tick();
  });
}

void Peer::on_tick() {
  if (closed_) return;
  const auto now = Clock::now();
  if (!authenticated()) {
    if (now - started_at_ >= settings_.handshake_timeout) {
      refused_by_us_ = wire::RefuseReason::handshake_timeout;
      Buffer refuse;
      wire::encode_refuse(refuse, {wire::RefuseReason::handshake_timeout,
                                   "no authentication within the handshake timeout"});
      send_raw(refuse);
      const std::string reason = "handshake with " + remote_address_ + " timed out" +
                                 (tls_ && !tls_established_ ? " (TLS handshake not finished)" : "");
      fly::log::get().warn("flyrpc: {}", reason);
      do_close({reason, false, std::nullopt, refused_by_us_}, Errc::node_down);
      return;
    }
  } else {
    const Clock::time_point received{Clock::duration(last_recv_.load(std::memory_order_relaxed))};
    if (now - received >= settings_.heartbeat_timeout) {
      do_close({"heartbeat timeout (nothing received for " +
                    std::to_string(settings_.heartbeat_timeout.count()) + " ms)",
                true, std::nullopt, std::nullopt},
               Errc::node_down);
      return;
    }
    const Clock::time_point sent{Clock::duration(last_send_.load(std::memory_order_relaxed))};
    // Ticks come every interval/2 (or faster); a PING is due at the first tick
    // that is at least 3/4 of the interval after the last frame sent, so on an
    // idle connection it leaves every interval, on the grid, not on every
    // other tick nor a tick late because the last write finished after it.
    if (now - sent >= settings_.heartbeat_interval - tick_of(settings_) / 2) {
      // Counts as sent at once, so that a slow write does not queue a
      // second PING; the write itself refreshes it.
      last_send_.store(now.time_since_epoch().count(), std::memory_order_relaxed);
      send([](Buffer& out) { wire::encode_ping(out); });
    }
  }
  arm_timer();
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
  {
    // The shutdown wakes a caller reading the socket (await_reply), which
    // then lets go of the shared lock; no one uses the descriptor after.
    asio::error_code ec;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    std::unique_lock fd_lock(fd_mutex_);
    fd_closed_ = true;
    socket_.close(ec);
  }
  for (PendingCall* call : calls_.close()) call->fail(code, info.reason);
  // Calls only arrive once authenticated: the many connections that never
  // get there (handshake floods, refusals) cost the dispatcher nothing.
  if (authenticated()) call_handler_.on_connection_closed(shared_from_this(), info.reason);
  events_.on_closed(shared_from_this(), info);
}

}  // namespace fly::detail
