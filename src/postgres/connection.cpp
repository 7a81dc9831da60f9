#include "fly/postgres/connection.hpp"

#include <libpq-fe.h>

#include <charconv>
#include <utility>

namespace fly::postgres {

namespace {

std::string trim(const char* s) {
  std::string m = s ? s : "";
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  return m;
}

[[noreturn]] void throw_result_error(PGconn* c, PGresult* r) {
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  std::string msg = trim(r ? PQresultErrorMessage(r) : nullptr);
  if (msg.empty()) msg = trim(PQerrorMessage(c));
  if (msg.empty()) msg = "the statement failed";
  std::string sqlstate = state ? state : "";
  if (r) PQclear(r);
  // A broken connection reports no SQLSTATE: say so in class 08 terms.
  if (sqlstate.empty() && PQstatus(c) != CONNECTION_OK) msg = "connection lost: " + msg;
  throw DatabaseError(std::move(sqlstate), msg);
}

Result check(PGconn* c, PGresult* r) {
  if (!r) throw_result_error(c, nullptr);
  switch (PQresultStatus(r)) {
    case PGRES_COMMAND_OK:
    case PGRES_TUPLES_OK:
    case PGRES_EMPTY_QUERY:
      return Result(r);
    default:
      throw_result_error(c, r);
  }
}

}  // namespace

// ---- Result ------------------------------------------------------------------

Result::Result(Result&& o) noexcept : r_(std::exchange(o.r_, nullptr)) {}
Result& Result::operator=(Result&& o) noexcept {
  if (this != &o) {
    if (r_) PQclear(r_);
    r_ = std::exchange(o.r_, nullptr);
  }
  return *this;
}
Result::~Result() {
  if (r_) PQclear(r_);
}
int Result::rows() const noexcept {
  return r_ ? PQntuples(r_) : 0;
}
int Result::columns() const noexcept {
  return r_ ? PQnfields(r_) : 0;
}
bool Result::is_null(int row, int column) const noexcept {
  return !r_ || row >= rows() || column >= columns() || PQgetisnull(r_, row, column);
}
std::string_view Result::text(int row, int column) const noexcept {
  if (is_null(row, column)) return {};
  return {PQgetvalue(r_, row, column), static_cast<std::size_t>(PQgetlength(r_, row, column))};
}
std::optional<std::string> Result::get(int row, int column) const {
  if (is_null(row, column)) return std::nullopt;
  return std::string(text(row, column));
}
std::int64_t Result::integer(int row, int column) const {
  if (is_null(row, column)) {
    throw DatabaseError("", "expected an integer at row " + std::to_string(row) + ", column " +
                                std::to_string(column) + ", got NULL or nothing");
  }
  const auto t = text(row, column);
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc() || p != t.data() + t.size()) {
    throw DatabaseError("", "expected an integer, got \"" + std::string(t) + "\"");
  }
  return v;
}
std::string_view Result::command_tag() const noexcept {
  return r_ ? PQcmdStatus(r_) : "";
}

// ---- Connection -------------------------------------------------------------

Connection::Connection(const std::string& conninfo) {
  // connect_timeout first: values expanded from `conninfo` override it.
  const char* keys[] = {"connect_timeout", "application_name", "dbname", nullptr};
  const char* values[] = {"5", "flyrpc", conninfo.c_str(), nullptr};
  c_ = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (!c_ || PQstatus(c_) != CONNECTION_OK) {
    std::string msg = c_ ? trim(PQerrorMessage(c_)) : "out of memory";
    if (c_) PQfinish(c_);
    c_ = nullptr;
    throw DatabaseError("", "cannot connect to the database: " + msg);
  }
}
Connection::Connection(Connection&& o) noexcept : c_(std::exchange(o.c_, nullptr)) {}
Connection& Connection::operator=(Connection&& o) noexcept {
  if (this != &o) {
    if (c_) PQfinish(c_);
    c_ = std::exchange(o.c_, nullptr);
  }
  return *this;
}
Connection::~Connection() {
  if (c_) PQfinish(c_);
}

Result Connection::exec(std::string_view sql) {
  const std::string q(sql);
  return check(c_, PQexec(c_, q.c_str()));
}

Result Connection::exec_params(std::string_view sql, const std::vector<Param>& params) {
  const std::string q(sql);
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  return check(c_, PQexecParams(c_, q.c_str(), static_cast<int>(params.size()), nullptr,
                                values.data(), nullptr, nullptr, 0));
}

bool Connection::ok() const noexcept {
  return c_ && PQstatus(c_) == CONNECTION_OK;
}
bool Connection::in_transaction() const noexcept {
  if (!c_) return false;
  const auto s = PQtransactionStatus(c_);
  return s == PQTRANS_INTRANS || s == PQTRANS_INERROR;
}
bool Connection::in_failed_transaction() const noexcept {
  return c_ && PQtransactionStatus(c_) == PQTRANS_INERROR;
}

}  // namespace fly::postgres
