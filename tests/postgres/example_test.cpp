// examples/todo_regions, three real processes in syd, lax and hkg against the
// real primary and replicas, driven over HTTP: a POST in a region followed at
// once by a GET in the same region always lists the new row.
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "fly/postgres/connection.hpp"
#include "pg_cluster.hpp"
#include "support/process.hpp"
#include "support/wait.hpp"

namespace flytest {
namespace {

using namespace std::chrono_literals;

struct Service {
  std::string region;
  int http_port = 0;
  std::unique_ptr<Process> process;
};

class TodoRegionsExample : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!PgCluster::get()) {
      const auto why = PgCluster::unavailable_reason();
      if (!why.empty()) GTEST_SKIP() << why;
      FAIL() << "the PostgreSQL cluster did not start: " << PgCluster::start_error();
    }
  }

  // The example's own database, so that its GET lists only its rows.
  static std::string database_url(const std::string& server) {
    auto url = PgCluster::get()->url(server);
    return url.substr(0, url.rfind('/')) + "/todo_example";
  }

  Service start(const std::string& region, const std::string& server, int rpc_port, int seed_port) {
    Service s;
    s.region = region;
    s.http_port = free_port();
    s.process = std::make_unique<Process>(
        Process::spawn({TODO_REGIONS_PATH},
                       {{"FLY_REGION", region},
                        {"PRIMARY_REGION", "syd"},
                        {"FLY_MACHINE_ID", region + "-1"},
                        {"FLY_RPC_COOKIE", "todo-example"},
                        {"FLY_RPC_PORT", std::to_string(rpc_port)},
                        {"FLY_RPC_SEEDS", "127.0.0.1:" + std::to_string(seed_port)},
                        {"PORT", std::to_string(s.http_port)},
                        {"HTTP_HOST", "127.0.0.1"},
                        {"FLY_POSTGRES_ENV", "development"},
                        {"DATABASE_URL", database_url(server)}},
                       {"FLY_APP_NAME", "MY_REGION", "FLY_RPC_DNS_NAME", "FLY_RPC_METRICS",
                        "FLY_RPC_TLS_CERT", "FLY_RPC_TLS_KEY", "FLY_RPC_TLS_CA"}));
    EXPECT_EVENTUALLY(s.process->stdout_text().find("http://") != std::string::npos, 15000)
        << s.process->stderr_text();
    return s;
  }
};

TEST_F(TodoRegionsExample, APostIsListedByTheNextGetInTheSameRegion) {
  {
    fly::postgres::Connection c(PgCluster::get()->url("primary"));
    c.exec("DROP DATABASE IF EXISTS todo_example");
    c.exec("CREATE DATABASE todo_example");
  }
  const int syd_rpc = free_port();
  Service syd = start("syd", "primary", syd_rpc, syd_rpc);
  Service lax = start("lax", "replica1", free_port(), syd_rpc);
  Service hkg = start("hkg", "replica2", free_port(), syd_rpc);

  auto client = [](const Service& s) {
    auto c = std::make_unique<httplib::Client>("127.0.0.1", s.http_port);
    c->set_read_timeout(10, 0);
    return c;
  };
  auto lists = [](httplib::Client& c, const std::string& title) {
    auto r = c.Get("/todos");
    if (!r || r->status != 200) return false;
    for (const auto& row : nlohmann::json::parse(r->body)) {
      if (row.at("title") == title) return true;
    }
    return false;
  };

  // Ready: each region can post (it sees syd) and read (the table replicated).
  for (Service* s : {&syd, &lax, &hkg}) {
    auto c = client(*s);
    std::string last;
    ASSERT_TRUE(eventually(
        [&] {
          auto r =
              c->Post("/todos", "title=ready-" + s->region, "application/x-www-form-urlencoded");
          last = r ? std::to_string(r->status) + " " + r->body : httplib::to_string(r.error());
          return r && r->status == 201;
        },
        15s))
        << s->region << ": last answer " << last << "\n"
        << s->process->stderr_text();
  }

  constexpr int kPosts = 100;
  for (Service* s : {&lax, &hkg}) {
    auto c = client(*s);
    int missing = 0;
    for (int i = 0; i < kPosts; ++i) {
      const std::string title = s->region + "-" + std::to_string(i);
      auto r = c->Post("/todos", "title=" + title, "application/x-www-form-urlencoded");
      ASSERT_TRUE(r) << "POST in " << s->region << " failed";
      ASSERT_EQ(r->status, 201) << r->body;
      EXPECT_EQ(r->get_header_value("X-Region"), s->region);
      if (!lists(*c, title)) ++missing;
    }
    EXPECT_EQ(missing, 0) << s->region << ": rows missing from the GET right after their POST";
  }
  // The other regions converge too (no guarantee of when: eventually).
  auto from_syd = client(syd);
  EXPECT_EVENTUALLY(lists(*from_syd, "hkg-99") && lists(*client(lax), "hkg-99"), 10000);

  for (Service* s : {&syd, &lax, &hkg}) {
    s->process->signal(SIGTERM);
    auto done = s->process->wait_for(10s);
    ASSERT_TRUE(done) << s->region << " did not stop on SIGTERM";
    EXPECT_EQ(done->exit_code, 0) << s->process->stderr_text();
  }
}

}  // namespace
}  // namespace flytest
