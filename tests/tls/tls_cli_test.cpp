// The real binary with TLS: `flyrpc node --tls-*` processes mesh, and the
// hidden node of `flyrpc call` joins them with the FLY_RPC_TLS_* variables
// (README "TLS"); without TLS it cannot, and says why.
#include <gtest/gtest.h>

#include "support/cluster_harness.hpp"
#include "support/process.hpp"
#include "support/test_pki.hpp"
#include "support/wait.hpp"

namespace {

using namespace std::chrono_literals;
using tlstest::TestPki;

const TestPki& pki() {
  return TestPki::get();
}

std::vector<std::string> tls_flags(const std::string& name) {
  return {"--tls-cert", pki().node(name).cert, "--tls-key", pki().node(name).key, "--tls-ca",
          pki().ca};
}

// `flyrpc call` with the cookie and `env` (its TLS settings).
flytest::ProcessResult call(const std::string& cookie, std::map<std::string, std::string> env,
                            const std::vector<std::string>& args) {
  std::vector<std::string> argv{FLYRPC_CLI_PATH, "call"};
  argv.insert(argv.end(), args.begin(), args.end());
  env.emplace("FLY_RPC_COOKIE", cookie);
  return flytest::run(
      argv, env,
      {"FLY_REGION", "MY_REGION", "PRIMARY_REGION", "FLY_RPC_SEEDS", "FLY_RPC_TLS_CERT",
       "FLY_RPC_TLS_KEY", "FLY_RPC_TLS_CA", "FLY_RPC_TLS_MUTUAL"},
      20s);
}

TEST(TlsCli, NodesWithTlsFlagsMeshAndServeCalls) {
  const std::string cookie = flytest::random_cookie();
  flytest::NodeProcess a({"a", "syd", {}, tls_flags("a"), {}}, cookie, "syd");
  ASSERT_TRUE(a.wait_listening(10s)) << a.err();
  auto b_flags = tls_flags("b");
  b_flags.push_back("--tls-mutual");
  flytest::NodeProcess b({"b", "lax", {a.address()}, b_flags, {}}, cookie, "syd");
  ASSERT_TRUE(b.wait_listening(10s)) << b.err();
  EXPECT_EVENTUALLY(a.out().find("up b lax") != std::string::npos, 10000) << a.out() << a.err();
  EXPECT_EVENTUALLY(b.out().find("up a syd") != std::string::npos, 10000) << b.out() << b.err();

  // The hidden client presents the "client" certificate (b requires one).
  const std::map<std::string, std::string> tls_env = {
      {"FLY_RPC_TLS_CERT", pki().node("client").cert},
      {"FLY_RPC_TLS_KEY", pki().node("client").key},
      {"FLY_RPC_TLS_CA", pki().ca}};
  auto r = call(cookie, tls_env, {"--seeds", b.address(), "--node", "a", "Kernel.node"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "\"a\"\n");
  r = call(cookie, tls_env,
           {"--seeds", a.address(), "--region", "lax", "String.upcase", "\"tls\""});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "\"TLS\"\n");

  // Without TLS the client cannot join, and the error says it is about TLS.
  r = call(cookie, {}, {"--seeds", a.address(), "--timeout", "2000", "--node", "a", "Kernel.node"});
  EXPECT_EQ(r.exit_code, 7) << r.out << r.err;
  EXPECT_NE(r.err.find("could not join the cluster"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("TLS"), std::string::npos) << r.err;
  // Both nodes logged the refusal and are still up.
  EXPECT_NE(a.err().find("TLS handshake from 127.0.0.1:"), std::string::npos) << a.err();
  EXPECT_TRUE(a.process().running());
  EXPECT_TRUE(b.process().running());
}

TEST(TlsCli, BadTlsFlagsAreAUsageError) {
  const std::string cookie = flytest::random_cookie();
  auto r =
      flytest::run({FLYRPC_CLI_PATH, "node", "--name", "x", "--listen", "127.0.0.1:0", "--tls-cert",
                    pki().node("a").cert, "--tls-key", pki().node("b").key, "--tls-ca", pki().ca},
                   {{"FLY_RPC_COOKIE", cookie}}, {}, 20s);
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("--tls-key"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("does not match the certificate"), std::string::npos) << r.err;
  r = flytest::run({FLYRPC_CLI_PATH, "node", "--name", "x", "--listen", "127.0.0.1:0", "--tls-ca",
                    pki().path("nope.pem"), "--tls-cert", pki().node("a").cert, "--tls-key",
                    pki().node("a").key},
                   {{"FLY_RPC_COOKIE", cookie}}, {}, 20s);
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("nope.pem"), std::string::npos) << r.err;
}

}  // namespace
