// The WAL position a write returns must be one the replica reaches without
// more WAL being written.
//
// pg_current_wal_insert_lsn() (what fly_postgres reads) reports, when the
// last record ended exactly at an 8 KiB page boundary, the position after the
// NEXT page's header: boundary + 24. An idle replica replays up to the
// boundary and stops there, so a wait for boundary + 24 lasts until some
// other WAL is written (7-15 s on an idle server). This test makes a write
// whose commit record ends exactly at a page boundary, checks that the
// primary is then in that state, that write_and_wait returned promptly, and
// that waiting for the insert position instead does stall (so the test would
// catch a return to pg_current_wal_insert_lsn()).
#include <gtest/gtest.h>

#include <chrono>

#include "pg_regions.hpp"

namespace flytest {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using fly::postgres::Lsn;

constexpr std::uint64_t kPage = 8192;
constexpr std::uint64_t kPageHeader = 24;  // SizeOfXLogShortPHD

std::uint64_t lsn_of(fly::postgres::Connection& c, const char* fn) {
  return Lsn::parse(c.exec(std::string("SELECT ") + fn + "()").text(0, 0))->value;
}

class WalPosition : public PgRegions {};

TEST_F(WalPosition, AWriteEndingOnAPageBoundaryDoesNotStallTheWait) {
  auto primary = connect("primary");
  // Calibrate on this server: the size of a logical message record beyond
  // its payload, and of the commit record of a one-row insert.
  std::int64_t msg_base = 0;
  std::int64_t commit_size = 0;
  for (int i = 0; i < 5 && (msg_base <= 0 || commit_size <= 0); ++i) {
    primary.exec("BEGIN");
    primary.exec("INSERT INTO todos(region, title) VALUES ('syd', 'calibrate')");
    const auto p0 = lsn_of(primary, "pg_current_wal_insert_lsn");
    primary.exec("SELECT pg_logical_emit_message(false, 'flyrpc', repeat('x', 1000))");
    const auto p1 = lsn_of(primary, "pg_current_wal_insert_lsn");
    const auto p2 = p1;
    primary.exec("COMMIT");
    const auto p3 = lsn_of(primary, "pg_current_wal_insert_lsn");
    if (p0 / kPage == p1 / kPage) msg_base = static_cast<std::int64_t>(p1 - p0) - 1000;
    if (p2 / kPage == p3 / kPage) commit_size = static_cast<std::int64_t>(p3 - p2);
  }
  ASSERT_GT(msg_base, 0);
  ASSERT_GT(commit_size, 0);

  bool demonstrated = false;
  for (int attempt = 0; attempt < 5 && !demonstrated; ++attempt) {
    const auto start = Clock::now();
    const bool landed =
        fly::postgres::write_and_wait<bool>(*lax, *lax_db, "Stall.write", msg_base, commit_size,
                                            fly::postgres::WriteOptions{.replication_timeout = 5s});
    const auto took = Clock::now() - start;
    if (!landed) continue;  // other WAL got in the way; try again
    const auto insert = lsn_of(primary, "pg_current_wal_insert_lsn");
    const auto written = lsn_of(primary, "pg_current_wal_lsn");
    if (insert % kPage != kPageHeader || written != insert - kPageHeader) continue;
    // The primary is idle at a page boundary, and our wait did not stall.
    // (A stall lasts until other WAL is written: seconds. 3 s leaves room for a
    // loaded machine or a sanitizer.)
    EXPECT_LT(took, 3s) << "write_and_wait stalled at a WAL page boundary";
    // Waiting for the insert position instead does stall...
    fly::postgres::LsnTracker insert_waiter(PgCluster::get()->url("replica1"));
    EXPECT_THROW(insert_waiter.wait_for(Lsn{insert}, 700ms), fly::postgres::ReplicationTimeout);
    // ...provided nothing else wrote WAL meanwhile (a background record would
    // carry the replica past the boundary): else the attempt proves nothing.
    if (lsn_of(primary, "pg_current_wal_insert_lsn") != insert) continue;
    EXPECT_GE(insert_waiter.last_replayed().value, written);
    demonstrated = true;
  }
  EXPECT_TRUE(demonstrated) << "could not bring the primary to a page boundary in 5 attempts";
}

}  // namespace
}  // namespace flytest
