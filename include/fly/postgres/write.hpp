// Writes that run on the primary and are visible here when they return:
// flyrpc's counterpart of fly_postgres' rpc_and_wait.
//
// On every node (the primary region's nodes are the ones that run it):
//
//   fly::postgres::expose_write(node, db, "Todo.add",
//       [](fly::postgres::Connection& c, std::string title) {
//         return c.exec("INSERT INTO todos(title) VALUES ($1) RETURNING id", title).integer(0, 0);
//       });
//
// Anywhere:
//
//   long id = fly::postgres::write_and_wait<long>(node, db, "Todo.add", "buy milk");
//   // the row is now visible in db.reader(), this node's local replica
//
// What runs on the primary: BEGIN; the function; COMMIT; then, in a
// statement of its own, SELECT pg_current_wal_lsn() — the end of the WAL
// the primary has written, which includes the commit record. (Read in the
// write's own transaction, the position would predate the commit;
// pg_current_wal_insert_lsn() can point past a page boundary that an idle
// replica reaches only when more WAL is written, stalling the wait for
// seconds.) The result and that position go back to the caller, which waits
// until its local database has replayed it (LsnTracker); a primary-region
// caller does not wait.
//
// Errors reach the caller typed: a DatabaseError raised by the function's
// statements or by COMMIT (with its SQLSTATE); WalLookupFailed when no
// position can be read (25P02: the function caught an error that aborted its
// transaction, so nothing was committed); ReplicationTimeout; and the
// fly::Error of the call itself (NoNodeInRegion, Timeout, NodeDown, ...).
// Any other exception of the function arrives as fly::RemoteError.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "fly/call_options.hpp"
#include "fly/detail/callable_traits.hpp"
#include "fly/detail/msgpack_buffer.hpp"
#include "fly/node.hpp"
#include "fly/postgres/connection.hpp"
#include "fly/postgres/database.hpp"
#include "fly/postgres/errors.hpp"
#include "fly/postgres/lsn.hpp"

namespace fly::postgres {

/// Per-write options (a trailing argument of write_and_wait).
struct WriteOptions {
  /// The call to the primary: 0 = the node's call_timeout (or the inherited deadline).
  std::chrono::milliseconds timeout{0};
  /// The wait for the local replica: 0 = the Database's (default 5 s).
  std::chrono::milliseconds replication_timeout{0};
  /// Which primary-region node runs the write.
  fly::Prefer prefer = fly::Prefer::random;
};

namespace detail {

/// How a write ended on the primary; travels with the result.
enum class WriteStatus : std::uint8_t { ok = 0, database_error = 1, wal_lookup_failed = 2 };

struct WriteOutcome {
  std::uint8_t status = 0;
  std::string sqlstate;
  std::string message;
  std::string lsn;  ///< pg_current_wal_lsn() after COMMIT (status ok)
  bool committed = false;
  MSGPACK_DEFINE(status, sqlstate, message, lsn, committed);
};

template <class R>
struct Written {
  WriteOutcome outcome;
  std::optional<R> value;
  MSGPACK_DEFINE(outcome, value);
};
template <>
struct Written<void> {
  WriteOutcome outcome;
  MSGPACK_DEFINE(outcome);
};

/// The primary side, not a template: BEGIN, run `body` (the user's function
/// with its arguments bound), COMMIT, read the position. Fills `out`;
/// rethrows what `body` throws other than DatabaseError.
void run_write(Database& db, const fly::detail::FunctionRef<void(Connection&)>& body,
               WriteOutcome& out);

/// Throws the typed error `outcome` describes (nothing for ok).
void throw_if_failed(const WriteOutcome& outcome, std::string_view function);

/// The caller side after the call returned: wait unless on the primary.
void wait_after_write(const fly::Node& node, Database& db, const WriteOutcome& outcome,
                      const WriteOptions& options, std::string_view function);

template <class R, class F, class... A>
auto make_write_function(Database& db, F fn, std::tuple<Connection&, A...>*) {
  return [&db, fn = std::move(fn)](std::remove_cvref_t<A>... args) -> Written<R> {
    Written<R> w;
    run_write(
        db,
        [&](Connection& c) {
          if constexpr (std::is_void_v<R>) {
            fn(c, args...);
          } else {
            w.value.emplace(fn(c, args...));
          }
        },
        w.outcome);
    return w;
  };
}

template <class... T>
struct last_is_write_options : std::false_type {};
template <class T>
struct last_is_write_options<T> : std::is_same<std::remove_cvref_t<T>, WriteOptions> {};
template <class T, class U, class... Rest>
struct last_is_write_options<T, U, Rest...> : last_is_write_options<U, Rest...> {};

}  // namespace detail

/// Exposes `fn` — callable as R(Connection&, Args...) — under `function` on
/// `node`, wrapped in a transaction on db.writer() as described above.
/// Expose it on every node (a node outside the primary region never runs it,
/// but exporting it everywhere keeps the nodes interchangeable).
template <class F>
void expose_write(fly::Node& node, Database& db, std::string function, F fn) {
  using traits = fly::detail::callable_traits<std::decay_t<F>>;
  using R = typename traits::result_type;
  node.expose(std::move(function),
              detail::make_write_function<R>(db, std::move(fn),
                                             static_cast<typename traits::arg_types*>(nullptr)));
}

/// Runs the write `function` on a primary-region node, then waits until this
/// node's database has replayed it. A trailing WriteOptions may follow the
/// arguments. Returns the function's result.
template <class R, class... Args>
R write_and_wait(fly::Node& node, Database& db, std::string_view function, Args&&... args) {
  if constexpr (detail::last_is_write_options<Args...>::value) {
    auto all = std::forward_as_tuple(std::forward<Args>(args)...);
    const WriteOptions options = std::get<sizeof...(Args) - 1>(all);
    return [&]<std::size_t... I>(std::index_sequence<I...>)->R {
      auto w = node.rpc_primary<detail::Written<R>>(
          function, std::get<I>(all)..., fly::CallOptions{options.timeout, options.prefer});
      detail::throw_if_failed(w.outcome, function);
      detail::wait_after_write(node, db, w.outcome, options, function);
      if constexpr (!std::is_void_v<R>) return std::move(*w.value);
    }
    (std::make_index_sequence<sizeof...(Args) - 1>{});
  } else {
    return write_and_wait<R>(node, db, function, std::forward<Args>(args)..., WriteOptions{});
  }
}

}  // namespace fly::postgres
