// A TCP relay on loopback that records every byte it forwards, both ways:
// what an observer on the network between two nodes would see.
//
// Threading: one thread runs its own io_context; captured() may be called
// from any thread. The destructor stops it and closes every connection.
#pragma once

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace tlstest {

class ByteRelay {
 public:
  /// Listens on 127.0.0.1 (a free port) and forwards each connection to
  /// 127.0.0.1:`target_port`.
  explicit ByteRelay(std::uint16_t target_port);
  ~ByteRelay();
  ByteRelay(const ByteRelay&) = delete;
  ByteRelay& operator=(const ByteRelay&) = delete;

  /// "127.0.0.1:<port>": the address to dial instead of the target.
  std::string address() const;
  /// Everything forwarded so far, in either direction.
  std::string captured() const;

 private:
  void accept_next();
  void record(const char* data, std::size_t n);

  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  const std::uint16_t target_port_;
  mutable std::mutex mutex_;
  std::string captured_;
  std::thread thread_;
};

}  // namespace tlstest
