// The /metrics HTTP endpoint on real loopback sockets: status codes, garbage,
// oversized and slow clients, concurrency, bind errors, stop.
#include "telemetry/metrics_server.hpp"

#include <gtest/gtest.h>

#include <asio/executor_work_guard.hpp>
#include <atomic>
#include <memory>
#include <random>
#include <thread>

#include "fly/errors.hpp"
#include "http_client.hpp"
#include "support/wait.hpp"

namespace {

using fly::telemetry::MetricsServer;
using flytest::http_get;

const asio::ip::tcp::endpoint loopback_any_port{asio::ip::address_v4::loopback(), 0};

// An io_context run by two threads for the test's lifetime, and a server on it.
class Server : public ::testing::Test {
 protected:
  void start(MetricsServer::Options options = {}) {
    server = std::make_unique<MetricsServer>(
        io, loopback_any_port,
        [this] {
          renders.fetch_add(1);
          return std::string("flyrpc_up 1\n");
        },
        options);
    server->start();
    for (int i = 0; i < 2; ++i) threads.emplace_back([this] { io.run(); });
  }

  void TearDown() override {
    if (server) server->stop();
    work.reset();
    io.stop();
    for (auto& t : threads) t.join();
    server.reset();
  }

  asio::ip::tcp::endpoint endpoint() const { return server->local_endpoint(); }

  // True when the server still answers a good request (it survived).
  bool healthy() {
    const auto r = http_get(endpoint(), "/metrics");
    return r.status == 200 && r.body == "flyrpc_up 1\n";
  }

  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  std::vector<std::thread> threads;
  std::unique_ptr<MetricsServer> server;
  std::atomic<int> renders{0};
};

TEST_F(Server, GetMetricsIs200WithExpositionContentType) {
  start();
  EXPECT_NE(endpoint().port(), 0) << "port 0 resolves to the bound port";
  const auto r = http_get(endpoint(), "/metrics");
  EXPECT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.headers.at("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(r.headers.at("content-length"), "12");
  EXPECT_EQ(r.headers.at("connection"), "close");
  EXPECT_EQ(r.body, "flyrpc_up 1\n");
  EXPECT_EQ(renders.load(), 1);

  const auto q = http_get(endpoint(), "/metrics?name[]=x");  // query strings are ignored
  EXPECT_EQ(q.status, 200);
}

TEST_F(Server, HeadHasNoBody) {
  start();
  const auto r = http_get(endpoint(), "/metrics", "HEAD");
  EXPECT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.headers.at("content-length"), "12");
  EXPECT_EQ(r.body, "");
}

TEST_F(Server, OtherPathsAre404) {
  start();
  for (const char* path : {"/", "/metric", "/metrics/", "/favicon.ico", "/METRICS"}) {
    const auto r = http_get(endpoint(), path);
    EXPECT_EQ(r.status, 404) << path << "\n" << r.raw;
  }
  EXPECT_EQ(renders.load(), 0);
}

TEST_F(Server, OtherMethodsAre405) {
  start();
  for (const char* method : {"POST", "PUT", "DELETE", "OPTIONS", "PATCH", "BREW"}) {
    const auto r = http_get(endpoint(), "/metrics", method);
    EXPECT_EQ(r.status, 405) << method << "\n" << r.raw;
    ASSERT_TRUE(r.headers.count("allow")) << method;
    EXPECT_EQ(r.headers.at("allow"), "GET, HEAD") << method;
  }
  EXPECT_EQ(renders.load(), 0);
}

TEST_F(Server, MalformedRequestsAre400) {
  start();
  const std::vector<std::string> bad = {
      "GET\r\n\r\n",
      "GET /metrics\r\n\r\n",
      "GET /metrics HTTP/2.0\r\n\r\n",
      "GET /metrics HTTP/1.1 extra\r\n\r\n",
      "GET  /metrics HTTP/1.1\r\n\r\n",
      "GET metrics HTTP/1.1\r\n\r\n",
      "GET http://x/metrics HTTP/1.1\r\n\r\n",
      "GET /metrics HTTP/1.1\r\nno colon here\r\n\r\n",
      "GET /metrics HTTP/1.1\r\n folded: header\r\n\r\n",
      "GET /metrics HTTP/1.1\r\nX: a\x01"
      "b\r\n\r\n",
      "GET /me\rtrics HTTP/1.1\r\n\r\n",
      std::string("\0\0\0\0", 4),
      "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",  // a TLS ClientHello
      "SSH-2.0-OpenSSH_9.2\r\n",
  };
  for (const auto& request : bad) {
    const auto r = flytest::parse_response(flytest::exchange(endpoint(), request));
    EXPECT_EQ(r.status, 400) << testing::PrintToString(request) << "\n" << r.raw;
  }
  EXPECT_EQ(renders.load(), 0);
  EXPECT_TRUE(healthy());
}

TEST_F(Server, OversizedHeadIs400) {
  start();
  std::string request = "GET /metrics HTTP/1.1\r\n";
  while (request.size() < 9000) request += "X-Padding: " + std::string(100, 'a') + "\r\n";
  request += "\r\n";
  const auto r = flytest::parse_response(flytest::exchange(endpoint(), request));
  EXPECT_EQ(r.status, 400) << r.raw.substr(0, 200);
  EXPECT_NE(r.body.find("larger than 8192"), std::string::npos) << r.body;

  const std::string long_target = "GET /" + std::string(10000, 'a') + " HTTP/1.1\r\n\r\n";
  EXPECT_EQ(flytest::parse_response(flytest::exchange(endpoint(), long_target)).status, 400);
  EXPECT_TRUE(healthy());
}

TEST_F(Server, RandomGarbageNeverCrashesIt) {
  start();
  std::mt19937 rng(7);  // fixed seed: a failure reproduces
  for (int i = 0; i < 100; ++i) {
    std::string junk(1 + rng() % 600, '\0');
    for (char& c : junk) c = static_cast<char>(rng());
    if (i % 2 == 0) junk = "GET /metrics HTTP/1.1\r\n" + junk;  // garbage after a good start
    junk += "\r\n\r\n";
    const auto r = flytest::parse_response(flytest::exchange(endpoint(), junk));
    // 400, or closed without an answer; 200 only if the junk happened to
    // start with an empty line, which completes the good request.
    EXPECT_TRUE(r.status == 400 || r.status == 0 || (i % 2 == 0 && r.status == 200)) << r.raw;
  }
  EXPECT_TRUE(healthy());
}

TEST_F(Server, SlowClientIsClosedAfterTheTimeout) {
  MetricsServer::Options options;
  options.request_timeout = std::chrono::milliseconds(300);
  start(options);
  flytest::Connection slow(endpoint(), std::chrono::seconds(5));
  ASSERT_TRUE(slow.send("GET /metrics HTTP/1.1\r\nHost: x\r\n"));  // never finished
  const auto t0 = std::chrono::steady_clock::now();
  std::string got;
  EXPECT_TRUE(slow.read_until_closed(got)) << "the server must close the connection";
  const auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(waited, flytest::slack(std::chrono::seconds(4)));
  EXPECT_GE(waited, std::chrono::milliseconds(200));
  EXPECT_EQ(got, "") << "no response to an unfinished request";
  EXPECT_TRUE(healthy());
}

TEST_F(Server, ConnectionsAreServedConcurrently) {
  start();
  // Idle connections that never send a byte do not hold up a real scrape.
  std::vector<std::unique_ptr<flytest::Connection>> idle;
  for (int i = 0; i < 10; ++i) {
    idle.push_back(std::make_unique<flytest::Connection>(endpoint()));
    ASSERT_TRUE(idle.back()->send("GET /met"));
  }
  EXPECT_TRUE(healthy());

  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 8; ++i) {
    clients.emplace_back([&] {
      for (int k = 0; k < 5; ++k) {
        if (http_get(endpoint(), "/metrics").status == 200) ok.fetch_add(1);
      }
    });
  }
  for (auto& c : clients) c.join();
  EXPECT_EQ(ok.load(), 40);
}

TEST_F(Server, ConnectionsPastTheLimitAreClosed) {
  MetricsServer::Options options;
  options.max_connections = 2;
  start(options);
  flytest::Connection a(endpoint()), b(endpoint());
  ASSERT_TRUE(a.send("G"));
  ASSERT_TRUE(b.send("G"));
  // Once both are accepted, a third connection is closed without an answer
  // (it sends nothing: closing a socket with unread bytes would reset it).
  EXPECT_EVENTUALLY(
      [&] {
        flytest::Connection c(endpoint(), std::chrono::seconds(2));
        std::string got;
        return c.read_until_closed(got) && got.empty();
      }(),
      5000);
  a.send("ET /metrics HTTP/1.1\r\n\r\n");
  std::string got;
  EXPECT_TRUE(a.read_until_closed(got));
  EXPECT_EQ(flytest::parse_response(got).status, 200);
}

TEST_F(Server, BindFailureNamesTheAddress) {
  start();
  MetricsServer second(io, endpoint(), [] { return std::string(); });
  try {
    second.start();
    FAIL() << "a second server on the same port must not start";
  } catch (const fly::ConfigError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("127.0.0.1:" + std::to_string(endpoint().port())), std::string::npos)
        << what;
    EXPECT_NE(what.find("in use"), std::string::npos) << what;
  }
}

TEST_F(Server, StartTwiceIsALogicError) {
  start();
  EXPECT_THROW(server->start(), std::logic_error);
}

TEST_F(Server, StopClosesTheListenerAndRenderIsNeverCalledAfter) {
  start();
  ASSERT_TRUE(healthy());
  const auto ep = endpoint();
  server->stop();
  const int after_stop = renders.load();
  EXPECT_EVENTUALLY(
      [&] {
        try {
          flytest::Connection c(ep, std::chrono::seconds(1));
          return false;
        } catch (const std::runtime_error&) {
          return true;  // connection refused: the listener is closed
        }
      }(),
      5000);
  EXPECT_EQ(renders.load(), after_stop);
  server->stop();  // idempotent
}

TEST(MetricsServerIpv6, ServesOnV6Loopback) {
  asio::io_context io;
  MetricsServer server(io, {asio::ip::address_v6::loopback(), 0},
                       [] { return std::string("x 1\n"); });
  try {
    server.start();
  } catch (const fly::ConfigError& e) {
    GTEST_SKIP() << "no IPv6 loopback here: " << e.what();
  }
  std::thread runner([&] { io.run(); });
  const auto r = http_get(server.local_endpoint(), "/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "x 1\n");
  server.stop();
  runner.join();  // stop() closes everything, so run() runs out of work
}

}  // namespace
