#include "wire_peer.hpp"

#include <algorithm>

#include "wire/frames.hpp"
#include "wire/handshake.hpp"

namespace flytest {

namespace {

fly::wire::FrameView view_of(const RawFrame& f) {
  fly::wire::FrameView v;
  v.type = static_cast<fly::wire::FrameType>(f.type);
  v.payload = fly::wire::Bytes(f.payload.data(), f.payload.size());
  v.total_size = 5 + f.payload.size();
  return v;
}

}  // namespace

WirePeer::WirePeer(const std::string& address, std::string cookie, std::string name)
    : raw_(address), cookie_(std::move(cookie)), name_(std::move(name)) {}

bool WirePeer::authenticate(std::chrono::milliseconds timeout, std::string_view after_auth) {
  fly::wire::Hello mine;
  mine.name = name_;
  mine.region = "syd";
  mine.hidden = true;
  mine.incarnation = fly::wire::make_incarnation();
  fly::wire::Handshake handshake(cookie_, mine);
  fly::wire::Buffer out;
  handshake.start(out);
  raw_.send({out.data(), out.size()});
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (handshake.step() == fly::wire::Handshake::Step::in_progress) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    auto frame = raw_.read_frame(std::max(left, std::chrono::milliseconds(0)));
    if (!frame) return false;
    out.clear();
    const bool had_auth_out = handshake.has_peer_hello();
    handshake.on_frame(view_of(*frame), out);
    // Our AUTH goes out when their HELLO arrives: pipeline the test's frames
    // right behind it, before the node has verified our proof.
    if (!had_auth_out && handshake.has_peer_hello() &&
        handshake.step() != fly::wire::Handshake::Step::failed) {
      out.write(after_auth.data(), after_auth.size());
    }
    raw_.send({out.data(), out.size()});
  }
  return handshake.step() == fly::wire::Handshake::Step::authenticated;
}

std::string WirePeer::call_frame(std::uint64_t id, std::string_view function,
                                 std::string_view args) {
  fly::wire::Buffer out;
  const std::size_t start = fly::wire::begin_call(out, id, 0, function);
  out.write(args.data(), args.size());
  fly::wire::end_frame(out, start);
  return std::string(out.data(), out.size());
}

std::uint64_t WirePeer::call(std::string_view function, std::string_view args) {
  const std::uint64_t id = next_id_++;
  raw_.send(call_frame(id, function, args));
  return id;
}

std::optional<WireReply> WirePeer::reply(std::uint64_t id, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    auto frame = raw_.read_frame(left);
    if (!frame) return std::nullopt;
    if (frame->type != kReply) continue;  // ANNOUNCE, PEERS, ACTIVATE, PING
    fly::wire::ReplyView view;
    std::string error;
    if (!fly::wire::decode_reply({frame->payload.data(), frame->payload.size()}, view, error) ||
        view.request_id != id) {
      continue;
    }
    WireReply r;
    r.status = view.status;
    r.body.assign(view.body.data(), view.body.size());
    if (view.status != fly::Errc::ok && !view.body.empty()) {
      fly::wire::decode_reply_strings(view.body, r.strings, error);
    }
    return r;
  }
}

}  // namespace flytest
