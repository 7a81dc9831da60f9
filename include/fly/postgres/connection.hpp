// One libpq connection and the results of its statements.
//
//   fly::postgres::Connection c("postgres://postgres@127.0.0.1:5432/postgres");
//   auto r = c.exec("SELECT id, title FROM todos WHERE id = $1", 42);
//   for (int row = 0; row < r.rows(); ++row) std::string_view t = r.text(row, 1);
//
// Parameters travel separately from the SQL text (PQexecParams, text format),
// so they need no quoting. A failed statement throws fly::postgres::DatabaseError
// with the server's SQLSTATE. A Connection is used by one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "fly/postgres/errors.hpp"

struct pg_conn;    // libpq's PGconn
struct pg_result;  // libpq's PGresult

namespace fly::postgres {

/// The rows a statement returned (or its command tag). Movable, owns the PGresult.
class Result {
 public:
  explicit Result(pg_result* r) noexcept : r_(r) {}
  Result(Result&&) noexcept;
  Result& operator=(Result&&) noexcept;
  ~Result();

  int rows() const noexcept;
  int columns() const noexcept;
  bool is_null(int row, int column) const noexcept;
  /// The value in text form ("" for NULL). Valid while this Result lives.
  std::string_view text(int row, int column) const noexcept;
  /// The value, or nullopt for NULL.
  std::optional<std::string> get(int row, int column) const;
  /// The value as an integer; throws DatabaseError if it is NULL or not one.
  std::int64_t integer(int row, int column) const;
  /// "INSERT 0 1", "COMMIT", "ROLLBACK", ...
  std::string_view command_tag() const noexcept;

 private:
  pg_result* r_;
};

/// A statement parameter in text form; nullopt is SQL NULL.
using Param = std::optional<std::string>;

namespace detail {
inline Param to_param(std::nullptr_t) {
  return std::nullopt;
}
inline Param to_param(std::string_view s) {
  return std::string(s);
}
inline Param to_param(const std::string& s) {
  return s;
}
inline Param to_param(const char* s) {
  return s ? Param(s) : std::nullopt;
}
inline Param to_param(bool b) {
  return std::string(b ? "true" : "false");
}
template <class T>
requires std::is_arithmetic_v<T> Param to_param(T v) {
  return std::to_string(v);
}
template <class T>
Param to_param(const std::optional<T>& v) {
  return v ? to_param(*v) : std::nullopt;
}
}  // namespace detail

class Connection {
 public:
  /// Connects to `conninfo` (a postgres:// URL or "key=value ..."). A connect
  /// timeout of 5 s applies unless `conninfo` sets connect_timeout. Throws
  /// DatabaseError (connection_failed()) when the server cannot be reached.
  explicit Connection(const std::string& conninfo);
  Connection(Connection&&) noexcept;
  Connection& operator=(Connection&&) noexcept;
  ~Connection();

  /// Runs `sql` (several statements allowed when there are no parameters).
  /// Throws DatabaseError on failure.
  Result exec(std::string_view sql);
  /// Runs `sql` with $1, $2, ... bound to `params`.
  Result exec_params(std::string_view sql, const std::vector<Param>& params);
  /// exec_params with each argument converted: strings, numbers, bool,
  /// nullptr / std::nullopt for NULL.
  template <class A, class... As>
  Result exec(std::string_view sql, const A& a, const As&... as) {
    return exec_params(sql, {detail::to_param(a), detail::to_param(as)...});
  }

  /// The connection is open and usable (not broken).
  bool ok() const noexcept;
  /// Inside a transaction block (BEGIN issued, not yet ended).
  bool in_transaction() const noexcept;
  /// Inside a transaction that an error aborted: every statement but
  /// ROLLBACK now fails with SQLSTATE 25P02.
  bool in_failed_transaction() const noexcept;
  /// libpq's handle, for what this class does not wrap.
  pg_conn* native() noexcept { return c_; }

 private:
  pg_conn* c_ = nullptr;
};

}  // namespace fly::postgres
