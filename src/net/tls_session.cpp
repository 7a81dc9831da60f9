#include "net/tls_session.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>

#include <asio/ssl/error.hpp>

#include <cstring>
#include <new>

#include "net/tls.hpp"

namespace fly::net {

// The BIO under every session's SSL object: reads from and writes to the
// buffers the session points it at for one call (see tls_session.hpp). Its
// method table is made once per process and lives as long as it.
struct TlsSessionBio {
  static TlsSession& session(BIO* bio) { return *static_cast<TlsSession*>(BIO_get_data(bio)); }

  static int write(BIO* bio, const char* data, std::size_t size, std::size_t* written) {
    BIO_clear_retry_flags(bio);
    TlsSession& s = session(bio);
    if (s.out_ != nullptr) {
      s.out_->write(data, size);
    } else {
      // Made while opening: sent by the next seal() (tls_session.hpp).
      s.pending_.write(data, size);
    }
    *written = size;
    return 1;
  }

  static int read(BIO* bio, char* data, std::size_t size, std::size_t* read) {
    BIO_clear_retry_flags(bio);
    TlsSession& s = session(bio);
    const std::size_t left = s.in_size_ - s.in_used_;
    if (left == 0) {
      BIO_set_retry_read(bio);  // not an end of stream: the socket decides that
      *read = 0;
      return 0;
    }
    const std::size_t n = left < size ? left : size;
    std::memcpy(data, s.in_ + s.in_used_, n);
    s.in_used_ += n;
    *read = n;
    return 1;
  }

  static long control(BIO*, int command, long, void*) {
    // Writes go straight into a buffer: flushing is always done.
    return command == BIO_CTRL_FLUSH ? 1 : 0;
  }

  static int create(BIO* bio) {
    BIO_set_init(bio, 1);
    return 1;
  }

  static const BIO_METHOD* method() {
    static const BIO_METHOD* const made = [] {
      BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "flyrpc session");
      if (m == nullptr || BIO_meth_set_write_ex(m, &write) != 1 ||
          BIO_meth_set_read_ex(m, &read) != 1 || BIO_meth_set_ctrl(m, &control) != 1 ||
          BIO_meth_set_create(m, &create) != 1) {
        throw std::bad_alloc();
      }
      return m;
    }();
    return made;
  }
};

TlsSession::TlsSession(TlsContext& context, bool outbound) {
  ssl_ = SSL_new(context.native().native_handle());
  BIO* bio = ssl_ != nullptr ? BIO_new(TlsSessionBio::method()) : nullptr;
  if (bio == nullptr) {
    SSL_free(ssl_);
    throw std::bad_alloc();
  }
  BIO_set_data(bio, this);
  SSL_set_bio(ssl_, bio, bio);  // the SSL object owns the BIO (one reference for both)
  // No host name check (see tls.hpp): the chain must lead to the CA.
  int mode = SSL_VERIFY_PEER;
  if (outbound || context.require_client_certificate()) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  SSL_set_verify(ssl_, mode, nullptr);
  if (outbound) {
    SSL_set_connect_state(ssl_);
  } else {
    SSL_set_accept_state(ssl_);
  }
}

TlsSession::~TlsSession() {
  SSL_free(ssl_);
}

void TlsSession::fail(int ret) {
  const int kind = SSL_get_error(ssl_, ret);
  // The first error OpenSSL queued says what went wrong (the later ones say
  // where it surfaced); asio's stream reported the same one.
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (!failed_.load(std::memory_order_relaxed)) {
    if (code != 0) {
      error_ = std::error_code(static_cast<int>(code), asio::error::get_ssl_category());
    } else if (kind == SSL_ERROR_ZERO_RETURN) {
      error_ = asio::ssl::error::stream_truncated;
    } else {
      error_ = asio::ssl::error::unspecified_system_error;
    }
    failed_.store(true, std::memory_order_release);
  }
}

void TlsSession::consume(detail::Buffer& in) {
  const std::size_t rest = in.size() - in_used_;
  if (in_used_ > 0 && rest > 0) std::memmove(in.data(), in.data() + in_used_, rest);
  in.resize(rest);
  in_ = nullptr;
  in_size_ = in_used_ = 0;
}

TlsSession::Progress TlsSession::handshake(detail::Buffer& in, detail::Buffer& out) {
  std::lock_guard lock(mutex_);
  ERR_clear_error();
  in_ = in.data();
  in_size_ = in.size();
  out_ = &out;
  const int ret = SSL_do_handshake(ssl_);
  Progress progress = Progress::done;
  if (ret != 1) {
    if (SSL_get_error(ssl_, ret) == SSL_ERROR_WANT_READ) {
      progress = Progress::want_read;
    } else {
      fail(ret);
      progress = Progress::failed;
    }
  }
  out_ = nullptr;
  consume(in);
  return progress;
}

bool TlsSession::seal(std::span<const char> plain, detail::Buffer& out) {
  std::lock_guard lock(mutex_);
  if (failed_.load(std::memory_order_relaxed)) return false;
  if (!pending_.empty()) {
    out.write(pending_.data(), pending_.size());
    pending_.clear();
  }
  if (plain.empty()) return true;
  ERR_clear_error();
  out_ = &out;
  std::size_t written = 0;
  // Without SSL_MODE_ENABLE_PARTIAL_WRITE and with a BIO that takes every
  // byte, one call writes it all (as records of at most 16 KiB).
  const int ret = SSL_write_ex(ssl_, plain.data(), plain.size(), &written);
  out_ = nullptr;
  if (ret != 1) {
    fail(ret);
    return false;
  }
  return true;
}

TlsSession::Opened TlsSession::open(detail::Buffer& in, detail::Buffer& plain) {
  // The most plaintext one record holds.
  constexpr std::size_t kMaxRecord = 16 * 1024;
  std::lock_guard lock(mutex_);
  if (failed_.load(std::memory_order_relaxed)) return Opened::failed;
  ERR_clear_error();
  in_ = in.data();
  in_size_ = in.size();
  Opened result = Opened::ok;
  for (;;) {
    char* at = plain.prepare(kMaxRecord);
    std::size_t n = 0;
    const int ret = SSL_read_ex(ssl_, at, kMaxRecord, &n);
    if (ret == 1) {
      plain.resize(plain.size() + n);
      continue;
    }
    const int kind = SSL_get_error(ssl_, ret);
    if (kind == SSL_ERROR_WANT_READ) break;
    if (kind == SSL_ERROR_ZERO_RETURN) {
      result = Opened::closed;
      break;
    }
    fail(ret);
    result = Opened::failed;
    break;
  }
  consume(in);
  return result;
}

std::error_code TlsSession::error() const {
  std::lock_guard lock(mutex_);
  return error_;
}

}  // namespace fly::net
