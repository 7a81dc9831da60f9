#include "tcp_relay.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

namespace flytest {

namespace {

sockaddr_in loopback(int port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<std::uint16_t>(port));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return sa;
}

void send_all(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    const ssize_t k = ::send(fd, p, n, MSG_NOSIGNAL);
    if (k <= 0) return;  // the other side is gone; its own EOF ends the session
    p += k;
    n -= static_cast<std::size_t>(k);
  }
}

}  // namespace

TcpRelay::TcpRelay(const std::string& target) : target_(target) {
  if (target.rfind("127.0.0.1:", 0) != 0) {
    throw std::invalid_argument("TcpRelay: target must be 127.0.0.1:port, got " + target);
  }
  listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa = loopback(0);
  socklen_t len = sizeof sa;
  if (listener_ < 0 || ::bind(listener_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
      ::listen(listener_, 16) != 0 ||
      ::getsockname(listener_, reinterpret_cast<sockaddr*>(&sa), &len) != 0 ||
      ::pipe2(wake_, O_CLOEXEC) != 0) {
    throw std::runtime_error("TcpRelay: cannot listen on loopback");
  }
  port_ = ntohs(sa.sin_port);
  thread_ = std::thread([this] { run(); });
}

TcpRelay::~TcpRelay() {
  (void)::write(wake_[1], "x", 1);
  thread_.join();
  for (auto& s : sessions_) {
    ::close(s.client);
    ::close(s.server);
  }
  ::close(listener_);
  ::close(wake_[0]);
  ::close(wake_[1]);
}

std::size_t TcpRelay::sessions() const {
  std::lock_guard lock(mutex_);
  return sessions_.size();
}

std::string TcpRelay::client_bytes(std::size_t session) const {
  std::lock_guard lock(mutex_);
  return session < sessions_.size() ? sessions_[session].recorded : std::string();
}

bool TcpRelay::finished(std::size_t session) const {
  std::lock_guard lock(mutex_);
  return session < sessions_.size() && !sessions_[session].client_open &&
         !sessions_[session].server_open;
}

void TcpRelay::accept_one() {
  const int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
  if (client < 0) return;
  const int server = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa = loopback(std::stoi(target_.substr(target_.rfind(':') + 1)));
  if (server < 0 || ::connect(server, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    ::close(client);
    if (server >= 0) ::close(server);
    return;
  }
  std::lock_guard lock(mutex_);
  sessions_.push_back({client, server, true, true, {}});
}

bool TcpRelay::forward(int from, int to, std::string* record) {
  char buf[16384];
  const ssize_t n = ::recv(from, buf, sizeof buf, 0);
  if (n <= 0) {
    ::shutdown(to, SHUT_WR);  // pass the EOF on
    return false;
  }
  if (record != nullptr) {
    std::lock_guard lock(mutex_);
    record->append(buf, static_cast<std::size_t>(n));
  }
  send_all(to, buf, static_cast<std::size_t>(n));
  return true;
}

void TcpRelay::run() {
  for (;;) {
    // Only this thread adds sessions or changes their fds and flags, so it
    // reads them without the lock; `recorded` is what others read.
    std::vector<pollfd> fds = {{wake_[0], POLLIN, 0}, {listener_, POLLIN, 0}};
    std::vector<std::pair<std::size_t, bool>> who;  // (session, from the client?)
    for (std::size_t i = 0; i < sessions_.size(); ++i) {
      if (sessions_[i].client_open) {
        fds.push_back({sessions_[i].client, POLLIN, 0});
        who.emplace_back(i, true);
      }
      if (sessions_[i].server_open) {
        fds.push_back({sessions_[i].server, POLLIN, 0});
        who.emplace_back(i, false);
      }
    }
    if (::poll(fds.data(), fds.size(), -1) < 0) continue;
    if (fds[0].revents != 0) return;
    if (fds[1].revents != 0) accept_one();
    for (std::size_t k = 2; k < fds.size(); ++k) {
      if (fds[k].revents == 0) continue;
      auto [i, from_client] = who[k - 2];
      Session& s = sessions_[i];
      if (from_client) {
        if (!forward(s.client, s.server, &s.recorded)) {
          std::lock_guard lock(mutex_);
          s.client_open = false;
        }
      } else if (!forward(s.server, s.client, nullptr)) {
        std::lock_guard lock(mutex_);
        s.server_open = false;
      }
    }
  }
}

}  // namespace flytest
