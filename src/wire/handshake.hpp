// The handshake as a pure state machine: frames in, frames out, no I/O, no
// clock (the connection owns the deadline). Both sides run the same machine;
// neither waits for the other to speak first.
//
//   start():            send HELLO (fresh 32-byte nonce)
//   on HELLO:           validate; agree on the highest common version (none:
//                       send REFUSE version, fail); send AUTH with
//                       proof = HMAC-SHA256(cookie, "flyrpc-auth-v1" | u16 version
//                                           | my HELLO payload | their HELLO payload)
//   on AUTH:            recompute their proof (their HELLO payload first) and
//                       compare in constant time: equal -> authenticated;
//                       else send REFUSE bad_cookie, fail
//   on REFUSE:          fail, peer_refused() = true
//   anything else, or a frame out of order: send REFUSE protocol, fail
//
// The cookie never crosses the wire; both nonces are fresh per connection, so
// a recorded AUTH is useless on another connection; each proof covers both
// HELLOs in sender-first order, so a proof cannot be reflected back to the
// node that made it.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>

#include "wire/frames.hpp"

namespace fly::wire {

/// 32 bytes from the kernel's CSPRNG (getrandom).
std::array<std::uint8_t, kNonceSize> make_nonce();
/// This process start's incarnation: later starts get greater numbers (the
/// start time in ms, then 20 random bits); never 0.
std::uint64_t make_incarnation();

/// HMAC-SHA256 (RFC 2104) of the concatenation of `message`'s parts.
std::array<std::uint8_t, kProofSize> hmac_sha256(std::string_view key,
                                                 std::initializer_list<Bytes> message);

/// HMAC-SHA256 proof; see above.
std::array<std::uint8_t, kProofSize> auth_proof(std::string_view cookie, std::uint16_t version,
                                                Bytes sender_hello_payload,
                                                Bytes receiver_hello_payload);

/// The highest version in both ranges, or 0 if there is none.
std::uint16_t negotiate_version(const Hello& mine, const Hello& theirs) noexcept;

class Handshake {
 public:
  enum class Step { in_progress, authenticated, failed };

  /// `mine.nonce` is overwritten with a fresh nonce. `cookie` must not be empty.
  Handshake(std::string cookie, Hello mine);

  /// Appends the HELLO frame to `out`. Call once, first.
  void start(Buffer& out);

  /// Feeds one received frame; may append frames to send to `out`. After
  /// `authenticated` or `failed`, further frames are not the handshake's
  /// business (calling again is a logic error and fails).
  Step on_frame(const FrameView& frame, Buffer& out);

  Step step() const noexcept { return step_; }
  /// Valid once their HELLO arrived.
  const Hello& peer() const noexcept { return peer_; }
  bool has_peer_hello() const noexcept { return have_peer_hello_; }
  /// The agreed version (valid once authenticated).
  std::uint16_t version() const noexcept { return version_; }

  /// Why it failed: our reason, or theirs if peer_refused().
  RefuseReason failure_reason() const noexcept { return failure_reason_; }
  const std::string& failure_message() const noexcept { return failure_message_; }
  bool peer_refused() const noexcept { return peer_refused_; }

 private:
  Step fail(Buffer& out, RefuseReason reason, std::string message);

  std::string cookie_;
  Hello mine_;
  Buffer my_hello_payload_;
  Hello peer_;
  Buffer peer_hello_payload_;
  bool started_ = false;
  bool have_peer_hello_ = false;
  bool sent_auth_ = false;
  std::uint16_t version_ = 0;
  Step step_ = Step::in_progress;
  RefuseReason failure_reason_ = RefuseReason::protocol;
  std::string failure_message_;
  bool peer_refused_ = false;
};

}  // namespace fly::wire
