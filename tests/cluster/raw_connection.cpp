#include "raw_connection.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace flytest {

std::string frame_header(std::uint32_t length, std::uint8_t type) {
  std::string h(5, '\0');
  h[0] = static_cast<char>(length >> 24);
  h[1] = static_cast<char>(length >> 16);
  h[2] = static_cast<char>(length >> 8);
  h[3] = static_cast<char>(length);
  h[4] = static_cast<char>(type);
  return h;
}

std::string raw_frame(std::uint8_t type, std::string_view payload) {
  return frame_header(static_cast<std::uint32_t>(payload.size() + 1), type) + std::string(payload);
}

RawConnection::RawConnection(const std::string& address) {
  const auto colon = address.rfind(':');
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<std::uint16_t>(std::stoi(address.substr(colon + 1))));
  if (::inet_pton(AF_INET, address.substr(0, colon).c_str(), &sa.sin_addr) != 1) return;
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return;
  connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
  socklen_t len = sizeof sa;
  if (connected_ && ::getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len) == 0) {
    local_port_ = ntohs(sa.sin_port);
  }
}

RawConnection::~RawConnection() {
  close();
}

int RawConnection::local_port() const {
  return local_port_;
}

std::string RawConnection::local_address() const {
  return "127.0.0.1:" + std::to_string(local_port());
}

void RawConnection::send(std::string_view bytes) {
  while (fd_ >= 0 && !bytes.empty()) {
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return;  // closed by the node: what it does about it is the test's question
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

void RawConnection::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void RawConnection::pump(std::chrono::milliseconds timeout) {
  if (fd_ < 0 || closed_) return;
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return;
  char buf[16384];
  const ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
  if (n > 0) {
    buffer_.append(buf, static_cast<std::size_t>(n));
    parse();
  } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
    closed_ = true;  // EOF, or reset by the node
  }
}

void RawConnection::parse() {
  while (buffer_.size() >= 5) {
    const auto* p = reinterpret_cast<const unsigned char*>(buffer_.data());
    const std::size_t length = (std::size_t{p[0]} << 24) | (std::size_t{p[1]} << 16) |
                               (std::size_t{p[2]} << 8) | std::size_t{p[3]};
    if (length == 0 || buffer_.size() < 4 + length) return;
    frames_.push_back({p[4], buffer_.substr(5, length - 1)});
    buffer_.erase(0, 4 + length);
  }
}

std::optional<RawFrame> RawConnection::read_frame(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (next_ >= frames_.size() && !closed_ && fd_ >= 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pump(left);
  }
  if (next_ >= frames_.size()) return std::nullopt;
  return frames_[next_++];
}

bool RawConnection::closed_by_peer_within(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!closed_ && fd_ >= 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pump(left);
  }
  return closed_;
}

bool RawConnection::received(std::uint8_t type) const {
  for (const auto& f : frames_) {
    if (f.type == type) return true;
  }
  return false;
}

std::optional<unsigned> RawConnection::refuse_reason() const {
  for (const auto& f : frames_) {
    if (f.type != kRefuse) continue;
    // msgpack [reason, message]: 0x92, then the reason as a positive fixint.
    const auto* p = reinterpret_cast<const unsigned char*>(f.payload.data());
    if (f.payload.size() >= 2 && p[0] == 0x92 && p[1] < 0x80) return p[1];
    return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace flytest
