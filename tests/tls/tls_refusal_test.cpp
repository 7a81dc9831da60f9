// What TLS refuses: a certificate from another CA (either side), a plaintext
// node meeting a TLS one (both ways), a client without a certificate under
// mutual TLS, a protocol older than TLS 1.3, a connection that never
// finishes its TLS handshake, and after a handshake a record that does not
// open or opens to something that is not a frame. Each refusal closes that connection only, with
// a warning naming the remote address and OpenSSL's reason; the cluster keeps
// serving its real members throughout.
#include <gtest/gtest.h>

#include <array>

#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/ssl.hpp>
#include <asio/write.hpp>

#include "support/log_capture.hpp"
#include "support/wait.hpp"
#include "tls_node.hpp"

namespace {

using namespace std::chrono_literals;
using flytest::LogCapture;
using flytest::seed_of;
using tlstest::client_options;
using tlstest::start_node;
using tlstest::TestPki;
using tlstest::tls_node_options;
using tlstest::tls_options;

const TestPki& pki() {
  return TestPki::get();
}

// Two TLS members, a and b, that know each other; tests add an intruder.
class TlsRefusal : public ::testing::Test {
 protected:
  void SetUp() override {
    logs = std::make_unique<LogCapture>();
    a = start_node(tls_node_options("a", "syd", {}, tls_options(pki().node("a"), pki().ca)));
    b = start_node(
        tls_node_options("b", "lax", {seed_of(*a)}, tls_options(pki().node("b"), pki().ca)));
    ASSERT_TRUE(a->wait_for_nodes(1, 10s));
    ASSERT_TRUE(b->wait_for_nodes(1, 10s));
  }
  void TearDown() override {
    for (auto* n : {intruder.get(), b.get(), a.get()}) {
      if (n != nullptr) n->stop();
    }
    intruder.reset();
    b.reset();
    a.reset();
    logs.reset();
  }
  // The members still see only each other and still serve calls both ways.
  void expect_cluster_intact() {
    EXPECT_EQ(a->nodes().size(), 2u);
    EXPECT_EQ(b->nodes().size(), 2u);
    EXPECT_EQ(a->rpc<std::string>("b", "Kernel.node"), "b");
    EXPECT_EQ(b->rpc<std::string>("a", "String.upcase", "still up"), "STILL UP");
  }
  // The intruder gave up with a join error containing `part` (it keeps
  // retrying; the first failures are enough).
  void expect_join_error(const std::string& part) {
    EXPECT_EVENTUALLY(intruder->last_join_error().find(part) != std::string::npos, 10000)
        << "last join error: " << intruder->last_join_error() << "\nlogs:\n"
        << logs->all();
    EXPECT_EQ(intruder->nodes().size(), intruder->region() == "cli" ? 0u : 1u)
        << "the intruder joined";
  }
  void expect_warning(const std::string& part) {
    EXPECT_EVENTUALLY(logs->count(spdlog::level::warn, part) > 0, 10000)
        << "no warning containing \"" << part << "\":\n"
        << logs->all();
  }

  std::unique_ptr<LogCapture> logs;
  std::unique_ptr<fly::Node> a, b, intruder;
};

TEST_F(TlsRefusal, CertificateFromAnotherCaIsRefusedByTheAcceptingNode) {
  // It trusts our CA, but its own certificate is signed by another one.
  intruder = start_node(
      tls_node_options("rogue", "syd", {seed_of(*a)}, tls_options(pki().node("rogue"), pki().ca)));
  expect_warning("TLS handshake from 127.0.0.1:");
  expect_warning("certificate verify failed: unable to get local issuer certificate");
  expect_join_error("TLS");
  expect_cluster_intact();
}

TEST_F(TlsRefusal, DialingNodeRefusesAServerCertificateFromAnotherCa) {
  // It trusts only the other CA: our nodes' certificates fail its check.
  intruder = start_node(tls_node_options("rogue", "syd", {seed_of(*a)},
                                         tls_options(pki().node("rogue"), pki().other_ca)));
  // (OpenSSL's detail depends on whether the chain sent includes the CA.)
  expect_join_error("certificate verify failed");
  expect_warning("TLS handshake with " + seed_of(*a) + " failed");
  expect_cluster_intact();
}

TEST_F(TlsRefusal, PlaintextNodeCannotJoinATlsCluster) {
  intruder = start_node(tls_node_options("plain", "syd", {seed_of(*a)}));
  expect_warning("TLS handshake from 127.0.0.1:");
  expect_warning("wrong version number (the other node does not speak TLS");
  expect_join_error("TLS on there and off here?");
  expect_cluster_intact();
}

TEST_F(TlsRefusal, TlsNodeCannotJoinAPlaintextCluster) {
  auto plain = start_node(tls_node_options("plain", "syd", {}));
  intruder = start_node(
      tls_node_options("c", "hkg", {seed_of(*plain)}, tls_options(pki().node("c"), pki().ca)));
  // The TLS node says the other end does not speak TLS; the plaintext one
  // says a TLS record arrived instead of HELLO.
  expect_join_error("does not speak TLS");
  expect_warning("TLS is on at the other node and off here");
  // The plaintext node still serves plaintext peers.
  auto plain2 = start_node(tls_node_options("plain2", "lax", {seed_of(*plain)}));
  ASSERT_TRUE(plain2->wait_for_node("plain", 10s));
  EXPECT_EQ(plain2->rpc<std::string>("plain", "Kernel.node"), "plain");
  EXPECT_EQ(plain->nodes().size(), 2u);
  plain2->stop();
  plain->stop();
  expect_cluster_intact();
}

TEST(TlsMutual, ClientWithoutCertificateIsRefusedWhenRequired) {
  LogCapture logs;
  auto a = start_node(
      tls_node_options("a", "syd", {}, tls_options(pki().node("a"), pki().ca, /*mutual=*/true)));
  fly::TlsOptions ca_only;
  ca_only.ca_file = pki().ca;
  fly::Node anonymous(client_options("anonymous", {seed_of(*a)}, ca_only));
  anonymous.start();
  EXPECT_EVENTUALLY(anonymous.last_join_error().find("TLS") != std::string::npos, 10000)
      << anonymous.last_join_error();
  EXPECT_EVENTUALLY(logs.count(spdlog::level::warn, "peer did not return a certificate") > 0, 10000)
      << logs.all();
  EXPECT_FALSE(anonymous.wait_for_nodes(1, 0ms));

  // With a certificate from the CA, a client is let in.
  fly::Node client(
      client_options("client", {seed_of(*a)}, tls_options(pki().node("client"), pki().ca)));
  client.start();
  ASSERT_TRUE(client.wait_for_nodes(1, 10s)) << client.last_join_error();
  EXPECT_EQ(client.rpc<std::string>("a", "Kernel.node"), "a");
  client.stop();
  anonymous.stop();
  a->stop();
}

TEST(TlsMutual, ClientWithoutCertificateIsAcceptedWhenNotRequired) {
  auto a = start_node(tls_node_options("a", "syd", {}, tls_options(pki().node("a"), pki().ca)));
  fly::TlsOptions ca_only;
  ca_only.ca_file = pki().ca;
  fly::Node anonymous(client_options("anonymous", {seed_of(*a)}, ca_only));
  anonymous.start();
  ASSERT_TRUE(anonymous.wait_for_nodes(1, 10s)) << anonymous.last_join_error();
  EXPECT_EQ(anonymous.rpc_region<std::string>("syd", "String.upcase", "tls"), "TLS");
  anonymous.stop();
  a->stop();
}

// Blocking client-side helpers on a private io_context.
struct RawClient {
  asio::io_context io;
  asio::ip::tcp::socket socket{io};
  explicit RawClient(std::uint16_t port) {
    socket.connect({asio::ip::make_address("127.0.0.1"), port});
  }
  // Reads until the node closes the connection: true if it did within
  // `timeout` (a read timeout on the socket, not a sleep).
  bool closed_by_node_within(std::chrono::milliseconds timeout) {
    timeval tv{static_cast<time_t>(timeout.count() / 1000),
               static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
    ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[4096];
    for (;;) {
      const ssize_t n = ::recv(socket.native_handle(), buf, sizeof buf, 0);
      if (n > 0) continue;  // e.g. an alert before the close
      return n == 0 || errno == ECONNRESET;
    }
  }
};

TEST(TlsHandshake, OlderThanTls13IsRefused) {
  auto a = start_node(tls_node_options("a", "syd", {}, tls_options(pki().node("a"), pki().ca)));
  RawClient raw(a->listen_port());
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  SSL_CTX_set_max_proto_version(ctx.native_handle(), TLS1_2_VERSION);
  ctx.load_verify_file(pki().ca);
  asio::ssl::stream<asio::ip::tcp::socket&> tls(raw.socket, ctx);
  asio::error_code ec;
  tls.handshake(asio::ssl::stream_base::client, ec);
  EXPECT_TRUE(ec) << "a TLS 1.2 handshake succeeded";
  // A TLS 1.3 client with the same trust gets through the TLS handshake.
  RawClient raw13(a->listen_port());
  asio::ssl::context ctx13(asio::ssl::context::tls_client);
  ctx13.load_verify_file(pki().ca);
  asio::ssl::stream<asio::ip::tcp::socket&> tls13(raw13.socket, ctx13);
  tls13.handshake(asio::ssl::stream_base::client, ec);
  EXPECT_FALSE(ec) << ec.message();
  a->stop();
}

TEST(TlsHandshake, UnfinishedTlsHandshakesTimeOutAndCountAsPending) {
  LogCapture logs;
  fly::NodeOptions o = tls_node_options("a", "syd", {}, tls_options(pki().node("a"), pki().ca));
  o.handshake_timeout = 1000ms;
  o.max_pending_handshakes = 2;
  auto a = start_node(o);
  // Two connections that never start TLS fill the pending handshakes (the
  // node accepts in order), so a third is refused at once as busy.
  RawClient silent1(a->listen_port()), silent2(a->listen_port());
  RawClient third(a->listen_port());
  EXPECT_TRUE(third.closed_by_node_within(5s));
  EXPECT_NE(a->metrics_text().find("flyrpc_handshakes_refused_total{reason=\"busy\"} 1"),
            std::string::npos)
      << a->metrics_text();
  // The silent ones are closed by the handshake deadline...
  EXPECT_TRUE(silent1.closed_by_node_within(5s));
  EXPECT_TRUE(silent2.closed_by_node_within(5s));
  EXPECT_EQ(logs.count(spdlog::level::warn, "timed out (TLS handshake not finished)"), 2u)
      << logs.all();
  // ...which frees their slots: a real node joins.
  auto b = start_node(
      tls_node_options("b", "lax", {seed_of(*a)}, tls_options(pki().node("b"), pki().ca)));
  EXPECT_TRUE(b->wait_for_nodes(1, 10s)) << b->last_join_error();
  b->stop();
  a->stop();
}

// A peer that completed the TLS handshake (anyone the CA vouches for, or
// anyone at all without mutual TLS) is still not trusted: a record that does
// not open ends its connection with OpenSSL's reason, and the node serves on.
struct TlsRecords : ::testing::Test {
  void SetUp() override {
    logs = std::make_unique<LogCapture>();
    a = start_node(tls_node_options("a", "syd", {}, tls_options(pki().node("a"), pki().ca)));
  }
  void TearDown() override {
    a->stop();
    logs.reset();
  }
  // A TLS 1.3 client through its handshake, ready to misbehave.
  struct Client {
    explicit Client(std::uint16_t port) : raw(port), context(asio::ssl::context::tls_client) {
      context.load_verify_file(pki().ca);
    }
    RawClient raw;
    asio::ssl::context context;
    asio::ssl::stream<asio::ip::tcp::socket&> tls{raw.socket, context};
  };
  void expect_node_serves_on() {
    auto b = start_node(
        tls_node_options("b", "lax", {seed_of(*a)}, tls_options(pki().node("b"), pki().ca)));
    ASSERT_TRUE(b->wait_for_node("a", 10s)) << b->last_join_error();
    EXPECT_EQ(b->rpc<std::string>("a", "Kernel.node"), "a");
    b->stop();
  }
  std::unique_ptr<LogCapture> logs;
  std::unique_ptr<fly::Node> a;
};

TEST_F(TlsRecords, ARecordThatDoesNotOpenClosesThatConnectionOnly) {
  Client c(a->listen_port());
  asio::error_code ec;
  c.tls.handshake(asio::ssl::stream_base::client, ec);
  ASSERT_FALSE(ec) << ec.message();
  // An application-data record of 32 bytes that no key made, written under
  // the TLS layer, right behind the client's last handshake flight.
  std::array<unsigned char, 5 + 32> record{0x17, 0x03, 0x03, 0x00, 0x20};
  for (std::size_t i = 5; i < record.size(); ++i) record[i] = static_cast<unsigned char>(i * 37);
  asio::write(c.raw.socket, asio::buffer(record), ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_TRUE(c.raw.closed_by_node_within(5s));
  EXPECT_EVENTUALLY(
      logs->count(spdlog::level::warn, "TLS error on the connection from 127.0.0.1:") == 1, 10000)
      << logs->all();
  EXPECT_EQ(logs->count(spdlog::level::warn, "bad record mac"), 1u) << logs->all();
  expect_node_serves_on();
}

TEST_F(TlsRecords, PlaintextThatIsNotAFrameIsAProtocolError) {
  Client c(a->listen_port());
  asio::error_code ec;
  c.tls.handshake(asio::ssl::stream_base::client, ec);
  ASSERT_FALSE(ec) << ec.message();
  const std::string request = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
  asio::write(c.tls, asio::buffer(request), ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_TRUE(c.raw.closed_by_node_within(5s));
  EXPECT_EVENTUALLY(logs->count(spdlog::level::warn, "protocol error from 127.0.0.1:") == 1, 10000)
      << logs->all();
  expect_node_serves_on();
}

}  // namespace
