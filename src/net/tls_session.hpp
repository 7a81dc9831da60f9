// One connection's TLS 1.3 session, driven by hand: the Peer reads and writes
// its socket itself, exactly as in plaintext, and passes the bytes through
// here — ciphertext in, plaintext out (open), and back (seal).
//
// Why not asio::ssl::stream: its SSL object belongs to whoever runs the
// stream's composed operations (the strand), so every TLS write hopped to the
// strand and a blocking caller could never read its own reply — two thread
// wake-ups per call that plaintext does not pay. Here one mutex guards the
// SSL object instead, and whoever owns a side of the connection (a sender
// that became the writer, the strand, a blocking caller leading the reads)
// seals or opens on its own thread. The mutex is held for one OpenSSL call on
// bytes already in memory, never across a system call; seal and open contend
// only when a write and a read of the same connection overlap.
//
// OpenSSL reads and writes through a BIO of ours that points at the buffers
// of the call in progress: ciphertext is copied once, straight from the
// socket's buffer into OpenSSL's record buffer, with no BIO pair in between.
#pragma once

#include <openssl/ssl.h>

#include <atomic>
#include <mutex>
#include <span>
#include <system_error>

#include "fly/detail/buffer.hpp"

namespace fly::net {

class TlsContext;

class TlsSession {
 public:
  /// `outbound`: we dialled, so we are the TLS client. Sets this side's
  /// verification (see TlsContext). Throws std::bad_alloc if OpenSSL cannot
  /// make the SSL object.
  TlsSession(TlsContext& context, bool outbound);
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  enum class Progress { done, want_read, failed };
  /// One step of the handshake: consumes what OpenSSL takes from the front of
  /// `in` and appends the flight to send, if any, to `out` (also on failure:
  /// the alert that tells the other side why). REQUIRES: no seal() or open()
  /// before it returned done. Costs one SSL_do_handshake.
  Progress handshake(detail::Buffer& in, detail::Buffer& out);

  /// Encrypts `plain` into records appended to `out`, after any bytes an
  /// open() made for the other end meanwhile (see pending_). False once the
  /// session has failed (error()). Any thread; takes the mutex.
  bool seal(std::span<const char> plain, detail::Buffer& out);

  enum class Opened {
    ok,      ///< every whole record in `in` opened (OpenSSL keeps a partial one)
    closed,  ///< the other end sent close_notify (what came before it is in `plain`)
    failed   ///< a bad record or an alert: see error()
  };
  /// Decrypts the records in `in`, appending their plaintext to `plain`;
  /// leaves `in` empty (the start of a record not yet whole waits inside
  /// OpenSSL for the rest). Any thread; takes the mutex.
  Opened open(detail::Buffer& in, detail::Buffer& plain);

  /// The first failure, in asio's SSL error category (an OpenSSL error code)
  /// as asio::ssl::stream reported them, so describe_tls_error() applies.
  std::error_code error() const;
  bool failed() const noexcept { return failed_.load(std::memory_order_acquire); }

  /// For inspecting the session (the peer's verify result). Not for I/O.
  SSL* native() noexcept { return ssl_; }

 private:
  friend struct TlsSessionBio;
  /// Records the failure of an SSL call that returned `ret` (mutex held).
  void fail(int ret);
  /// Drops the first `in_used_` bytes of `in` (what OpenSSL read).
  void consume(detail::Buffer& in);

  SSL* ssl_ = nullptr;
  mutable std::mutex mutex_;
  // The BIO's view of the call in progress (mutex held): what it may read
  // (in_, in_used_ of it taken) and where it writes (out_; null: pending_).
  const char* in_ = nullptr;
  std::size_t in_size_ = 0;
  std::size_t in_used_ = 0;
  detail::Buffer* out_ = nullptr;
  /// What OpenSSL wrote while opening, sent ahead of the next seal(). OpenSSL
  /// 3 writes nothing there but the alert of a failure (after which nothing
  /// is sealed) and answers a KeyUpdate with its next write, so no writer is
  /// woken for it: a connection seals at least a PING per heartbeat interval.
  detail::Buffer pending_;
  std::atomic<bool> failed_{false};
  std::error_code error_;
};

}  // namespace fly::net
