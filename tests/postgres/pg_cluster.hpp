// A real PostgreSQL 15 primary and two streaming hot standbys for the tests
// of this folder, started once per test process by scripts/pg-cluster.sh and
// stopped (data removed, no server left running) when the process's tests end.
// Needs root (initdb runs as postgres through runuser) and postgresql-15;
// without them every test skips with the reason.
#pragma once

#include <string>

namespace flytest {

class PgCluster {
 public:
  /// Why the cluster cannot run here ("" when it can).
  static std::string unavailable_reason();
  /// The process's cluster; started by the test environment. nullptr when
  /// unavailable or when it failed to start (start_error() says why).
  static PgCluster* get();
  static const std::string& start_error();

  /// "postgres://postgres@127.0.0.1:PORT/postgres" of "primary", "replica1", "replica2".
  std::string url(const std::string& server) const;
  int port(const std::string& server) const;
  /// pg_ctl stop -m fast / start on one server (as postgres); throws on failure.
  void stop_server(const std::string& server);
  void start_server(const std::string& server);
  const std::string& dir() const { return dir_; }

  // The environment's.
  static void start_shared();
  static void stop_shared();

 private:
  std::string dir_;
  int ports_[3] = {0, 0, 0};
};

}  // namespace flytest
