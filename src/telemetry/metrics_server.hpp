// The /metrics endpoint: a minimal HTTP/1.1 server on Asio that answers
// GET /metrics with the Prometheus text format and closes the connection, and
// GET /health with the node's health (for a load balancer's or Fly's checks).
//
//   GET or HEAD /metrics -> 200, Content-Type text/plain; version=0.0.4
//   GET or HEAD /health  -> 200 (healthy) or 503, one line of JSON (when
//                           Options::health is set; else 404)
//   any other path       -> 404
//   other method         -> 405 (Allow: GET, HEAD)
//   malformed request, or a head over max_request_bytes -> 400, then close
//   a request not complete within request_timeout      -> closed
//
// Threads: all socket work runs on a strand of the given io_context, driven by
// whatever threads run it. `render` is called on those threads, one call at a
// time; it must not call stop(). start() and stop() may be called from any
// thread.
#pragma once

// Standard headers first: Asio's configuration (aligned_alloc or operator
// new for its recycled memory) depends on libstdc++ macros being defined, and
// every translation unit must see the same configuration.
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

namespace fly::telemetry {

/// What GET /health answers: 200 when healthy, else 503; `json` is the body
/// (one line, a newline is added).
struct HealthReport {
  bool healthy = false;
  std::string json;
};

class MetricsServer {
 public:
  struct Options {
    /// Serves /health when set. Called like `render` (I/O threads, one at a
    /// time, never after stop() returns); must not block. After stop(),
    /// /health answers 503 {"status":"stopping"}.
    std::function<HealthReport()> health;
    std::chrono::milliseconds request_timeout{10'000};  ///< whole connection: read, render, write
    std::size_t max_request_bytes = 8 * 1024;           ///< request line + headers
    std::size_t max_connections = 64;                   ///< more are closed on accept
  };

  /// Nothing happens until start(). `render` produces the response body.
  MetricsServer(asio::io_context& io, const asio::ip::tcp::endpoint& endpoint,
                std::function<std::string()> render);
  MetricsServer(asio::io_context& io, const asio::ip::tcp::endpoint& endpoint,
                std::function<std::string()> render, Options options);
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;
  /// stop()s.
  ~MetricsServer();

  /// Binds and listens (synchronously, so the address is taken when it
  /// returns), then accepts on the io_context. Throws fly::ConfigError naming
  /// the address if it cannot listen (in use, not a local address, no
  /// permission). Calling it twice, or after stop(), is a std::logic_error.
  void start();

  /// Stops serving. When it returns, `render` is not running and will not be
  /// called again (it waits for a render in progress). The listening socket
  /// and open connections are closed on the io_context's threads right after
  /// (or when the io_context is destroyed, if it no longer runs). Idempotent.
  void stop();

  /// The bound address (with the actual port when the endpoint's port was 0).
  /// Valid after start().
  asio::ip::tcp::endpoint local_endpoint() const;

 private:
  struct Impl;
  class Session;
  std::shared_ptr<Impl> impl_;
};

}  // namespace fly::telemetry
