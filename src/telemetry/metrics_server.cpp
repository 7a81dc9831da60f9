// One strand serialises the acceptor and every connection, so no server state
// needs a lock except the render callback (which stop() clears from any
// thread). Each connection: read until a whole request head (bounded), answer,
// half-close, drain what the client still sends, close. One deadline timer
// bounds the whole connection, so a slow or silent client costs a socket for
// at most request_timeout.
#include "telemetry/metrics_server.hpp"

#include "base/log.hpp"

#include <array>
#include <asio/bind_executor.hpp>
#include <asio/dispatch.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/write.hpp>
#include <atomic>
#include <mutex>
#include <set>
#include <stdexcept>

#include "base/log_limiter.hpp"
#include "fly/errors.hpp"
#include "telemetry/exposition.hpp"
#include "telemetry/http_request.hpp"
#include "telemetry/metrics_address.hpp"

namespace fly::telemetry {

namespace {

using Strand = asio::strand<asio::io_context::executor_type>;

// After the response, how long a client may keep sending before we close.
constexpr std::chrono::milliseconds linger_time{1000};

std::string http_response(std::string_view status, std::string_view content_type,
                          std::string_view body, bool head_only,
                          std::string_view extra_headers = {}) {
  std::string r;
  r.reserve(160 + (head_only ? 0 : body.size()));
  r += "HTTP/1.1 ";
  r += status;
  r += "\r\nContent-Type: ";
  r += content_type;
  r += "\r\nContent-Length: ";
  r += std::to_string(body.size());
  r += "\r\nConnection: close\r\n";
  r += extra_headers;
  r += "\r\n";
  if (!head_only) r += body;
  return r;
}

constexpr std::string_view plain = "text/plain; charset=utf-8";
constexpr std::string_view json_type = "application/json";

enum State { created, started, stopped };

}  // namespace

struct MetricsServer::Impl : std::enable_shared_from_this<MetricsServer::Impl> {
  Impl(asio::io_context& io, const asio::ip::tcp::endpoint& endpoint,
       std::function<std::string()> render_fn, Options opts)
      : strand(asio::make_strand(io)),
        acceptor(strand),
        retry(strand),
        requested(endpoint),
        options(opts),
        render(std::move(render_fn)),
        health(options.health) {}

  void accept();
  void close_all();
  std::string respond(const RequestHead& head);
  std::string respond_health(const RequestHead& head);

  Strand strand;
  asio::ip::tcp::acceptor acceptor;    // strand only, after start()
  asio::steady_timer retry;            // strand only: pause after a failed accept
  fly::detail::LogLimiter accept_log;  // strand only: its log line, once a second
  const asio::ip::tcp::endpoint requested;
  asio::ip::tcp::endpoint bound;  // written once in start(), read after
  const Options options;

  std::mutex lifecycle;  // start() against stop()
  std::atomic<int> state{created};

  std::mutex render_mutex;  // held while rendering; stop() clears `render` and `health` under it
  std::function<std::string()> render;
  std::function<HealthReport()> health;

  std::set<std::shared_ptr<Session>> sessions;  // strand only
};

class MetricsServer::Session : public std::enable_shared_from_this<Session> {
 public:
  Session(const std::shared_ptr<Impl>& server, asio::ip::tcp::socket socket)
      : server_(server),
        options_(server->options),
        socket_(std::move(socket)),
        timer_(server->strand) {}

  void start() {
    arm_timer(options_.request_timeout);
    read();
  }

  // Idempotent. Strand only.
  void close() {
    if (closed_) return;
    closed_ = true;
    asio::error_code ignored;
    timer_.cancel();
    socket_.close(ignored);
    if (auto server = server_.lock()) server->sessions.erase(shared_from_this());
  }

 private:
  void arm_timer(std::chrono::milliseconds after) {
    timer_.expires_after(after);
    timer_.async_wait([self = shared_from_this()](const asio::error_code& ec) {
      if (!ec) self->close();  // deadline passed (a cancelled wait reports an error)
    });
  }

  void read() {
    socket_.async_read_some(asio::buffer(chunk_),
                            [self = shared_from_this()](const asio::error_code& ec, std::size_t n) {
                              self->on_read(ec, n);
                            });
  }

  void on_read(const asio::error_code& ec, std::size_t n) {
    if (ec || closed_) return close();
    request_.append(chunk_.data(), n);
    const RequestParse parsed = parse_request_head(request_, options_.max_request_bytes);
    switch (parsed.status) {
      case RequestParse::incomplete:
        return read();
      case RequestParse::bad:
        return write(
            http_response("400 Bad Request", plain, "bad request: " + parsed.error + "\n", false));
      case RequestParse::complete: {
        auto server = server_.lock();
        if (!server) return close();
        return write(server->respond(parsed.head));
      }
    }
  }

  void write(std::string response) {
    response_ = std::move(response);
    asio::async_write(socket_, asio::buffer(response_),
                      [self = shared_from_this()](const asio::error_code& ec, std::size_t) {
                        if (ec) return self->close();
                        self->linger();
                      });
  }

  // Half-close, then read and drop whatever the client still sends until it
  // closes: closing with unread bytes would send a reset that can destroy
  // the response before the client reads it.
  void linger() {
    asio::error_code ignored;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
    arm_timer(std::min(linger_time, options_.request_timeout));
    drain();
  }

  void drain() {
    socket_.async_read_some(asio::buffer(chunk_),
                            [self = shared_from_this()](const asio::error_code& ec, std::size_t) {
                              if (ec || self->closed_) return self->close();
                              self->drain();
                            });
  }

  std::weak_ptr<Impl> server_;  // weak: the server owns its sessions
  const Options options_;
  asio::ip::tcp::socket socket_;
  asio::steady_timer timer_;
  std::array<char, 2048> chunk_{};
  std::string request_;
  std::string response_;
  bool closed_ = false;
};

void MetricsServer::Impl::accept() {
  acceptor.async_accept(strand, [self = shared_from_this()](const asio::error_code& ec,
                                                            asio::ip::tcp::socket socket) {
    if (self->state.load() == stopped || ec == asio::error::operation_aborted) return;
    if (ec) {
      // E.g. out of file descriptors: pause instead of spinning on the error,
      // and say so at most once a second.
      std::size_t suppressed = 0;
      if (self->accept_log.allow(suppressed)) {
        fly::log::get().warn(
            "metrics endpoint {}: accept failed: {}; retrying every 100 ms ({} more "
            "such errors since the last message)",
            to_string(self->bound), ec.message(), suppressed);
      }
      self->retry.expires_after(std::chrono::milliseconds(100));
      self->retry.async_wait([self](const asio::error_code& wait_ec) {
        if (!wait_ec && self->state.load() != stopped) self->accept();
      });
      return;
    }
    if (self->sessions.size() >= self->options.max_connections) {
      asio::error_code ignored;
      socket.close(ignored);  // over the limit: refuse by closing
    } else {
      auto session = std::make_shared<Session>(self, std::move(socket));
      self->sessions.insert(session);
      session->start();
    }
    self->accept();
  });
}

void MetricsServer::Impl::close_all() {
  asio::error_code ignored;
  retry.cancel();
  acceptor.close(ignored);
  const auto open = sessions;  // close() erases from `sessions`
  for (const auto& s : open) s->close();
  sessions.clear();
}

std::string MetricsServer::Impl::respond(const RequestHead& head) {
  const bool head_only = head.method == "HEAD";
  if (head.path() == "/health" && options.health) return respond_health(head);
  if (head.path() != "/metrics") {
    return http_response("404 Not Found", plain, "not found: metrics are at /metrics\n", head_only);
  }
  if (head.method != "GET" && !head_only) {
    return http_response("405 Method Not Allowed", plain, "method not allowed: use GET\n", false,
                         "Allow: GET, HEAD\r\n");
  }
  std::string body;
  {
    std::lock_guard lock(render_mutex);
    if (!render) return http_response("503 Service Unavailable", plain, "stopping\n", head_only);
    try {
      body = render();
    } catch (const std::exception& e) {
      fly::log::get().error("metrics endpoint: rendering the metrics failed: {}", e.what());
      return http_response("500 Internal Server Error", plain, "rendering failed\n", head_only);
    }
  }
  return http_response("200 OK", exposition_content_type, body, head_only);
}

std::string MetricsServer::Impl::respond_health(const RequestHead& head) {
  const bool head_only = head.method == "HEAD";
  if (head.method != "GET" && !head_only) {
    return http_response("405 Method Not Allowed", plain, "method not allowed: use GET\n", false,
                         "Allow: GET, HEAD\r\n");
  }
  HealthReport report{false, R"({"status":"stopping"})"};
  {
    std::lock_guard lock(render_mutex);
    if (health) {
      try {
        report = health();
      } catch (const std::exception& e) {
        fly::log::get().error("metrics endpoint: the health check failed: {}", e.what());
        report = {false, R"({"status":"error"})"};
      }
    }
  }
  return http_response(report.healthy ? "200 OK" : "503 Service Unavailable", json_type,
                       report.json + "\n", head_only);
}

MetricsServer::MetricsServer(asio::io_context& io, const asio::ip::tcp::endpoint& endpoint,
                             std::function<std::string()> render)
    : MetricsServer(io, endpoint, std::move(render), Options{}) {}

MetricsServer::MetricsServer(asio::io_context& io, const asio::ip::tcp::endpoint& endpoint,
                             std::function<std::string()> render, Options options)
    : impl_(std::make_shared<Impl>(io, endpoint, std::move(render), options)) {
  if (!impl_->render) throw std::invalid_argument("MetricsServer: empty render function");
}

MetricsServer::~MetricsServer() {
  stop();
}

void MetricsServer::start() {
  Impl& s = *impl_;
  std::lock_guard lock(s.lifecycle);
  if (s.state.load() != created) throw std::logic_error("MetricsServer::start called twice");
  const auto fail = [&](const char* step, const asio::error_code& ec) {
    asio::error_code ignored;
    s.acceptor.close(ignored);
    throw ConfigError("metrics address", to_string(s.requested),
                      std::string("cannot ") + step + ": " + ec.message());
  };
  asio::error_code ec;
  s.acceptor.open(s.requested.protocol(), ec);
  if (ec) fail("open a socket", ec);
  s.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (ec) fail("set SO_REUSEADDR", ec);
  s.acceptor.bind(s.requested, ec);
  if (ec) fail("listen", ec);
  s.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) fail("listen", ec);
  s.bound = s.acceptor.local_endpoint(ec);
  if (ec) fail("read the bound address", ec);
  s.state.store(started);
  asio::post(s.strand, [self = impl_] {
    if (self->state.load() == started) self->accept();
  });
}

void MetricsServer::stop() {
  Impl& s = *impl_;
  {
    std::lock_guard lock(s.lifecycle);
    if (s.state.exchange(stopped) == stopped) return;
  }
  {
    std::lock_guard lock(s.render_mutex);  // waits for a render in progress
    s.render = nullptr;
    s.health = nullptr;
  }
  asio::dispatch(s.strand, [self = impl_] { self->close_all(); });
}

asio::ip::tcp::endpoint MetricsServer::local_endpoint() const {
  std::lock_guard lock(impl_->lifecycle);
  return impl_->bound;
}

}  // namespace fly::telemetry
