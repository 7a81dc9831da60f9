// TlsSession, the hand-driven TLS record layer, between two sessions in
// memory: no sockets, so every step (a handshake flight, a record cut in two,
// a KeyUpdate, a corrupted byte) is the test's to choose.
#include "net/tls_session.hpp"

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <string>
#include <string_view>

#include "net/tls.hpp"
#include "support/test_pki.hpp"

namespace {

using fly::detail::Buffer;
using fly::net::TlsContext;
using fly::net::TlsSession;
using fly::net::TlsSettings;
using tlstest::TestPki;

std::string text(const Buffer& b) {
  return {b.data(), b.size()};
}

void append(Buffer& to, Buffer& from) {
  to.write(from.data(), from.size());
  from.clear();
}

struct SessionPair : ::testing::Test {
  SessionPair()
      : server_context(settings("a", true)),
        client_context(settings("b", false)),
        client(client_context, true),
        server(server_context, false) {}

  static TlsSettings settings(const std::string& node, bool mutual) {
    const TestPki& pki = TestPki::get();
    const auto files = pki.node(node);
    return {files.cert, files.key, pki.ca, mutual};
  }

  // Runs both handshakes to the end, passing each flight across whole.
  void handshake() {
    Buffer to_server, to_client;
    for (int step = 0; step < 10; ++step) {
      const auto c = client.handshake(to_client, to_server);
      ASSERT_NE(c, TlsSession::Progress::failed) << client.error().message();
      const auto s = server.handshake(to_server, to_client);
      ASSERT_NE(s, TlsSession::Progress::failed) << server.error().message();
      if (c == TlsSession::Progress::done && s == TlsSession::Progress::done) {
        ASSERT_TRUE(to_client.empty());
        ASSERT_TRUE(to_server.empty());
        return;
      }
    }
    FAIL() << "the handshake did not finish in 10 steps";
  }

  TlsContext server_context, client_context;
  TlsSession client, server;
};

TEST_F(SessionPair, SealedBytesOpenOnTheOtherSideAndAreNotPlaintext) {
  handshake();
  Buffer wire, plain;
  const std::string message(40000, 'x');  // three records
  ASSERT_TRUE(client.seal(std::span<const char>(message.data(), message.size()), wire));
  EXPECT_EQ(text(wire).find("xxxxxxxx"), std::string::npos);
  EXPECT_GT(wire.size(), message.size());
  ASSERT_EQ(server.open(wire, plain), TlsSession::Opened::ok);
  EXPECT_TRUE(wire.empty());
  EXPECT_EQ(text(plain), message);
}

TEST_F(SessionPair, ARecordCutAnywhereOpensOnceWhole) {
  handshake();
  Buffer wire, part, plain;
  const std::string_view message = "HELLO, cut in two";
  ASSERT_TRUE(server.seal(std::span<const char>(message.data(), message.size()), wire));
  for (std::size_t cut = 1; cut < wire.size(); cut += 7) {
    Buffer copy;  // each cut opens a new record: sealed anew below
    copy.write(wire.data(), wire.size());
    part.write(copy.data(), cut);
    ASSERT_EQ(client.open(part, plain), TlsSession::Opened::ok);
    EXPECT_TRUE(plain.empty()) << "opened a record before its end, cut at " << cut;
    part.write(copy.data() + cut, copy.size() - cut);
    ASSERT_EQ(client.open(part, plain), TlsSession::Opened::ok);
    EXPECT_EQ(text(plain), message) << "cut at " << cut;
    plain.clear();
    wire.clear();
    ASSERT_TRUE(server.seal(std::span<const char>(message.data(), message.size()), wire));
  }
}

TEST_F(SessionPair, AKeyUpdateRequestedByTheOtherSideIsAnswered) {
  handshake();
  // The server asks for new keys both ways (sent with its next record); the
  // client must answer with its own KeyUpdate (OpenSSL 3 sends it with the
  // client's next record), or the server cannot open what follows.
  ASSERT_EQ(SSL_key_update(server.native(), SSL_KEY_UPDATE_REQUESTED), 1);
  for (int round = 0; round < 3; ++round) {
    Buffer wire, plain, back;
    const std::string ping = "ping " + std::to_string(round);
    ASSERT_TRUE(server.seal(std::span<const char>(ping.data(), ping.size()), wire));
    ASSERT_EQ(client.open(wire, plain), TlsSession::Opened::ok);
    EXPECT_EQ(text(plain), ping);
    const std::string pong = "pong " + std::to_string(round);
    ASSERT_TRUE(client.seal(std::span<const char>(pong.data(), pong.size()), back));
    plain.clear();
    ASSERT_EQ(server.open(back, plain), TlsSession::Opened::ok) << server.error().message();
    EXPECT_EQ(text(plain), pong);
  }
}

TEST_F(SessionPair, ACorruptedRecordFailsTheSessionForGood) {
  handshake();
  Buffer wire, plain;
  const std::string_view message = "authentic";
  ASSERT_TRUE(client.seal(std::span<const char>(message.data(), message.size()), wire));
  wire.data()[wire.size() - 1] ^= 0x01;  // the authentication tag
  EXPECT_EQ(server.open(wire, plain), TlsSession::Opened::failed);
  EXPECT_TRUE(plain.empty());
  EXPECT_TRUE(server.failed());
  EXPECT_TRUE(fly::net::is_tls_error(server.error()));
  EXPECT_NE(fly::net::describe_tls_error(server.error(), server).find("bad record mac"),
            std::string::npos)
      << fly::net::describe_tls_error(server.error(), server);
  Buffer more;
  EXPECT_FALSE(server.seal(std::span<const char>(message.data(), message.size()), more));
  EXPECT_EQ(server.open(more, plain), TlsSession::Opened::failed);
}

TEST_F(SessionPair, CloseNotifyEndsTheStreamAfterWhatCameBefore) {
  handshake();
  Buffer wire, plain;
  const std::string_view message = "last words";
  ASSERT_TRUE(client.seal(std::span<const char>(message.data(), message.size()), wire));
  // A close_notify, written through the session's own BIO.
  Buffer shutdown_out;
  Buffer no_input;
  // SSL_shutdown writes the alert through the BIO, which with no seal in
  // progress keeps it as output waiting for a seal.
  ASSERT_GE(SSL_shutdown(client.native()), 0);
  ASSERT_TRUE(client.seal({}, shutdown_out));
  append(wire, shutdown_out);
  EXPECT_EQ(server.open(wire, plain), TlsSession::Opened::closed);
  EXPECT_EQ(text(plain), message);
}

TEST(TlsSessionAlone, PlaintextWhereARecordShouldBeIsNotTls) {
  const TestPki& pki = TestPki::get();
  const auto files = pki.node("a");
  TlsContext context({files.cert, files.key, pki.ca, false});
  TlsSession server(context, false);
  Buffer in, out;
  // What a plaintext node sends first: a frame length, then its HELLO.
  constexpr char hello[] = "\x00\x00\x00\x20\x01HELLO from a plaintext node...";
  in.write(hello, sizeof hello - 1);
  EXPECT_EQ(server.handshake(in, out), TlsSession::Progress::failed);
  const std::string why = fly::net::describe_tls_error(server.error(), server);
  EXPECT_NE(why.find("does not speak TLS"), std::string::npos) << why;
}

}  // namespace
