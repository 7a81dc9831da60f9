// Write-then-visible latency from a replica region, on a real PostgreSQL 15
// primary and hot standby (scripts/pg-cluster.sh, loopback, fsync off) with
// two in-process nodes: syd (primary region) and lax (its replica).
//
// For each write from lax, the time from the call's start until the row can
// be read on lax's replica, four ways, in the same run:
//   floor       rpc_primary, then re-read the replica with no pause until the
//               row is there: the real replication lag, as well as it can be seen
//   write_and_wait   fly::postgres::write_and_wait (this component), then one read
//   poll_50ms   fly_postgres' way: after the write, check the replay position
//               and, while it is behind, sleep 50 ms and check again
//   no_wait     rpc_primary and read at once: latency, and how often the row is missing
//
//   build/bin/flyrpc_postgres_bench [writes]      (root; default 1000, poll_50ms: writes/5)
// Prints a Markdown table (bench/results/postgres.md holds a run).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "fly/node.hpp"
#include "fly/postgres/postgres.hpp"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using fly::postgres::Connection;
using fly::postgres::Lsn;

const std::string kScript = std::string(FLYRPC_SOURCE_DIR) + "/scripts/pg-cluster.sh";

struct Row {
  std::string name;
  std::vector<double> us;
  int stale = 0;
};

double pct(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[std::min(v.size() - 1, static_cast<std::size_t>(p * v.size()))];
}

fly::NodeOptions options(const std::string& name, const std::string& region,
                         std::vector<std::string> seeds) {
  fly::NodeOptions o;
  o.name = name;
  o.region = region;
  o.primary_region = "syd";
  o.port = 0;
  o.cookie = "bench";
  o.seeds = std::move(seeds);
  return o;
}

struct AddResult {
  std::int64_t id = 0;
  std::string lsn;
  MSGPACK_DEFINE(id, lsn);
};

}  // namespace

int main(int argc, char** argv) {
  const int writes = argc > 1 ? std::atoi(argv[1]) : 1000;
  if (writes <= 0) {
    std::fprintf(stderr, "usage: %s [writes > 0]\n", argv[0]);
    return 2;
  }
  if (::geteuid() != 0) {
    std::fprintf(stderr, "needs root (scripts/pg-cluster.sh runs initdb as postgres)\n");
    return 2;
  }
  char tmpl[] = "/tmp/flyrpc-pgbench-XXXXXX";
  if (!::mkdtemp(tmpl)) return 1;
  const std::string dir = tmpl;
  if (std::system((kScript + " start " + dir + " >/dev/null").c_str()) != 0) return 1;
  struct Stop {
    std::string dir;
    ~Stop() { (void)std::system((kScript + " stop " + dir).c_str()); }
  } stop{dir};
  std::map<std::string, int> ports;
  {
    std::ifstream in(dir + "/ports");
    std::string n;
    int p = 0;
    while (in >> n >> p) ports[n] = p;
  }
  auto url = [&](const char* s) {
    return "postgres://postgres@127.0.0.1:" + std::to_string(ports[s]) + "/postgres";
  };

  fly::postgres::DatabaseOptions po;
  po.url = url("primary");
  fly::postgres::Database syd_db(po);
  fly::postgres::DatabaseOptions ro;
  ro.url = url("replica1");
  ro.primary = false;
  fly::postgres::Database lax_db(ro);
  syd_db.writer().acquire()->exec(
      "CREATE TABLE todos (id bigserial PRIMARY KEY, region text NOT NULL, title text NOT NULL)");

  // Written on every node (as in an app), run on syd.
  fly::Node syd(options("syd-1", "syd", {}));
  auto expose = [&](fly::Node& n) {
    fly::postgres::expose_write(n, syd_db, "Todo.add",
                                [](Connection& c, std::string region, std::string title) {
                                  return c
                                      .exec(
                                          "INSERT INTO todos(region, title) VALUES ($1, $2) "
                                          "RETURNING id",
                                          region, title)
                                      .integer(0, 0);
                                });
    // A plain write that also returns pg_current_wal_lsn() read after its
    // (autocommit) statement: what the poll_50ms client waits for.
    n.expose("Todo.add_lsn", [&syd_db](std::string region, std::string title) {
      auto c = syd_db.writer().acquire();
      AddResult r;
      r.id = c->exec("INSERT INTO todos(region, title) VALUES ($1, $2) RETURNING id", region, title)
                 .integer(0, 0);
      r.lsn = std::string(c->exec("SELECT pg_current_wal_lsn()").text(0, 0));
      return r;
    });
  };
  expose(syd);
  syd.start();
  fly::Node lax(options("lax-1", "lax", {"127.0.0.1:" + std::to_string(syd.listen_port())}));
  lax.start();
  if (!lax.wait_for_region("syd", 10s)) {
    std::fprintf(stderr, "lax did not see syd\n");
    return 1;
  }
  Connection replica(url("replica1"));
  auto visible = [&](std::int64_t id) {
    return replica.exec("SELECT 1 FROM todos WHERE id = $1", id).rows() == 1;
  };
  auto us_since = [](Clock::time_point t0) {
    return std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
  };

  std::vector<Row> rows;
  // Warm-up: connections, pools, the tracker's connection.
  for (int i = 0; i < 50; ++i) {
    fly::postgres::write_and_wait<std::int64_t>(lax, lax_db, "Todo.add", "lax", "warm");
    lax.rpc_primary<AddResult>("Todo.add_lsn", "lax", "warm");
  }

  Row floor{"floor (re-read until visible, no pause)", {}, 0};
  for (int i = 0; i < writes; ++i) {
    const auto t0 = Clock::now();
    const auto r = lax.rpc_primary<AddResult>("Todo.add_lsn", "lax", "floor");
    while (!visible(r.id)) {
    }
    floor.us.push_back(us_since(t0));
  }
  rows.push_back(floor);

  Row ours{"write_and_wait (this component)", {}, 0};
  for (int i = 0; i < writes; ++i) {
    const auto t0 = Clock::now();
    const auto id =
        fly::postgres::write_and_wait<std::int64_t>(lax, lax_db, "Todo.add", "lax", "ours");
    if (!visible(id)) ++ours.stale;
    ours.us.push_back(us_since(t0));
  }
  rows.push_back(ours);

  Row poll{"poll every 50 ms (fly_postgres style)", {}, 0};
  for (int i = 0; i < std::max(1, writes / 5); ++i) {
    const auto t0 = Clock::now();
    const auto r = lax.rpc_primary<AddResult>("Todo.add_lsn", "lax", "poll");
    const auto target = *Lsn::parse(r.lsn);
    while (Lsn::parse(replica.exec("SELECT pg_last_wal_replay_lsn()").text(0, 0))->value <
           target.value) {
      std::this_thread::sleep_for(50ms);  // the policy being measured
    }
    if (!visible(r.id)) ++poll.stale;
    poll.us.push_back(us_since(t0));
  }
  rows.push_back(poll);

  Row none{"no wait (plain rpc_primary, read at once)", {}, 0};
  for (int i = 0; i < writes; ++i) {
    const auto t0 = Clock::now();
    const auto r = lax.rpc_primary<AddResult>("Todo.add_lsn", "lax", "none");
    if (!visible(r.id)) ++none.stale;
    none.us.push_back(us_since(t0));
  }
  rows.push_back(none);

  std::printf(
      "| write from lax, then read on lax's replica | writes | p50 ms | p99 ms | mean ms | stale "
      "reads |\n");
  std::printf("|---|---:|---:|---:|---:|---:|\n");
  for (const auto& r : rows) {
    double sum = 0;
    for (double u : r.us) sum += u;
    std::printf("| %s | %zu | %.3f | %.3f | %.3f | %d (%.1f%%) |\n", r.name.c_str(), r.us.size(),
                pct(r.us, 0.5) / 1000, pct(r.us, 0.99) / 1000,
                sum / std::max<std::size_t>(1, r.us.size()) / 1000, r.stale,
                100.0 * r.stale / std::max<std::size_t>(1, r.us.size()));
  }
  const auto s = lax_db.tracker().stats();
  std::printf(
      "\nwrite_and_wait's tracker: %llu waits, %llu replay-position polls (%.2f per wait)\n",
      static_cast<unsigned long long>(s.waits), static_cast<unsigned long long>(s.polls),
      static_cast<double>(s.polls) / std::max<std::uint64_t>(1, s.waits));
  lax.stop();
  syd.stop();
  return 0;
}
