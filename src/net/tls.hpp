// Optional TLS 1.3 between nodes (NodeOptions::tls; README "TLS").
//
// One TlsContext per node, built once at Node construction from the
// certificate, key and CA files; every connection makes its own SSL object
// from it (TlsSession, net/tls_session.hpp). The context is shared by the peers and used from every
// I/O thread: OpenSSL's SSL_CTX is safe to create SSL objects from
// concurrently, and nothing changes it after construction.
//
// Verification: each side checks the other's certificate chain against the
// CA file and nothing else. Nodes are dialled by IP address (seeds, gossip,
// DNS answers), so there is no host name to check; the CA, private to the
// cluster, is what says "this is one of our nodes", and the cookie handshake
// that follows still authenticates the node.
#pragma once

#include <asio/ssl/context.hpp>

#include <memory>
#include <string>
#include <system_error>

namespace fly::net {

// How the TLS options are named in errors: the NodeOptions field, the
// environment variable and the CLI flag, so that whoever set one recognises it.
inline constexpr const char* kTlsCertOption =
    "TLS certificate (tls.certificate_file, FLY_RPC_TLS_CERT, --tls-cert)";
inline constexpr const char* kTlsKeyOption =
    "TLS private key (tls.private_key_file, FLY_RPC_TLS_KEY, --tls-key)";
inline constexpr const char* kTlsCaOption = "TLS CA file (tls.ca_file, FLY_RPC_TLS_CA, --tls-ca)";
inline constexpr const char* kTlsMutualOption =
    "mutual TLS (tls.require_client_certificate, FLY_RPC_TLS_MUTUAL, --tls-mutual)";

struct TlsSettings {
  /// PEM certificate (leaf first, then intermediates). Empty only for a node
  /// that never accepts connections (a hidden tool): it then presents none.
  std::string certificate_file;
  /// PEM private key of that certificate, not encrypted.
  std::string private_key_file;
  /// PEM CA certificate(s) a peer's chain must lead to. Required.
  std::string ca_file;
  /// Accepting side: refuse a peer that presents no certificate (mutual TLS).
  bool require_client_certificate = false;
};

class TlsContext {
 public:
  /// Loads and checks every file; throws fly::ConfigError naming the option
  /// (with its env var and CLI flag) and the file: missing, unreadable, not
  /// PEM, or a key that does not belong to the certificate.
  explicit TlsContext(const TlsSettings& settings);
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  asio::ssl::context& native() noexcept { return context_; }
  bool require_client_certificate() const noexcept { return require_client_certificate_; }

 private:
  asio::ssl::context context_;
  bool require_client_certificate_;
};

class TlsSession;

/// One line for a failed TLS operation: OpenSSL's reason, and for a rejected
/// certificate why it was rejected ("unable to get local issuer certificate").
std::string describe_tls_error(const std::error_code& ec, TlsSession& tls);

/// True for errors of the TLS layer itself (a bad certificate, an alert, a
/// peer that does not speak TLS), as opposed to the TCP connection's.
bool is_tls_error(const std::error_code& ec);

}  // namespace fly::net
