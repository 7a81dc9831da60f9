// Peer's frame dispatch: a batch of whole frames read from the connection
// (handle_buffered_frames) is handled in one go on the strand, and the frames
// its handlers send (replies, calls started meanwhile) leave in one write when
// the batch ends (ReadBatch). Before authentication frames go to the
// handshake; after it, each to the layer it is for.
#include <string>

#include "base/log.hpp"
#include "net/peer.hpp"

namespace fly::net {

namespace {
// A TLS record header (handshake or alert, version 3.x): what a plaintext
// node receives from a TLS one. Only asked on the error path.
bool looks_like_tls(const detail::Buffer& b) {
  if (b.size() < 3) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(b.data());
  constexpr unsigned char kHandshake = 0x16, kAlert = 0x15, kMajor = 0x03, kMaxMinor = 0x04;
  return (p[0] == kHandshake || p[0] == kAlert) && p[1] == kMajor && p[2] <= kMaxMinor;
}

}  // namespace

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
      calls_received_.store(calls_received_.load(std::memory_order_relaxed) + 1,
                            std::memory_order_relaxed);
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
  detail::Buffer out;
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
  if (detail::PendingCall* call = calls_.take(reply.request_id)) complete_reply(*call, reply);
  return true;
}

}  // namespace fly::net
