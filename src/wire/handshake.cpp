// The handshake state machine (wire/handshake.hpp states the protocol).
#include "wire/handshake.hpp"

#include <fmt/format.h>
#include <openssl/crypto.h>

#include <stdexcept>

#include "fly/detail/codec.hpp"

namespace fly::wire {

namespace {

// The version range of a HELLO this version cannot otherwise decode (a later
// version may have changed fields after the third): enough to answer "no
// common version" rather than "malformed", so releases N and N+1 negotiate.
bool peek_versions(Bytes payload, std::uint16_t& min, std::uint16_t& max) noexcept {
  try {
    msgpack::zone zone(1024);
    msgpack::object o;
    std::string ignored;
    if (!fly::detail::decode_value(zone, payload.data(), payload.size(), o, ignored)) return false;
    if (o.type != msgpack::type::ARRAY || o.via.array.size < 3) return false;
    const msgpack::object& a = o.via.array.ptr[0];
    const msgpack::object& b = o.via.array.ptr[1];
    if (a.type != msgpack::type::POSITIVE_INTEGER || b.type != msgpack::type::POSITIVE_INTEGER)
      return false;
    if (a.via.u64 < 1 || a.via.u64 > b.via.u64 || b.via.u64 > 0xffff) return false;
    min = static_cast<std::uint16_t>(a.via.u64);
    max = static_cast<std::uint16_t>(b.via.u64);
    return true;
  } catch (...) {
    return false;
  }
}

std::string no_common_version(const Hello& mine, std::uint16_t their_min, std::uint16_t their_max) {
  return fmt::format("no common protocol version: this node speaks {}-{}, the peer speaks {}-{}",
                     mine.min_version, mine.max_version, their_min, their_max);
}

}  // namespace

std::uint16_t negotiate_version(const Hello& mine, const Hello& theirs) noexcept {
  const std::uint16_t low = std::max(mine.min_version, theirs.min_version);
  const std::uint16_t high = std::min(mine.max_version, theirs.max_version);
  return low <= high ? high : 0;
}

Handshake::Handshake(std::string cookie, Hello mine)
    : cookie_(std::move(cookie)), mine_(std::move(mine)) {
  if (cookie_.empty()) throw std::invalid_argument("Handshake: the cookie must not be empty");
  mine_.nonce = make_nonce();
  Buffer frame;
  encode_hello(frame, mine_);
  const Bytes payload = frame.view().subspan(kHeaderSize);
  // Our own HELLO must pass the checks the peer will apply. If it does not,
  // the machine is failed from the start (no exception: it is built on an
  // I/O thread) and start() sends REFUSE protocol naming the bad field
  // instead of a HELLO every peer would refuse.
  std::string error;
  Hello check;
  if (!decode_hello(payload, check, error)) {
    step_ = Step::failed;
    failure_reason_ = RefuseReason::protocol;
    failure_message_ = "this node's own HELLO is invalid: " + error;
    return;
  }
  my_hello_payload_.write(payload.data(), payload.size());
}

void Handshake::start(Buffer& out) {
  if (started_) return;
  started_ = true;
  if (step_ == Step::failed) {
    encode_refuse(out, Refuse{failure_reason_, failure_message_});
    return;
  }
  const std::size_t start = begin_frame(out, FrameType::hello);
  out.write(my_hello_payload_.data(), my_hello_payload_.size());
  end_frame(out, start);
}

Handshake::Step Handshake::fail(Buffer& out, RefuseReason reason, std::string message) {
  step_ = Step::failed;
  failure_reason_ = reason;
  failure_message_ = std::move(message);
  encode_refuse(out, Refuse{reason, failure_message_});
  return step_;
}

Handshake::Step Handshake::on_frame(const FrameView& frame, Buffer& out) {
  if (step_ == Step::failed) return step_;
  if (step_ == Step::authenticated) {
    return fail(out, RefuseReason::protocol,
                fmt::format("{} frame fed to a finished handshake", to_string(frame.type)));
  }
  // Neither side waits for the other: our HELLO always precedes our AUTH.
  if (!started_) start(out);

  switch (frame.type) {
    case FrameType::refuse: {
      Refuse refuse;
      std::string error;
      step_ = Step::failed;
      peer_refused_ = true;
      if (decode_refuse(frame.payload, refuse, error)) {
        failure_reason_ = refuse.reason;
        failure_message_ = std::move(refuse.message);
      } else {
        // They are closing anyway; no REFUSE back.
        failure_reason_ = RefuseReason::protocol;
        failure_message_ = "the peer refused with a malformed REFUSE: " + error;
      }
      return step_;
    }

    case FrameType::hello: {
      if (have_peer_hello_) return fail(out, RefuseReason::protocol, "a second HELLO");
      Hello theirs;
      std::string error;
      if (!decode_hello(frame.payload, theirs, error)) {
        std::uint16_t min = 0;
        std::uint16_t max = 0;
        if (peek_versions(frame.payload, min, max) &&
            (max < mine_.min_version || min > mine_.max_version)) {
          return fail(out, RefuseReason::version, no_common_version(mine_, min, max));
        }
        return fail(out, RefuseReason::protocol, std::move(error));
      }
      peer_ = std::move(theirs);
      have_peer_hello_ = true;
      if (peer_.nonce == mine_.nonce) {
        // Our own HELLO came back: answering it would let a reflector replay
        // our AUTH as theirs.
        return fail(out, RefuseReason::protocol, "HELLO carries this node's own nonce (reflected)");
      }
      const std::uint16_t version = negotiate_version(mine_, peer_);
      if (version == 0) {
        return fail(out, RefuseReason::version,
                    no_common_version(mine_, peer_.min_version, peer_.max_version));
      }
      version_ = version;
      peer_hello_payload_.write(frame.payload.data(), frame.payload.size());
      Auth auth;
      auth.version = version;
      auth.proof =
          auth_proof(cookie_, version, my_hello_payload_.view(), peer_hello_payload_.view());
      encode_auth(out, auth);
      sent_auth_ = true;
      return step_;
    }

    case FrameType::auth: {
      if (!have_peer_hello_) return fail(out, RefuseReason::protocol, "AUTH before HELLO");
      Auth auth;
      std::string error;
      if (!decode_auth(frame.payload, auth, error)) {
        return fail(out, RefuseReason::protocol, std::move(error));
      }
      if (auth.version != version_) {
        return fail(out, RefuseReason::protocol,
                    fmt::format("AUTH: field 'version': {} is not the agreed version {}",
                                auth.version, version_));
      }
      const auto expected =
          auth_proof(cookie_, version_, peer_hello_payload_.view(), my_hello_payload_.view());
      if (CRYPTO_memcmp(expected.data(), auth.proof.data(), kProofSize) != 0) {
        return fail(out, RefuseReason::bad_cookie,
                    "the peer's cookie proof is wrong: the two nodes do not share a cookie "
                    "(check FLY_RPC_COOKIE), or the handshake was replayed or forged");
      }
      step_ = Step::authenticated;
      return step_;
    }

    default:
      return fail(out, RefuseReason::protocol,
                  fmt::format("unexpected {} frame during the handshake (before authentication)",
                              to_string(frame.type)));
  }
}

}  // namespace fly::wire
