#include "net/tls.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <asio/ssl/error.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "fly/errors.hpp"
#include "net/tls_session.hpp"

namespace fly::net {

namespace {

// OpenSSL's reason for the last failure, and an empty error queue after.
std::string openssl_reason() {
  unsigned long last = 0;
  while (const unsigned long e = ERR_get_error()) last = e;
  ERR_clear_error();
  if (last == 0) return "unknown OpenSSL error";
  const char* reason = ERR_reason_error_string(last);
  return reason != nullptr ? reason : "OpenSSL error " + std::to_string(last);
}

// A file OpenSSL is about to read: it exists, is a regular file and can be
// opened, else a ConfigError with the system's reason (OpenSSL's own would
// be "system lib").
void check_readable(const char* option, const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    throw ConfigError(option, path, std::string("cannot read it: ") + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) throw ConfigError(option, path, "not a regular file");
  std::FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) {
    throw ConfigError(option, path, std::string("cannot read it: ") + std::strerror(errno));
  }
  std::fclose(f);
}

// Never prompt on the terminal for a key's passphrase: fail instead.
int no_passphrase(char*, int, int, void*) {
  return 0;
}

}  // namespace

TlsContext::TlsContext(const TlsSettings& s)
    : context_(asio::ssl::context::tls), require_client_certificate_(s.require_client_certificate) {
  SSL_CTX* ctx = context_.native_handle();
  ERR_clear_error();
  // TLS 1.3 only: forward secrecy, no renegotiation, no legacy ciphers.
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1) {
    throw ConfigError(kTlsCertOption, s.certificate_file,
                      "this OpenSSL cannot do TLS 1.3: " + openssl_reason());
  }
  // Connections are long-lived and never resumed: no session tickets (two
  // fewer records after each handshake) and no session cache.
  SSL_CTX_set_num_tickets(ctx, 0);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_default_passwd_cb(ctx, &no_passphrase);

  if (!s.certificate_file.empty()) {
    check_readable(kTlsCertOption, s.certificate_file);
    if (SSL_CTX_use_certificate_chain_file(ctx, s.certificate_file.c_str()) != 1) {
      throw ConfigError(kTlsCertOption, s.certificate_file,
                        "not a PEM certificate: " + openssl_reason());
    }
    check_readable(kTlsKeyOption, s.private_key_file);
    // Read first, then installed: "not a key" and "not this certificate's
    // key" are different mistakes.
    EVP_PKEY* key = nullptr;
    if (BIO* bio = BIO_new_file(s.private_key_file.c_str(), "r")) {
      key = PEM_read_bio_PrivateKey(bio, nullptr, &no_passphrase, nullptr);
      BIO_free(bio);
    }
    if (key == nullptr) {
      throw ConfigError(kTlsKeyOption, s.private_key_file,
                        "not an unencrypted PEM private key: " + openssl_reason());
    }
    const int used = SSL_CTX_use_PrivateKey(ctx, key);
    EVP_PKEY_free(key);
    if (used != 1 || SSL_CTX_check_private_key(ctx) != 1) {
      throw ConfigError(
          kTlsKeyOption, s.private_key_file,
          "does not match the certificate " + s.certificate_file + ": " + openssl_reason());
    }
  }
  check_readable(kTlsCaOption, s.ca_file);
  if (SSL_CTX_load_verify_locations(ctx, s.ca_file.c_str(), nullptr) != 1) {
    throw ConfigError(kTlsCaOption, s.ca_file, "no PEM CA certificate in it: " + openssl_reason());
  }
}

bool is_tls_error(const std::error_code& ec) {
  return ec.category() == asio::error::get_ssl_category() ||
         ec == asio::ssl::error::unspecified_system_error;
}

std::string describe_tls_error(const std::error_code& ec, TlsSession& tls) {
  if (ec == asio::ssl::error::stream_truncated) return "connection closed by peer (no TLS close)";
  if (ec.category() != asio::error::get_ssl_category()) return ec.message();
  // OpenSSL's reason alone ("certificate verify failed"), without the
  // library name asio's message appends.
  const auto code = static_cast<unsigned long>(ec.value());
  const char* text_of_code = ERR_reason_error_string(code);
  std::string text = text_of_code != nullptr ? text_of_code : ec.message();
  const int reason = ERR_GET_REASON(code);
  if (reason == SSL_R_CERTIFICATE_VERIFY_FAILED) {
    const long result = SSL_get_verify_result(tls.native());
    if (result != X509_V_OK) text += ": " + std::string(X509_verify_cert_error_string(result));
  } else if (reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_PACKET_LENGTH_TOO_LONG ||
             reason == SSL_R_RECORD_LENGTH_MISMATCH || reason == SSL_R_HTTP_REQUEST) {
    text += " (the other node does not speak TLS: is TLS off there?)";
  }
  return text;
}

}  // namespace fly::net
