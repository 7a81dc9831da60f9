#include "pg_regions.hpp"

#include "support/in_process_node.hpp"

namespace flytest {

using namespace std::chrono_literals;
using fly::postgres::Connection;
using fly::postgres::Database;
using fly::postgres::DatabaseOptions;

namespace {

std::unique_ptr<Database> make_db(const std::string& server, bool primary) {
  DatabaseOptions o;
  o.url = PgCluster::get()->url(server);
  o.primary = primary;
  o.pool_size = 4;
  return std::make_unique<Database>(o);
}

void expose_writes(fly::Node& node, Database& db) {
  fly::postgres::expose_write(node, db, "Todo.add",
                              [](Connection& c, std::string region, std::string title) {
                                return c
                                    .exec(
                                        "INSERT INTO todos(region, title) VALUES ($1, $2) "
                                        "RETURNING id",
                                        region, title)
                                    .integer(0, 0);
                              });
  node.expose("Todo.add_plain", [&db](std::string region, std::string title) {
    auto c = db.writer().acquire();
    return c->exec("INSERT INTO todos(region, title) VALUES ($1, $2) RETURNING id", region, title)
        .integer(0, 0);
  });
  fly::postgres::expose_write(node, db, "Todo.swallow", [](Connection& c) {
    c.exec("INSERT INTO todos(region, title) VALUES ('syd', 'swallowed')");
    try {
      c.exec("SELECT 1 / 0");
    } catch (const fly::postgres::DatabaseError&) {
      // Swallowed: the transaction is now aborted, and the function returns normally.
    }
    return 0;
  });
  fly::postgres::expose_write(node, db, "Todo.duplicate", [](Connection& c) {
    c.exec("INSERT INTO todos(id, region, title) VALUES (1, 'syd', 'dup') ON CONFLICT DO NOTHING");
    c.exec("INSERT INTO todos(id, region, title) VALUES (1, 'syd', 'dup')");  // unique violation
    return 0;
  });
  // Ends the write's commit record exactly at an 8 KiB WAL page boundary
  // (stall_test.cpp): a non-transactional logical message pads the page so
  // that exactly `commit_size` bytes remain for the commit record. Returns
  // whether the padding landed where intended.
  fly::postgres::expose_write(
      node, db, "Stall.write", [](Connection& c, std::int64_t msg_base, std::int64_t commit_size) {
        constexpr std::int64_t kPage = 8192;
        auto insert_pos = [&] {
          return static_cast<std::int64_t>(
              fly::postgres::Lsn::parse(c.exec("SELECT pg_current_wal_insert_lsn()").text(0, 0))
                  ->value);
        };
        auto emit = [&](std::int64_t n) {
          c.exec("SELECT pg_logical_emit_message(false, 'flyrpc', repeat('x', $1::int))", n);
        };
        c.exec("INSERT INTO todos(region, title) VALUES ('syd', 'stall')");
        for (int i = 0; i < 3; ++i) {
          const std::int64_t left = kPage - insert_pos() % kPage;
          const std::int64_t record = left - commit_size;  // what the message must take
          if (record >= msg_base + 300) {
            emit(record - msg_base);
            return insert_pos() % kPage == kPage - commit_size;
          }
          emit(left + 300);  // too close to the page's end: continue on the next page
        }
        return false;
      });
}

}  // namespace

void PgRegions::SetUpTestSuite() {
  if (!PgCluster::get()) return;
  {
    auto c = connect("primary");
    c.exec(
        "CREATE TABLE IF NOT EXISTS todos (id bigserial PRIMARY KEY, region text NOT NULL, "
        "title text NOT NULL)");
  }
  syd_db = make_db("primary", true);
  lax_db = make_db("replica1", false);
  hkg_db = make_db("replica2", false);
  syd = std::make_unique<fly::Node>(in_process_options("syd-1", "syd"));
  expose_writes(*syd, *syd_db);
  syd->start();
  lax = std::make_unique<fly::Node>(in_process_options("lax-1", "lax", {seed_of(*syd)}));
  hkg = std::make_unique<fly::Node>(in_process_options("hkg-1", "hkg", {seed_of(*syd)}));
  expose_writes(*lax, *lax_db);
  expose_writes(*hkg, *hkg_db);
  lax->start();
  hkg->start();
  ASSERT_TRUE(lax->wait_for_region("syd", 10s));
  ASSERT_TRUE(hkg->wait_for_region("syd", 10s));
  // The table exists on both replicas before any test reads them.
  for (const char* r : {"replica1", "replica2"}) {
    auto c = connect(r);
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (c.exec("SELECT to_regclass('todos') IS NOT NULL").text(0, 0) != "t") {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << r << " never saw the table";
      // Poll pacing while waiting on a condition with a deadline.
      std::this_thread::sleep_for(5ms);
    }
  }
}

void PgRegions::TearDownTestSuite() {
  for (auto* n : {&hkg, &lax, &syd}) {
    if (*n) (*n)->stop();
    n->reset();
  }
  syd_db.reset();
  lax_db.reset();
  hkg_db.reset();
}

void PgRegions::SetUp() {
  if (!PgCluster::get()) {
    const auto why = PgCluster::unavailable_reason();
    if (!why.empty()) GTEST_SKIP() << why;
    FAIL() << "the PostgreSQL cluster did not start: " << PgCluster::start_error();
  }
  ASSERT_TRUE(syd && lax && hkg);
}

Connection PgRegions::connect(const std::string& server) {
  return Connection(PgCluster::get()->url(server));
}

long PgRegions::count_title(const std::string& server, const std::string& title) {
  auto c = connect(server);
  return c.exec("SELECT count(*) FROM todos WHERE title = $1", title).integer(0, 0);
}

}  // namespace flytest
