// A deliberately broken DNS server on 127.0.0.1 (UDP), for the failures a
// real dnsmasq does not produce on demand: it never answers, or answers every
// query with SERVFAIL or REFUSED, or with an empty answer to another question
// (which a resolver must ignore, or a spoofed reply would be accepted). It counts the queries it
// receives so tests can wait for "the resolver was asked N times" instead of sleeping.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <thread>

namespace disctest {

class FakeDns {
 public:
  enum class Mode { silent, servfail, refused, wrong_question };
  explicit FakeDns(Mode mode);
  ~FakeDns();
  FakeDns(const FakeDns&) = delete;
  FakeDns& operator=(const FakeDns&) = delete;

  std::uint16_t port() const { return port_; }
  std::size_t queries() const { return queries_.load(); }

 private:
  void serve();

  Mode mode_;
  int fd_ = -1;
  int wake_fd_ = -1;  // eventfd: the destructor's signal to stop
  std::uint16_t port_ = 0;
  std::atomic<std::size_t> queries_{0};
  std::thread thread_;
};

}  // namespace disctest
