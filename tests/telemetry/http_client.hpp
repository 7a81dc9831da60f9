// A tiny blocking HTTP/1.1 client for tests: one request per connection
// (Connection: close), every socket call bounded by a timeout, raw bytes in
// and out so that tests can also send garbage.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <string_view>

#include <asio/ip/tcp.hpp>  // after a standard header (see metrics_server.hpp)

namespace flytest {

struct HttpResponse {
  int status = 0;                              ///< 0 if no status line arrived
  std::map<std::string, std::string> headers;  ///< names lower-cased
  std::string body;                            ///< de-chunked
  std::string raw;                             ///< every byte received
};

/// A connected TCP socket with send/receive timeouts; closes on destruction.
class Connection {
 public:
  explicit Connection(const asio::ip::tcp::endpoint& to,
                      std::chrono::milliseconds timeout = std::chrono::seconds(5));
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  /// Sends every byte; false if the peer closed or the send timed out.
  bool send(std::string_view bytes);
  /// Reads until the peer closes (true) or the timeout passes or the
  /// connection is reset (false). Everything read is appended to `out`.
  bool read_until_closed(std::string& out);

 private:
  int fd_ = -1;
};

/// Sends `request` as is and returns everything received until the server
/// closed (or the timeout).
std::string exchange(const asio::ip::tcp::endpoint& to, std::string_view request);

/// Parses a raw response (status line, headers, Content-Length or chunked body).
HttpResponse parse_response(const std::string& raw);

/// "GET <target> HTTP/1.1" with Host and Connection: close.
HttpResponse http_get(const asio::ip::tcp::endpoint& to, std::string_view target,
                      std::string_view method = "GET");

}  // namespace flytest
