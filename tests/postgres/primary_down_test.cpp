// The primary database stops: writes fail with a typed error, promptly.
// Runs last in the binary (it restarts the primary at the end regardless).
#include <gtest/gtest.h>

#include <chrono>

#include "pg_regions.hpp"
#include "support/wait.hpp"

namespace flytest {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using fly::postgres::write_and_wait;
using fly::postgres::WriteOptions;

class PrimaryDown : public PgRegions {};

TEST_F(PrimaryDown, WritesFailTypedWithoutHangingPastTheTimeout) {
  // The pool holds open connections to the primary from earlier writes.
  write_and_wait<std::int64_t>(*lax, *lax_db, "Todo.add", "lax", "before stop");
  PgCluster::get()->stop_server("primary");
  struct Restart {
    ~Restart() { PgCluster::get()->start_server("primary"); }
  } restart;

  for (int i = 0; i < 3; ++i) {  // an open connection that broke, then refused connects
    const auto start = Clock::now();
    try {
      write_and_wait<std::int64_t>(*lax, *lax_db, "Todo.add", "lax", "while stopped",
                                   WriteOptions{.timeout = 3s, .replication_timeout = 1s});
      ADD_FAILURE() << "a write succeeded with the primary stopped";
    } catch (const fly::postgres::DatabaseError& e) {
      EXPECT_TRUE(e.connection_failed()) << e.what();
      EXPECT_EQ(e.code(), fly::Errc::unavailable);
    }
    EXPECT_LT(Clock::now() - start, flytest::slack(3s));
  }
}

TEST_F(PrimaryDown, AfterARestartWritesWorkAgain) {
  // The pool dropped the broken connections and reconnects.
  EXPECT_GT(write_and_wait<std::int64_t>(*syd, *syd_db, "Todo.add", "syd", "after restart"), 0);
  // The replicas reconnect to the restarted primary by themselves.
  EXPECT_GT(write_and_wait<std::int64_t>(*lax, *lax_db, "Todo.add", "lax", "after restart",
                                         WriteOptions{.replication_timeout = 15s}),
            0);
}

}  // namespace
}  // namespace flytest
