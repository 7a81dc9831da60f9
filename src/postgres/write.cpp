#include "fly/postgres/write.hpp"

#include <spdlog/spdlog.h>

#include "fly/this_call.hpp"

namespace fly::postgres::detail {

namespace {

void fail(WriteOutcome& out, WriteStatus status, const DatabaseError& e, bool committed) {
  out.status = static_cast<std::uint8_t>(status);
  out.sqlstate = e.sqlstate();
  out.message = e.what();
  out.committed = committed;
}

// How long a write may wait for a free connection: the caller's remaining
// time, at most 5 s.
std::chrono::milliseconds pool_wait() {
  return std::min<std::chrono::milliseconds>(fly::this_call::remaining(), std::chrono::seconds(5));
}

}  // namespace

void run_write(Database& db, const fly::detail::FunctionRef<void(Connection&)>& body,
               WriteOutcome& out) {
  std::optional<ConnectionPool::Pooled> pooled;
  try {
    pooled.emplace(db.writer().acquire(pool_wait()));
  } catch (const DatabaseError& e) {
    return fail(out, WriteStatus::database_error, e, false);
  }
  Connection& c = **pooled;
  try {
    c.exec("BEGIN");
    body(c);
  } catch (const DatabaseError& e) {
    fail(out, WriteStatus::database_error, e, false);
    return;  // the pool rolls the transaction back (or drops a broken connection)
  }
  // Everything else the function throws propagates (RemoteError for the
  // caller); the pool rolls back.
  if (c.in_failed_transaction()) {
    // The function caught an error that aborted its transaction and returned
    // normally: COMMIT would only roll back. There is no position to wait for.
    try {
      c.exec("ROLLBACK");
    } catch (const DatabaseError&) {  // broken: the pool drops it
    }
    out.status = static_cast<std::uint8_t>(WriteStatus::wal_lookup_failed);
    out.sqlstate = "25P02";
    out.message =
        "current transaction is aborted: the write function caught a database error and "
        "returned normally";
    out.committed = false;
    return;
  }
  try {
    auto r = c.exec("COMMIT");
    if (r.command_tag() != "COMMIT") {  // e.g. "ROLLBACK": the transaction had failed
      throw DatabaseError("40000", "COMMIT answered " + std::string(r.command_tag()));
    }
  } catch (const DatabaseError& e) {
    return fail(out, WriteStatus::database_error, e, false);
  }
  // After COMMIT, in a statement of its own: the end of the WAL written so
  // far, which includes the commit record.
  try {
    auto r = c.exec("SELECT pg_current_wal_lsn()");
    if (r.rows() != 1 || r.is_null(0, 0) || !Lsn::parse(r.text(0, 0))) {
      throw DatabaseError("", "pg_current_wal_lsn() returned no WAL position");
    }
    out.lsn = std::string(r.text(0, 0));
    out.status = static_cast<std::uint8_t>(WriteStatus::ok);
    out.committed = true;
  } catch (const DatabaseError& e) {
    // 55000 (object not in prerequisite state) when this server is a standby
    // in recovery, 08xxx when the connection broke: the write committed.
    fail(out, WriteStatus::wal_lookup_failed, e, true);
  }
}

void throw_if_failed(const WriteOutcome& o, std::string_view function) {
  switch (static_cast<WriteStatus>(o.status)) {
    case WriteStatus::ok:
      return;
    case WriteStatus::database_error:
      throw DatabaseError(o.sqlstate, std::string(function) + " on the primary: " + o.message);
    case WriteStatus::wal_lookup_failed:
      throw WalLookupFailed(o.sqlstate, std::string(function) + ": " + o.message, o.committed);
  }
  throw DatabaseError("",
                      std::string(function) + ": unknown write status " + std::to_string(o.status));
}

void wait_after_write(const fly::Node& node, Database& db, const WriteOutcome& o,
                      const WriteOptions& options, std::string_view function) {
  if (node.is_primary() || db.primary()) return;
  const auto lsn = Lsn::parse(o.lsn);
  if (!lsn) {
    throw WalLookupFailed(
        "", std::string(function) + ": the primary sent \"" + o.lsn + "\", not a WAL position",
        true);
  }
  db.wait_for(*lsn, options.replication_timeout);
}

}  // namespace fly::postgres::detail
