// TLS options are checked when the Node is constructed: a missing or
// unreadable file, something that is not PEM, a key that is not the
// certificate's, or options that do not fit together each fail with a
// fly::ConfigError naming the option (field, env var, flag) and the file.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "support/process.hpp"
#include "tls_node.hpp"

namespace {

using tlstest::client_options;
using tlstest::TestPki;
using tlstest::tls_node_options;
using tlstest::tls_options;

const TestPki& pki() {
  return TestPki::get();
}

// The message of the ConfigError constructing a node with `tls` throws ("" if none).
std::string config_error(const fly::TlsOptions& tls, bool client = false) {
  try {
    fly::Node node(client ? client_options("n", {"127.0.0.1:1"}, tls)
                          : tls_node_options("n", "syd", {}, tls));
  } catch (const fly::ConfigError& e) {
    return e.what();
  }
  return "";
}

void expect_contains(const std::string& text, const std::vector<std::string>& parts) {
  EXPECT_FALSE(text.empty()) << "no ConfigError";
  for (const auto& p : parts)
    EXPECT_NE(text.find(p), std::string::npos) << p << " not in: " << text;
}

TEST(TlsOptions, ValidFilesConstructANode) {
  EXPECT_EQ(config_error(tls_options(pki().node("a"), pki().ca)), "");
  EXPECT_EQ(config_error(tls_options(pki().node("a"), pki().ca, true)), "");
  // A hidden node that does not listen may trust the CA without a certificate.
  fly::TlsOptions ca_only;
  ca_only.ca_file = pki().ca;
  EXPECT_EQ(config_error(ca_only, /*client=*/true), "");
}

TEST(TlsOptions, MissingFilesNameTheOptionAndTheFile) {
  auto t = tls_options(pki().node("a"), pki().ca);
  t.certificate_file = pki().path("missing.pem");
  expect_contains(config_error(t),
                  {"FLY_RPC_TLS_CERT", "--tls-cert", "missing.pem", "No such file or directory"});
  t = tls_options(pki().node("a"), pki().ca);
  t.private_key_file = pki().path("missing.key");
  expect_contains(config_error(t), {"FLY_RPC_TLS_KEY", "missing.key", "No such file"});
  t = tls_options(pki().node("a"), pki().path("missing-ca.pem"));
  expect_contains(config_error(t), {"FLY_RPC_TLS_CA", "missing-ca.pem", "No such file"});
  t = tls_options(pki().node("a"), pki().dir);
  expect_contains(config_error(t), {"FLY_RPC_TLS_CA", "not a regular file"});
}

TEST(TlsOptions, KeyOfAnotherCertificateIsRefused) {
  auto t = tls_options(pki().node("a"), pki().ca);
  t.private_key_file = pki().node("b").key;
  expect_contains(config_error(t), {"FLY_RPC_TLS_KEY", pki().node("b").key,
                                    "does not match the certificate", pki().node("a").cert});
}

TEST(TlsOptions, FilesThatAreNotPemAreRefused) {
  const std::string junk = pki().path("junk-" + std::to_string(::getpid()) + ".pem");
  std::ofstream(junk) << "this is not a certificate\n";
  auto t = tls_options(pki().node("a"), pki().ca);
  t.certificate_file = junk;
  expect_contains(config_error(t), {"FLY_RPC_TLS_CERT", junk, "not a PEM certificate"});
  t = tls_options(pki().node("a"), junk);
  expect_contains(config_error(t), {"FLY_RPC_TLS_CA", junk, "no PEM CA certificate"});
  t = tls_options(pki().node("a"), pki().ca);
  t.private_key_file = junk;
  expect_contains(config_error(t), {"FLY_RPC_TLS_KEY", junk, "private key"});
}

TEST(TlsOptions, EncryptedKeyIsRefusedWithoutPrompting) {
  const std::string encrypted = pki().path("encrypted-" + std::to_string(::getpid()) + ".key");
  const auto r = flytest::run({"openssl", "pkey", "-in", pki().node("a").key, "-aes256", "-passout",
                               "pass:secret", "-out", encrypted});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto t = tls_options(pki().node("a"), pki().ca);
  t.private_key_file = encrypted;
  expect_contains(config_error(t), {"FLY_RPC_TLS_KEY", encrypted, "unencrypted"});
}

TEST(TlsOptions, OptionsThatDoNotFitTogetherAreRefused) {
  fly::TlsOptions t;
  t.private_key_file = pki().node("a").key;
  expect_contains(config_error(t), {"FLY_RPC_TLS_KEY", "without its certificate"});

  t = tls_options(pki().node("a"), "");
  expect_contains(config_error(t), {"FLY_RPC_TLS_CA", "needs the CA"});

  t = tls_options(pki().node("a"), pki().ca);
  t.private_key_file.clear();
  expect_contains(config_error(t), {"FLY_RPC_TLS_KEY", "required with the certificate"});

  t = {};
  t.ca_file = pki().ca;  // a listening node must present a certificate
  expect_contains(config_error(t), {"FLY_RPC_TLS_CERT", "must present a certificate"});

  t = {};
  t.require_client_certificate = true;
  expect_contains(config_error(t), {"FLY_RPC_TLS_MUTUAL", "needs TLS on"});
}

class TlsEnv : public ::testing::Test {
 protected:
  void TearDown() override {
    for (const char* v :
         {"FLY_RPC_TLS_CERT", "FLY_RPC_TLS_KEY", "FLY_RPC_TLS_CA", "FLY_RPC_TLS_MUTUAL"}) {
      ::unsetenv(v);
    }
  }
};

TEST_F(TlsEnv, VariablesFillTheOptions) {
  ::setenv("FLY_RPC_TLS_CERT", "/etc/flyrpc/node.pem", 1);
  ::setenv("FLY_RPC_TLS_KEY", "/etc/flyrpc/node.key", 1);
  ::setenv("FLY_RPC_TLS_CA", "/etc/flyrpc/ca.pem", 1);
  ::setenv("FLY_RPC_TLS_MUTUAL", "true", 1);
  const auto o = fly::NodeOptions::from_env();
  EXPECT_EQ(o.tls.certificate_file, "/etc/flyrpc/node.pem");
  EXPECT_EQ(o.tls.private_key_file, "/etc/flyrpc/node.key");
  EXPECT_EQ(o.tls.ca_file, "/etc/flyrpc/ca.pem");
  EXPECT_TRUE(o.tls.require_client_certificate);
  EXPECT_TRUE(o.tls.enabled());
  ::setenv("FLY_RPC_TLS_MUTUAL", "0", 1);
  EXPECT_FALSE(fly::NodeOptions::from_env().tls.require_client_certificate);
}

TEST_F(TlsEnv, TlsIsOffByDefault) {
  const auto o = fly::NodeOptions::from_env();
  EXPECT_FALSE(o.tls.enabled());
  EXPECT_FALSE(o.tls.require_client_certificate);
}

TEST_F(TlsEnv, AMalformedSwitchNamesTheVariable) {
  // A typo must not silently turn mutual TLS off.
  ::setenv("FLY_RPC_TLS_MUTUAL", "ture", 1);
  try {
    fly::NodeOptions::from_env();
    FAIL() << "no ConfigError";
  } catch (const fly::ConfigError& e) {
    EXPECT_EQ(e.setting(), "FLY_RPC_TLS_MUTUAL");
    EXPECT_EQ(e.value(), "ture");
  }
}

}  // namespace
