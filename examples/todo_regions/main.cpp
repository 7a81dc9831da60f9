// A multi-region web service on flyrpc + PostgreSQL, as it would run on Fly.io:
// every region reads from its local replica, writes run on the primary and
// wait until the local replica has them, so a user who posts and reloads
// always sees their row.
//
//   GET  /todos              the rows, from this region's database (JSON)
//   POST /todos  title=...   adds one through the primary, waits, 201 {"id":...}
//   GET  /health             200 "ok <region>"
//
// Configuration is the environment a Fly machine has: FLY_REGION,
// PRIMARY_REGION, FLY_RPC_* (README "Environment"), DATABASE_URL and
// FLY_POSTGRES_* (docs/POSTGRES.md); PORT (HTTP, default 8080) and HTTP_HOST
// (default 0.0.0.0). examples/todo_regions/run-local.sh runs it in three
// regions on one machine against a real primary and two replicas.
#include <httplib.h>
#include <signal.h>
#include <spdlog/cfg/env.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fly/node.hpp>
#include <fly/postgres/postgres.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

namespace {

using fly::postgres::Connection;

int http_port() {
  const char* p = std::getenv("PORT");
  if (!p || !*p) return 8080;
  char* end = nullptr;
  const long n = std::strtol(p, &end, 10);
  if (*end != '\0' || n < 1 || n > 65535) {
    throw fly::ConfigError("PORT", p, "expected a port number from 1 to 65535");
  }
  return static_cast<int>(n);
}

void reply_error(httplib::Response& res, int status, const std::string& what) {
  res.status = status;
  res.set_content(nlohmann::json{{"error", what}}.dump() + "\n", "application/json");
}

}  // namespace

int main() try {
  // Info by default, SPDLOG_LEVEL to change it (README "Environment").
  // set_level also creates spdlog's registry in this thread before the
  // node's threads log: libspdlog is not built with TSan, which would report
  // its lazy creation from two threads as a race.
  spdlog::set_level(spdlog::level::info);
  spdlog::cfg::load_env_levels();
  // Signals go to the thread that waits for them, not to the HTTP threads.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  fly::Node node(fly::NodeOptions::from_env());
  fly::postgres::Database db(fly::postgres::DatabaseOptions::from_env(node.is_primary()));

  // The write, exposed on every node; it runs on a primary-region node.
  fly::postgres::expose_write(node, db, "Todo.add",
                              [](Connection& c, std::string title, std::string region) {
                                return c
                                    .exec(
                                        "INSERT INTO todos(title, region) VALUES ($1, $2) "
                                        "RETURNING id",
                                        title, region)
                                    .integer(0, 0);
                              });
  if (node.is_primary()) {
    db.writer().acquire()->exec(
        "CREATE TABLE IF NOT EXISTS todos (id bigserial PRIMARY KEY, title text NOT NULL, "
        "region text NOT NULL, created timestamptz NOT NULL DEFAULT now())");
  }
  node.start();

  httplib::Server http;
  http.Get("/health", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok " + node.region() + "\n", "text/plain");
  });
  http.Get("/todos", [&](const httplib::Request&, httplib::Response& res) {
    try {
      auto c = db.reader().acquire();
      auto rows = c->exec("SELECT id, title, region FROM todos ORDER BY id");
      nlohmann::json out = nlohmann::json::array();
      for (int i = 0; i < rows.rows(); ++i) {
        out.push_back({{"id", rows.integer(i, 0)},
                       {"title", std::string(rows.text(i, 1))},
                       {"region", std::string(rows.text(i, 2))}});
      }
      res.set_header("X-Region", node.region());
      res.set_content(out.dump() + "\n", "application/json");
    } catch (const fly::postgres::DatabaseError& e) {
      reply_error(res, 503, e.what());  // e.g. the table has not replicated here yet
    }
  });
  http.Post("/todos", [&](const httplib::Request& req, httplib::Response& res) {
    const std::string title = req.has_param("title") ? req.get_param_value("title") : req.body;
    if (title.empty() || title.size() > 1000) {
      return reply_error(res, 400, "title: expected 1 to 1000 characters");
    }
    try {
      const auto id =
          fly::postgres::write_and_wait<std::int64_t>(node, db, "Todo.add", title, node.region());
      res.status = 201;
      res.set_header("X-Region", node.region());
      res.set_content(nlohmann::json{{"id", id}, {"region", node.region()}}.dump() + "\n",
                      "application/json");
    } catch (const fly::postgres::ReplicationTimeout& e) {
      reply_error(res, 504, e.what());  // committed, not yet visible in this region
    } catch (const fly::postgres::DatabaseError& e) {
      reply_error(res, e.connection_failed() ? 503 : 422, e.what());
    } catch (const fly::Error& e) {
      reply_error(res, 503, e.what());  // no primary node, timeout, node down, ...
    }
  });

  const char* host_env = std::getenv("HTTP_HOST");
  const std::string host = host_env && *host_env ? host_env : "0.0.0.0";
  const int port = http_port();
  if (!http.bind_to_port(host, port)) {
    std::fprintf(stderr, "todo_regions: cannot listen on %s:%d\n", host.c_str(), port);
    return 1;
  }
  std::thread stopper([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    http.stop();
  });
  std::printf("todo_regions: region %s (primary %s), http://%s:%d\n", node.region().c_str(),
              node.primary_region().c_str(), host.c_str(), port);
  std::fflush(stdout);
  http.listen_after_bind();
  stopper.join();
  node.stop();
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "todo_regions: %s\n", e.what());
  return 1;
}
