// Read-your-writes across regions on a real primary and two real replicas.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "pg_regions.hpp"

namespace flytest {
namespace {

using namespace std::chrono_literals;
using fly::postgres::Database;
using fly::postgres::write_and_wait;

constexpr int kWrites = 1000;

struct LoopResult {
  int writes = 0;
  int stale = 0;
  std::chrono::nanoseconds elapsed{0};
};

// `kWrites` writes from `node`, each followed at once by a read of the same
// row from the node's own replica.
template <class Write>
LoopResult write_then_read(Database& db, const std::string& region, Write write) {
  LoopResult r;
  auto reader = db.reader().acquire();
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kWrites; ++i) {
    const std::int64_t id = write(region, region + "-" + std::to_string(i));
    if (reader->exec("SELECT 1 FROM todos WHERE id = $1", id).rows() != 1) ++r.stale;
    ++r.writes;
  }
  r.elapsed = std::chrono::steady_clock::now() - start;
  return r;
}

class ReadYourWrites : public PgRegions {};

TEST_F(ReadYourWrites, WritesFromLaxAndHkgAreVisibleOnTheirReplicasAtOnce) {
  const auto before = lax_db->tracker().stats();
  LoopResult from_lax, from_hkg;
  std::thread other([&] {
    from_hkg =
        write_then_read(*hkg_db, "hkg", [&](const std::string& reg, const std::string& title) {
          return write_and_wait<std::int64_t>(*hkg, *hkg_db, "Todo.add", reg, title);
        });
  });
  from_lax = write_then_read(*lax_db, "lax", [&](const std::string& reg, const std::string& title) {
    return write_and_wait<std::int64_t>(*lax, *lax_db, "Todo.add", reg, title);
  });
  other.join();
  EXPECT_EQ(from_lax.writes, kWrites);
  EXPECT_EQ(from_hkg.writes, kWrites);
  EXPECT_EQ(from_lax.stale, 0);
  EXPECT_EQ(from_hkg.stale, 0);
  std::printf("write_and_wait: lax %d writes in %.0f ms, hkg %d in %.0f ms, stale reads 0/0\n",
              from_lax.writes, from_lax.elapsed.count() / 1e6, from_hkg.writes,
              from_hkg.elapsed.count() / 1e6);

  // The waits queried the replicas (few answered from the cached position:
  // each write's position is new).
  auto s = lax_db->tracker().stats();
  s.waits -= before.waits;
  s.polls -= before.polls;
  s.fast_path -= before.fast_path;
  s.wait_ns_total -= before.wait_ns_total;
  EXPECT_EQ(s.waits, static_cast<std::uint64_t>(kWrites));
  EXPECT_GT(s.polls, 0u);
  EXPECT_EQ(s.timeouts + s.errors, before.timeouts + before.errors);
  std::printf("lax tracker: %llu waits, %llu polls, %llu fast path, mean wait %.0f us\n",
              static_cast<unsigned long long>(s.waits), static_cast<unsigned long long>(s.polls),
              static_cast<unsigned long long>(s.fast_path),
              s.wait_ns_total / 1e3 / std::max<double>(1, s.waits - s.fast_path));
  EXPECT_NE(lax_db->metrics_text("app").find(
                "flyrpc_pg_replication_waits_total{database=\"app\",outcome=\"replayed\"}"),
            std::string::npos);

  // No connection per call: the primary served 2,000 writes with the pool's few.
  auto primary = connect("primary");
  const auto ours = primary
                        .exec(
                            "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                            "'flyrpc' AND backend_type = 'client backend'")
                        .integer(0, 0);
  EXPECT_LE(ours, static_cast<std::int64_t>(syd_db->options().pool_size) + 1);
}

// The control: the same loop through a plain rpc_primary, with no wait, does
// read stale rows, so the test above could fail.
TEST_F(ReadYourWrites, PlainRpcPrimaryReadsStaleRows) {
  LoopResult from_lax, from_hkg;
  std::thread other([&] {
    from_hkg =
        write_then_read(*hkg_db, "hkg", [&](const std::string& reg, const std::string& title) {
          return hkg->rpc_primary<std::int64_t>("Todo.add_plain", reg, title);
        });
  });
  from_lax = write_then_read(*lax_db, "lax", [&](const std::string& reg, const std::string& title) {
    return lax->rpc_primary<std::int64_t>("Todo.add_plain", reg, title);
  });
  other.join();
  std::printf("rpc_primary without a wait: stale reads lax %d/%d, hkg %d/%d\n", from_lax.stale,
              from_lax.writes, from_hkg.stale, from_hkg.writes);
  EXPECT_GT(from_lax.stale + from_hkg.stale, 0);
}

// Many threads of one node wait on one tracker at once: one of them polls for
// all (leader/follower), and every read still finds its row.
TEST_F(ReadYourWrites, ConcurrentWritersOfOneNodeShareTheTracker) {
  constexpr int kThreads = 4;
  constexpr int kEach = 150;
  const auto before = lax_db->tracker().stats();
  std::atomic<int> stale{0}, failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      fly::postgres::Connection reader(PgCluster::get()->url("replica1"));
      for (int i = 0; i < kEach; ++i) {
        try {
          const auto id = write_and_wait<std::int64_t>(
              *lax, *lax_db, "Todo.add", "lax", "t" + std::to_string(t) + "-" + std::to_string(i));
          if (reader.exec("SELECT 1 FROM todos WHERE id = $1", id).rows() != 1) ++stale;
        } catch (const std::exception& e) {
          ++failed;
          std::printf("write failed: %s\n", e.what());
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(stale.load(), 0);
  EXPECT_EQ(failed.load(), 0);
  const auto after = lax_db->tracker().stats();
  EXPECT_EQ(after.waits - before.waits, static_cast<std::uint64_t>(kThreads * kEach));
  std::printf("%d threads x %d writes: %llu polls, %llu fast path\n", kThreads, kEach,
              static_cast<unsigned long long>(after.polls - before.polls),
              static_cast<unsigned long long>(after.fast_path - before.fast_path));
}

TEST_F(ReadYourWrites, APrimaryRegionNodeNeverWaits) {
  const auto before = syd_db->tracker().stats();
  const auto id = write_and_wait<std::int64_t>(*syd, *syd_db, "Todo.add", "syd", "from syd");
  EXPECT_EQ(syd_db->reader().acquire()->exec("SELECT 1 FROM todos WHERE id = $1", id).rows(), 1);
  const auto after = syd_db->tracker().stats();
  EXPECT_EQ(after.waits, before.waits);
  EXPECT_EQ(after.polls, before.polls);
}

// A database whose pg_last_wal_replay_lsn() is NULL is not a replica: a node
// outside the primary region configured against the primary itself does not wait.
TEST_F(ReadYourWrites, ANullReplayPositionMeansNoWait) {
  fly::postgres::DatabaseOptions o;
  o.url = PgCluster::get()->url("primary") + "?application_name=not-a-replica";
  o.primary = false;
  Database db(o);
  const auto id = write_and_wait<std::int64_t>(*lax, db, "Todo.add", "lax", "no wait");
  EXPECT_GT(id, 0);
  EXPECT_TRUE(db.tracker().known_not_replica());
  write_and_wait<std::int64_t>(*lax, db, "Todo.add", "lax", "no wait 2");
  const auto s = db.tracker().stats();
  EXPECT_EQ(s.polls, 1u);  // asked once, then known
  EXPECT_EQ(s.not_replica, 1u);
}

TEST_F(ReadYourWrites, DevelopmentReaderIsReadOnly) {
  fly::postgres::DatabaseOptions o;
  o.url = PgCluster::get()->url("primary");
  o.read_only_reader = true;
  Database db(o);
  auto c = db.reader().acquire();
  EXPECT_EQ(c->exec("SELECT count(*) >= 0 FROM todos").text(0, 0), "t");
  try {
    c->exec("INSERT INTO todos(region, title) VALUES ('dev', 'must fail')");
    ADD_FAILURE() << "a read-only session accepted an INSERT";
  } catch (const fly::postgres::DatabaseError& e) {
    EXPECT_EQ(e.sqlstate(), "25006") << e.what();  // read_only_sql_transaction
  }
  // The writer of the same database is not read-only.
  EXPECT_EQ(db.writer()
                .acquire()
                ->exec("INSERT INTO todos(region, title) VALUES ('dev', 'ok')")
                .command_tag(),
            "INSERT 0 1");
}

// With synchronous_commit = off, COMMIT returns before its record is written,
// so the position read after it could precede the write: writer sessions
// commit with `local` instead. Reader sessions keep what they were given.
TEST_F(ReadYourWrites, WriterSessionsNeverCommitAsynchronously) {
  fly::postgres::DatabaseOptions o;
  o.url = PgCluster::get()->url("primary") + "?options=-c%20synchronous_commit%3Doff";
  Database db(o);
  EXPECT_EQ(db.writer().acquire()->exec("SHOW synchronous_commit").text(0, 0), "local");
  EXPECT_EQ(db.reader().acquire()->exec("SHOW synchronous_commit").text(0, 0), "off");
}

TEST_F(ReadYourWrites, OneTrackerPerDatabasePerProcess) {
  fly::postgres::DatabaseOptions o;
  o.url = PgCluster::get()->url("replica1");
  o.primary = false;
  Database again(o);
  EXPECT_EQ(&again.tracker(), &lax_db->tracker());
  EXPECT_NE(&hkg_db->tracker(), &lax_db->tracker());
}

}  // namespace
}  // namespace flytest
