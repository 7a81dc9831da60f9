// Issue "Cluster": bad input from the network closes that connection only.
// Garbage, a truncated frame, an oversized length and a connection that never
// authenticates each get closed; the node keeps serving its real peers.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "support/cluster_harness.hpp"
#include "support/wait.hpp"

namespace {

using namespace std::chrono_literals;

class RawConnection {
 public:
  explicit RawConnection(const std::string& address) {
    const auto colon = address.rfind(':');
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<std::uint16_t>(std::stoi(address.substr(colon + 1))));
    ::inet_pton(AF_INET, address.substr(0, colon).c_str(), &sa.sin_addr);
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
  }
  ~RawConnection() { ::close(fd_); }
  bool connected() const { return connected_; }
  void send(const std::string& bytes) { (void)::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL); }
  /// Reads (and discards: the node's HELLO, a REFUSE) until the node closes
  /// the connection; false if it is still open after `timeout`.
  bool closed_by_peer_within(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    char buf[4096];
    while (std::chrono::steady_clock::now() < deadline) {
      timeval tv{0, 50'000};
      ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n == 0) return true;
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return true;  // reset
    }
    return false;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

std::string header(std::uint32_t length, std::uint8_t type) {
  std::string h(5, '\0');
  h[0] = static_cast<char>(length >> 24);
  h[1] = static_cast<char>(length >> 16);
  h[2] = static_cast<char>(length >> 8);
  h[3] = static_cast<char>(length);
  h[4] = static_cast<char>(type);
  return h;
}

class HostileInput : public ::testing::Test {
 protected:
  void SetUp() override {
    cookie = flytest::random_cookie();
    syd = std::make_unique<flytest::NodeProcess>(
        flytest::NodeSpec{"syd-1", "syd", {}, {"--handshake-timeout-ms", "500"}, {}}, cookie, "syd");
    ASSERT_TRUE(syd->wait_listening(10s));
    lax = std::make_unique<flytest::NodeProcess>(
        flytest::NodeSpec{"lax-1", "lax", {syd->address()}, {}, {}}, cookie, "syd");
    ASSERT_TRUE(lax->wait_listening(10s));
    ASSERT_TRUE(still_serving());
  }

  // The node is alive and its real peer can still call it.
  bool still_serving() {
    if (!syd->process().running()) return false;
    auto r = flytest::cli_call(cookie, {"--seeds", lax->address(), "--region", "syd", "--timeout",
                                        "5000", "String.upcase", "\"ok\""});
    return r.exit_code == 0 && r.out == "\"OK\"\n";
  }

  std::string cookie;
  std::unique_ptr<flytest::NodeProcess> syd, lax;
};

TEST_F(HostileInput, GarbageIsClosed) {
  RawConnection c(syd->address());
  ASSERT_TRUE(c.connected());
  c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(c.closed_by_peer_within(3s));
  EXPECT_TRUE(still_serving());
}

TEST_F(HostileInput, OversizedLengthIsClosedBeforeAnyBufferIsSized) {
  RawConnection c(syd->address());
  c.send(header(0x7fffffff, 0x01));
  EXPECT_TRUE(c.closed_by_peer_within(3s));
  EXPECT_NE(syd->err().find("protocol error"), std::string::npos) << syd->err();
  EXPECT_TRUE(still_serving());
}

TEST_F(HostileInput, ZeroLengthAndUnknownTypeAreClosed) {
  RawConnection zero(syd->address());
  zero.send(header(0, 0x01));
  EXPECT_TRUE(zero.closed_by_peer_within(3s));
  RawConnection unknown(syd->address());
  unknown.send(header(1, 0x7f) + "x");
  EXPECT_TRUE(unknown.closed_by_peer_within(3s));
  EXPECT_TRUE(still_serving());
}

TEST_F(HostileInput, MalformedHelloIsClosed) {
  RawConnection c(syd->address());
  c.send(header(4, 0x01) + "\x93\xc1\xc1\xc1");  // not a valid HELLO
  EXPECT_TRUE(c.closed_by_peer_within(3s));
  EXPECT_TRUE(still_serving());
}

TEST_F(HostileInput, TruncatedFrameIsClosedAtTheHandshakeDeadline) {
  RawConnection c(syd->address());
  c.send(header(100, 0x01) + "0123456789");  // 10 of 100 bytes, then silence
  EXPECT_TRUE(c.closed_by_peer_within(3s));
  EXPECT_TRUE(still_serving());
}

TEST_F(HostileInput, SilentConnectionIsClosedAtTheHandshakeDeadline) {
  RawConnection c(syd->address());
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.closed_by_peer_within(3s));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 400ms);  // not before the deadline (500 ms)
  EXPECT_NE(syd->err().find("timed out"), std::string::npos) << syd->err();
  EXPECT_TRUE(still_serving());
}

TEST_F(HostileInput, FramesBeforeAuthenticationAreRefused) {
  // A CALL before any handshake: no function may run for an unverified peer.
  RawConnection c(syd->address());
  std::string call = header(5 + 13 + 13 + 2, 0x10);
  call += std::string(8, '\0') + std::string(4, '\0') + "\x0d" "Kernel.raise" "x" "\x91\xa0";
  c.send(call);
  EXPECT_TRUE(c.closed_by_peer_within(3s));
  EXPECT_TRUE(still_serving());
}

}  // namespace
