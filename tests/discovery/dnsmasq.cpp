// dnsmasq as a test fixture (dnsmasq.hpp). Readiness is "it answers a query",
// checked by polling with a deadline, never by sleeping a fixed time.
#include "dnsmasq.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "support/wait.hpp"

namespace disctest {

namespace {

constexpr const char* kDnsmasq = "/usr/sbin/dnsmasq";
constexpr const char* kSetpriv = "/usr/bin/setpriv";

// Whether ::1 can be bound here (some CI containers have no IPv6 at all).
bool has_v6_loopback() {
  int fd = ::socket(AF_INET6, SOCK_DGRAM, 0);
  if (fd < 0) return false;
  sockaddr_in6 addr{};
  addr.sin6_family = AF_INET6;
  addr.sin6_addr = in6addr_loopback;
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

bool dns_answers(std::uint16_t port, std::chrono::milliseconds timeout) {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) return false;
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // Header: id 0x4242, RD, one question; then "app.internal" A IN.
  const unsigned char query[] = {0x42, 0x42, 0x01, 0x00, 0,   1,   0, 0,   0,   0,
                                 0,    0,    3,    'a',  'p', 'p', 8, 'i', 'n', 't',
                                 'e',  'r',  'n',  'a',  'l', 0,   0, 1,   0,   1};
  bool answered = false;
  if (::sendto(fd, query, sizeof query, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) ==
      static_cast<ssize_t>(sizeof query)) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) == 1 && (p.revents & POLLIN)) {
      unsigned char reply[512];
      answered = ::recv(fd, reply, sizeof reply, 0) >= 12 && reply[0] == 0x42 && reply[1] == 0x42;
    }
  }
  ::close(fd);
  return answered;
}

std::unique_ptr<Dnsmasq> Dnsmasq::start(const std::vector<std::string>& hosts, bool log_queries) {
  if (::access(kDnsmasq, X_OK) != 0) {
    throw std::runtime_error("dnsmasq is not installed (scripts/install-deps.sh test)");
  }
  std::unique_ptr<Dnsmasq> d(new Dnsmasq());
  char tmpl[] = "/tmp/flyrpc-dnsmasq-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
  d->dir_ = tmpl;
  d->hosts_path_ = d->dir_ + "/hosts";
  d->write_hosts(hosts);
  d->v6_ = has_v6_loopback();

  std::string last_error;
  // A free port can be taken by another test between free_port() and
  // dnsmasq's bind; then dnsmasq exits and we try another.
  for (int attempt = 0; attempt < 5; ++attempt) {
    d->port_ = static_cast<std::uint16_t>(flytest::free_port());
    std::vector<std::string> argv;
    // If the test process dies without running destructors (a sanitizer
    // abort, a crash), the kernel kills dnsmasq too instead of leaving it
    // behind. setpriv (util-linux, always on Debian) execs dnsmasq, so the
    // pid we signal is dnsmasq's own. (The signal follows the thread that
    // spawned it: start dnsmasq from the test's main thread.)
    if (::access(kSetpriv, X_OK) == 0) argv = {kSetpriv, "--pdeathsig", "KILL", "--"};
    argv.insert(argv.end(), {kDnsmasq, "--no-daemon", "--conf-file=/dev/null",
                             "--pid-file=", "--port=" + std::to_string(d->port_),
                             "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv",
                             "--no-hosts", "--addn-hosts=" + d->hosts_path_, "--local=/internal/"});
    if (d->v6_) argv.push_back("--listen-address=::1");
    if (log_queries) argv.push_back("--log-queries");     // to stderr: --no-daemon is debug mode
    if (::geteuid() == 0) argv.push_back("--user=root");  // else it cannot drop to "nobody"
    d->process_ = std::make_unique<flytest::Process>(flytest::Process::spawn(argv));
    bool ready = flytest::eventually(
        [&] {
          return !d->process_->running() || dns_answers(d->port_, std::chrono::milliseconds(50));
        },
        std::chrono::seconds(10));
    if (ready && d->process_->running()) return d;
    last_error = d->process_->stderr_text();
    d->process_.reset();
  }
  throw std::runtime_error("dnsmasq did not start: " + last_error);
}

Dnsmasq::~Dnsmasq() {
  process_.reset();  // kills and reaps it
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::size_t Dnsmasq::log_count(const std::string& part, const std::string& after) const {
  const std::string text = log();
  std::size_t pos = 0;
  if (!after.empty()) {
    const std::size_t last = text.rfind(after);
    if (last != std::string::npos) pos = last + after.size();
  }
  std::size_t n = 0;
  while ((pos = text.find(part, pos)) != std::string::npos) {
    ++n;
    pos += part.size();
  }
  return n;
}

void Dnsmasq::write_hosts(const std::vector<std::string>& hosts) {
  const std::string tmp = hosts_path_ + ".new";
  {
    std::ofstream out(tmp, std::ios::trunc);
    for (const auto& line : hosts) out << line << '\n';
  }
  std::filesystem::rename(tmp, hosts_path_);
}

void Dnsmasq::set_hosts(const std::vector<std::string>& hosts) {
  write_hosts(hosts);
  process_->signal(SIGHUP);
}

}  // namespace disctest
