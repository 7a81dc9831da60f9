// Certificates for the TLS tests, made at run time with the openssl command
// (Debian package `openssl`, scripts/install-deps.sh test group) into a
// unique temporary directory, removed when the test process exits.
//
//   ca        the cluster's CA;   nodes a, b, c, client: signed by it
//   other_ca  an unrelated CA;    node rogue: signed by it
//
// Node certificates carry serverAuth + clientAuth and IP:127.0.0.1, as a real
// cluster's would (README "TLS"). Keys are EC P-256: made in milliseconds.
#pragma once

#include <string>

#include "fly/node.hpp"

namespace tlstest {

struct CertFiles {
  std::string cert;
  std::string key;
};

class TestPki {
 public:
  /// Made on first use (one process-wide set); throws std::runtime_error
  /// with openssl's stderr if a command fails.
  static const TestPki& get();

  std::string dir;
  std::string ca;        ///< CA certificate (PEM)
  std::string other_ca;  ///< the unrelated CA's certificate
  /// "a", "b", "c", "client" (signed by ca) or "rogue" (signed by other_ca).
  CertFiles node(const std::string& name) const;
  /// A file in the directory, for tests that need a broken one.
  std::string path(const std::string& file) const { return dir + "/" + file; }
};

/// TLS options presenting `files` and trusting `ca_file`.
fly::TlsOptions tls_options(const CertFiles& files, const std::string& ca_file,
                            bool mutual = false);

}  // namespace tlstest
