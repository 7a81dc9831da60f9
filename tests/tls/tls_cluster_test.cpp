// Nodes with TLS 1.3 in one process over real loopback sockets: they mesh,
// call each other every way (small and large frames, many threads at once),
// and what crosses the network is not plaintext.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "byte_relay.hpp"
#include "support/wait.hpp"
#include "tls_node.hpp"

namespace {

using namespace std::chrono_literals;
using flytest::seed_of;
using tlstest::start_node;
using tlstest::TestPki;
using tlstest::tls_node_options;

fly::TlsOptions tls_of(const std::string& name) {
  const auto& pki = TestPki::get();
  return tlstest::tls_options(pki.node(name), pki.ca);
}

TEST(TlsCluster, ThreeNodesMeshAndCallEachOther) {
  auto a = start_node(tls_node_options("a", "syd", {}, tls_of("a")));
  auto b = start_node(tls_node_options("b", "lax", {seed_of(*a)}, tls_of("b")));
  auto c = start_node(tls_node_options("c", "hkg", {seed_of(*a)}, tls_of("c")));
  for (auto* n : {a.get(), b.get(), c.get()}) {
    ASSERT_TRUE(n->wait_for_nodes(2, 10s)) << n->name() << " did not see the full mesh";
  }
  for (auto* from : {a.get(), b.get(), c.get()}) {
    for (auto* to : {a.get(), b.get(), c.get()}) {
      if (from == to) continue;
      EXPECT_EQ(from->rpc<std::string>(to->name(), "Kernel.node"), to->name());
      EXPECT_EQ(from->rpc_region<std::string>(to->region(), "String.upcase", "fly"), "FLY");
    }
  }
  // Frames larger than a TLS record (16 KiB) both ways.
  const std::string big(300 * 1024, 'x');
  EXPECT_EQ(b->rpc<std::string>("a", "String.upcase", big), std::string(big.size(), 'X'));
  a->stop();
  b->stop();
  c->stop();
}

TEST(TlsCluster, ManyThreadsCallAtOnce) {
  auto a = start_node(tls_node_options("a", "syd", {}, tls_of("a")));
  auto b = start_node(tls_node_options("b", "lax", {seed_of(*a)}, tls_of("b")));
  ASSERT_TRUE(b->wait_for_nodes(1, 10s));
  ASSERT_TRUE(a->wait_for_nodes(1, 10s));
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      fly::Node& from = t % 2 == 0 ? *a : *b;
      const char* to = t % 2 == 0 ? "b" : "a";
      for (int i = 0; i < 300; ++i) {
        if (from.rpc<int>(to, "Kernel.+", i, t) == i + t) ok.fetch_add(1);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 4 * 300);
  b->stop();
  a->stop();
}

// A relay between two nodes sees every byte. Without TLS the function names
// (ANNOUNCE) and arguments (CALL) are there in clear; with TLS they are not.
std::string relayed_bytes(bool tls) {
  const std::string marker = "marker-7f3a9c";
  auto a = start_node(tls_node_options("a", "syd", {}, tls ? tls_of("a") : fly::TlsOptions{}));
  a->expose("Secret.echo", [](std::string s) { return s; });
  tlstest::ByteRelay relay(a->listen_port());
  auto b = start_node(
      tls_node_options("b", "lax", {relay.address()}, tls ? tls_of("b") : fly::TlsOptions{}));
  EXPECT_TRUE(b->wait_for_node("a", 10s));
  EXPECT_TRUE(a->wait_for_node("b", 10s));
  EXPECT_EQ(b->rpc<std::string>("a", "Secret.echo", marker), marker);
  EXPECT_EQ(a->rpc<std::string>("b", "String.upcase", marker), "MARKER-7F3A9C");
  b->stop();
  a->stop();
  return relay.captured();
}

TEST(TlsCluster, BytesOnTheWireAreNotPlaintext) {
  const std::string clear = relayed_bytes(false);
  ASSERT_NE(clear.find("Secret.echo"), std::string::npos) << "the relay saw no plaintext traffic";
  ASSERT_NE(clear.find("marker-7f3a9c"), std::string::npos);

  const std::string wire = relayed_bytes(true);
  ASSERT_GT(wire.size(), 1000u) << "the relay saw (almost) no traffic";
  EXPECT_EQ(wire.find("Secret.echo"), std::string::npos);
  EXPECT_EQ(wire.find("String.upcase"), std::string::npos);
  EXPECT_EQ(wire.find("marker-7f3a9c"), std::string::npos);
  EXPECT_EQ(wire.find("MARKER-7F3A9C"), std::string::npos);
  // The first bytes are a TLS handshake record (0x16 0x03), not a HELLO frame.
  EXPECT_EQ(static_cast<unsigned char>(wire[0]), 0x16);
  EXPECT_EQ(static_cast<unsigned char>(wire[1]), 0x03);
}

}  // namespace
