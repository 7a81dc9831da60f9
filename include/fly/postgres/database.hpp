// One application database as seen from this node: its URL (rewritten for
// this node on Fly), a pool for reads from the local database, a pool for
// writes (used on the primary), and the process's LSN tracker for it.
//
//   fly::Node node(fly::NodeOptions::from_env());
//   fly::postgres::Database db(fly::postgres::DatabaseOptions::from_env(node.is_primary()));
//   auto rows = db.reader().acquire()->exec("SELECT id, title FROM todos");
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "fly/postgres/lsn.hpp"
#include "fly/postgres/lsn_tracker.hpp"
#include "fly/postgres/pool.hpp"
#include "fly/postgres/url.hpp"

namespace fly::postgres {

struct DatabaseOptions {
  /// The database URL as the platform gives it (DATABASE_URL).
  std::string url;
  /// Rewrite `url` for this node (fly/postgres/url.hpp). Default false.
  bool production = false;
  /// This node is in the primary region: writes run here and never wait.
  bool primary = true;
  /// Development: make every reader() session read-only
  /// (SET default_transaction_read_only = on), so that a single local
  /// database behaves like a replica and a write that bypasses the primary
  /// path fails at once instead of working only on a developer's machine.
  bool read_only_reader = false;
  /// Connections per pool (reader and writer each). Default 4.
  std::size_t pool_size = 4;
  /// How long write_and_wait waits for the local replica by default. 5 s.
  std::chrono::milliseconds replication_timeout{5000};
  TrackerOptions tracker;

  /// From the environment, for a node that is (`primary`) or is not in the
  /// primary region:
  ///   DATABASE_URL          required;
  ///   FLY_POSTGRES_ENV      "production" or "development"; unset: production
  ///                         when FLY_APP_NAME is set (on Fly.io), else development;
  ///   FLY_POSTGRES_READ_ONLY_LOCAL  1/true/yes: read_only_reader (development);
  ///   FLY_POSTGRES_REPLICATION_TIMEOUT_MS, FLY_POSTGRES_POOL_SIZE;
  ///   FLY_RPC_VERBOSE=1     verbose wait logs.
  /// Throws fly::ConfigError naming the variable for a missing or bad value.
  static DatabaseOptions from_env(bool primary);
};

class Database {
 public:
  /// Rewrites the URL (may throw fly::ConfigError); opens no connection yet.
  explicit Database(DatabaseOptions options);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  /// The URL this node uses (rewritten in production).
  const std::string& url() const noexcept { return url_; }
  const DatabaseOptions& options() const noexcept { return options_; }
  bool primary() const noexcept { return options_.primary; }

  /// Reads: the local database (the replica outside the primary region).
  ConnectionPool& reader() noexcept { return *reader_; }
  /// Writes: the same database without the read-only session setting. Only
  /// meaningful on a primary-region node (elsewhere it reaches a replica).
  ConnectionPool& writer() noexcept { return *writer_; }
  /// The process's tracker of this node's database.
  LsnTracker& tracker() noexcept { return *tracker_; }

  /// Waits for the local database to replay `target` (see LsnTracker). On a
  /// primary-region node returns at once. `timeout` 0: the configured one.
  void wait_for(Lsn target, std::chrono::milliseconds timeout = std::chrono::milliseconds(0));

  /// The tracker's metrics (Prometheus text), labelled database="<name>".
  std::string metrics_text(const std::string& name = "default") const;

 private:
  DatabaseOptions options_;
  std::string url_;
  std::unique_ptr<ConnectionPool> reader_;
  std::unique_ptr<ConnectionPool> writer_;
  std::shared_ptr<LsnTracker> tracker_;
};

}  // namespace fly::postgres
