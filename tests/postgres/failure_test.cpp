// How writes fail: typed errors, bounded in time, and no polling when idle.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "pg_regions.hpp"
#include "support/slack.hpp"

namespace flytest {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using fly::postgres::write_and_wait;
using fly::postgres::WriteOptions;

class WriteFailures : public PgRegions {};

TEST_F(WriteFailures, ReplayPausedOnLaxIsAReplicationTimeoutThenRecovers) {
  auto replica = connect("replica1");
  replica.exec("SELECT pg_wal_replay_pause()");
  const auto start = Clock::now();
  try {
    write_and_wait<std::int64_t>(*lax, *lax_db, "Todo.add", "lax", "during pause",
                                 WriteOptions{.replication_timeout = 300ms});
    ADD_FAILURE() << "the write returned while replay was paused";
  } catch (const fly::postgres::ReplicationTimeout& e) {
    const auto took = Clock::now() - start;
    EXPECT_EQ(e.code(), fly::Errc::timeout);
    EXPECT_EQ(e.timeout(), 300ms);
    EXPECT_GE(took, 300ms);
    EXPECT_LT(took, flytest::slack(3s)) << "the wait overran its timeout";
    EXPECT_LT(*fly::postgres::Lsn::parse(e.replayed_lsn()),
              *fly::postgres::Lsn::parse(e.target_lsn()));
  }
  // Committed on the primary all the same, and not visible on lax yet.
  EXPECT_EQ(count_title("primary", "during pause"), 1);
  EXPECT_EQ(count_title("replica1", "during pause"), 0);
  // hkg's replica is not paused: its writes go on.
  EXPECT_GT(write_and_wait<std::int64_t>(*hkg, *hkg_db, "Todo.add", "hkg", "hkg meanwhile"), 0);

  replica.exec("SELECT pg_wal_replay_resume()");
  const auto id = write_and_wait<std::int64_t>(*lax, *lax_db, "Todo.add", "lax", "after resume");
  EXPECT_EQ(replica.exec("SELECT 1 FROM todos WHERE id = $1", id).rows(), 1);
  EXPECT_EQ(count_title("replica1", "during pause"), 1);
}

TEST_F(WriteFailures, AnAbortedTransactionIsATypedWalLookupError) {
  try {
    write_and_wait<int>(*lax, *lax_db, "Todo.swallow");
    ADD_FAILURE() << "no error";
  } catch (const fly::postgres::WalLookupFailed& e) {
    EXPECT_EQ(e.sqlstate(), "25P02") << e.what();
    EXPECT_FALSE(e.committed());
  }
  EXPECT_EQ(count_title("primary", "swallowed"), 0);
  // The connection went back to the pool clean: the next write works.
  EXPECT_GT(write_and_wait<std::int64_t>(*lax, *lax_db, "Todo.add", "lax", "after swallow"), 0);
}

TEST_F(WriteFailures, AStatementErrorArrivesWithItsSqlstate) {
  try {
    write_and_wait<int>(*hkg, *hkg_db, "Todo.duplicate");
    ADD_FAILURE() << "no error";
  } catch (const fly::postgres::DatabaseError& e) {
    EXPECT_EQ(e.sqlstate(), "23505") << e.what();  // unique_violation
    EXPECT_EQ(e.code(), fly::Errc::remote_error);
    EXPECT_FALSE(e.connection_failed());
  }
}

// Nobody waits, nobody polls: over an idle second no replay-position query
// reaches lax's replica; one write from lax does send some.
TEST_F(WriteFailures, NoQueryRunsOnAReplicaWhileNobodyWaits) {
  auto replica = connect("replica1");
  auto polls = [&] {
    return replica
        .exec(
            "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE query = "
            "'SELECT pg_last_wal_replay_lsn()'")
        .integer(0, 0);
  };
  write_and_wait<std::int64_t>(*lax, *lax_db, "Todo.add", "lax", "before idle");
  const auto before = polls();
  // The measurement window itself: one idle second.
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(polls(), before) << "the replica was polled while nobody waited";
  write_and_wait<std::int64_t>(*lax, *lax_db, "Todo.add", "lax", "after idle");
  EXPECT_GT(polls(), before) << "the counter does not see the tracker's polls";
}

}  // namespace
}  // namespace flytest
