// A real DNS server for discovery tests: dnsmasq in the foreground on
// 127.0.0.1 and a free port, answering for names under ".internal" from a
// hosts file the test rewrites (and NXDOMAIN for the other ".internal" names).
// The destructor kills it and removes its files.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "discovery/host_port.hpp"
#include "support/process.hpp"

namespace disctest {

class Dnsmasq {
 public:
  /// Starts dnsmasq serving `hosts` ("127.0.0.2 app.internal" lines) and
  /// returns once it answers queries. Throws std::runtime_error (with
  /// dnsmasq's stderr) if it cannot be started. With `log_queries`, dnsmasq
  /// logs every query ("query[A] app.internal from 127.0.0.1") and every
  /// re-read of the hosts file ("read <hosts_path()> - 1 names") to log(),
  /// so tests can wait for "asked N more times" instead of sleeping.
  static std::unique_ptr<Dnsmasq> start(const std::vector<std::string>& hosts,
                                        bool log_queries = false);
  ~Dnsmasq();

  std::uint16_t port() const { return port_; }
  fly::discovery::HostPort server() const { return {"127.0.0.1", port_}; }
  /// The same server on ::1, if this host has IPv6 loopback (else nullopt).
  std::optional<fly::discovery::HostPort> server_v6() const {
    if (!v6_) return std::nullopt;
    return fly::discovery::HostPort{"::1", port_};
  }
  /// Replaces the hosts file (atomically) and tells dnsmasq to re-read it (SIGHUP).
  void set_hosts(const std::vector<std::string>& hosts);
  std::string log() const { return process_ ? process_->stderr_text() : std::string(); }
  /// Occurrences of `part` in log() after the last occurrence of `after`
  /// (the whole log if `after` is empty or absent).
  std::size_t log_count(const std::string& part, const std::string& after = "") const;
  const std::string& hosts_path() const { return hosts_path_; }

 private:
  Dnsmasq() = default;
  void write_hosts(const std::vector<std::string>& hosts);

  std::string dir_;
  std::string hosts_path_;
  std::uint16_t port_ = 0;
  bool v6_ = false;
  std::unique_ptr<flytest::Process> process_;
};

/// Whether a DNS server answers (with any response) on 127.0.0.1:`port`
/// within `timeout`: one raw UDP query for "app.internal" A.
bool dns_answers(std::uint16_t port, std::chrono::milliseconds timeout);

}  // namespace disctest
