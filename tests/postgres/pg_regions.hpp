// Three in-process fly::Node objects over loopback — syd (primary region,
// with the primary database), lax (replica1) and hkg (replica2) — each with
// its fly::postgres::Database, and the write functions the tests call:
//   Todo.add(region, title) -> id         through expose_write (waits possible)
//   Todo.add_plain(region, title) -> id   a plain function: no WAL position
//   Todo.swallow() -> int                 catches the error that aborted its transaction
//   Todo.duplicate() -> int               fails with a unique violation (23505)
//   Stall.write(msg_base, commit_size) -> bool   see stall_test.cpp
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "fly/node.hpp"
#include "fly/postgres/postgres.hpp"
#include "pg_cluster.hpp"

namespace flytest {

class PgRegions : public ::testing::Test {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite();
  void SetUp() override;

  /// A direct connection to one server ("primary", "replica1", "replica2").
  static fly::postgres::Connection connect(const std::string& server);
  /// Rows of todos with this title on a server.
  static long count_title(const std::string& server, const std::string& title);

  static inline std::unique_ptr<fly::Node> syd, lax, hkg;
  static inline std::unique_ptr<fly::postgres::Database> syd_db, lax_db, hkg_db;
};

}  // namespace flytest
