// How the postgres component fails, as typed exceptions in the style of
// fly/errors.hpp. Every one is a fly::postgres::Error, itself a fly::Error, so
// `catch (const fly::Error&)` still sees everything a write can throw.
//
//   try { auto id = fly::postgres::write_and_wait<long>(node, db, "Todo.add", title); }
//   catch (const fly::postgres::ReplicationTimeout& e) { /* committed, not yet visible here */ }
//   catch (const fly::postgres::WalLookupFailed& e)    { /* no WAL position: e.sqlstate() */ }
//   catch (const fly::postgres::DatabaseError& e)      { /* the statement or the server failed */ }
#pragma once

#include <chrono>
#include <string>

#include "fly/errors.hpp"

namespace fly::postgres {

/// Base of the component's errors. fly::Error::code() says the broad class
/// (timeout, remote_error, unavailable); sqlstate() the server's detail.
class Error : public fly::Error {
 public:
  Error(fly::Errc code, std::string sqlstate, const std::string& message)
      : fly::Error(code, message), sqlstate_(std::move(sqlstate)) {}
  /// The SQLSTATE the server reported ("23505", "25P02", ...), or "" when the
  /// failure came from the client side (connection refused, lost, timeout).
  const std::string& sqlstate() const noexcept { return sqlstate_; }

 private:
  std::string sqlstate_;
};

/// A statement, a transaction or a connection failed. code() is
/// fly::Errc::unavailable when the server could not be reached or is going
/// away (sqlstate() empty, class 08, 57P01-57P03), fly::Errc::remote_error
/// otherwise.
class DatabaseError : public Error {
 public:
  DatabaseError(std::string sqlstate, const std::string& message);
  /// True when the server was not reachable or the connection broke.
  bool connection_failed() const noexcept { return code() == fly::Errc::unavailable; }
};

/// The write committed on the primary, but its WAL position could not be read,
/// so there is nothing to wait for. sqlstate() says why: "25P02" when the
/// write function swallowed an error that aborted its transaction (nothing
/// was committed then: committed() is false).
class WalLookupFailed : public Error {
 public:
  WalLookupFailed(std::string sqlstate, const std::string& message, bool committed);
  /// Whether the write's transaction committed on the primary.
  bool committed() const noexcept { return committed_; }

 private:
  bool committed_;
};

/// The local replica did not replay the write's WAL position within the
/// replication timeout. The write IS committed on the primary; it is only not
/// yet visible here.
class ReplicationTimeout : public Error {
 public:
  ReplicationTimeout(std::string target_lsn, std::string replayed_lsn,
                     std::chrono::milliseconds timeout);
  /// The position waited for and the last one the replica reported ("16/B374D848").
  const std::string& target_lsn() const noexcept { return target_; }
  const std::string& replayed_lsn() const noexcept { return replayed_; }
  std::chrono::milliseconds timeout() const noexcept { return timeout_; }

 private:
  std::string target_;
  std::string replayed_;
  std::chrono::milliseconds timeout_;
};

}  // namespace fly::postgres
