#include "fly/postgres/errors.hpp"

#include <string>

namespace fly::postgres {

namespace {
// Class 08 is "connection exception", 57P01-57P03 a server shutting down or
// starting; an empty SQLSTATE is a client-side failure (refused, lost, timed
// out). In all of these the server could not do the work.
fly::Errc classify(const std::string& sqlstate) {
  if (sqlstate.empty() || sqlstate.rfind("08", 0) == 0 || sqlstate == "57P01" ||
      sqlstate == "57P02" || sqlstate == "57P03") {
    return fly::Errc::unavailable;
  }
  return fly::Errc::remote_error;
}
std::string with_state(const std::string& sqlstate, const std::string& message) {
  return sqlstate.empty() ? message : message + " (SQLSTATE " + sqlstate + ")";
}
}  // namespace

DatabaseError::DatabaseError(std::string sqlstate, const std::string& message)
    : Error(classify(sqlstate), sqlstate, with_state(sqlstate, message)) {}

WalLookupFailed::WalLookupFailed(std::string sqlstate, const std::string& message, bool committed)
    : Error(fly::Errc::remote_error, sqlstate,
            "could not read the write's WAL position: " + with_state(sqlstate, message) +
                (committed ? " (the write was committed)" : " (nothing was committed)")),
      committed_(committed) {}

ReplicationTimeout::ReplicationTimeout(std::string target_lsn, std::string replayed_lsn,
                                       std::chrono::milliseconds timeout)
    : Error(fly::Errc::timeout, "",
            "the local replica did not replay WAL position " + target_lsn + " within " +
                std::to_string(timeout.count()) + " ms (replayed: " + replayed_lsn +
                "); the write is committed on the primary"),
      target_(std::move(target_lsn)),
      replayed_(std::move(replayed_lsn)),
      timeout_(timeout) {}

}  // namespace fly::postgres
