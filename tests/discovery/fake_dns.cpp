// FakeDns (fake_dns.hpp): one thread blocked in poll() on the socket and an
// eventfd; replies echo the query with QR set and the chosen RCODE.
#include "fake_dns.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <stdexcept>

namespace disctest {

FakeDns::FakeDns(Mode mode) : mode_(mode) {
  fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
  wake_fd_ = ::eventfd(0, 0);
  if (fd_ < 0 || wake_fd_ < 0) throw std::runtime_error("FakeDns: socket/eventfd failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::runtime_error("FakeDns: bind failed");
  }
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { serve(); });
}

FakeDns::~FakeDns() {
  std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
  thread_.join();
  ::close(fd_);
  ::close(wake_fd_);
}

void FakeDns::serve() {
  for (;;) {
    pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) continue;
    if (fds[1].revents != 0) return;
    unsigned char packet[1500];
    sockaddr_in from{};
    socklen_t from_len = sizeof from;
    ssize_t n =
        ::recvfrom(fd_, packet, sizeof packet, 0, reinterpret_cast<sockaddr*>(&from), &from_len);
    if (n < 12) continue;
    queries_.fetch_add(1);
    if (mode_ == Mode::silent) continue;
    // Header byte 2: QR(1) opcode(4) AA TC RD -> keep opcode and RD, set QR.
    packet[2] = static_cast<unsigned char>(0x80 | (packet[2] & 0x79));
    // Byte 3: RA, then RCODE: 0 NOERROR, 2 SERVFAIL, 5 REFUSED.
    int rcode = mode_ == Mode::servfail ? 2 : mode_ == Mode::refused ? 5 : 0;
    packet[3] = static_cast<unsigned char>(0x80 | rcode);
    // The first letter of the question's name: 'a' of "app" becomes 'b'.
    if (mode_ == Mode::wrong_question && n > 13) packet[13] ^= 0x03;
    // No answers, no authority; the question (and any OPT record) echoed.
    packet[6] = packet[7] = packet[8] = packet[9] = 0;
    ::sendto(fd_, packet, static_cast<std::size_t>(n), 0, reinterpret_cast<sockaddr*>(&from),
             from_len);
  }
}

}  // namespace disctest
