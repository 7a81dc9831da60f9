// A small pool of connections to one database: connections are opened on
// demand up to `size`, reused, and a caller waits (with a deadline) when all
// are in use. No connection per call.
//
//   auto c = pool.acquire();               // a Pooled: returns itself on destruction
//   c->exec("SELECT 1");
//
// A connection that broke, or that is returned inside a transaction, is
// closed (after a ROLLBACK attempt) rather than reused. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "fly/postgres/connection.hpp"

namespace fly::postgres {

class ConnectionPool {
 public:
  /// `on_connect` runs on every new connection before first use (e.g.
  /// "SET default_transaction_read_only = on"); it may throw DatabaseError.
  ConnectionPool(std::string conninfo, std::size_t size,
                 std::function<void(Connection&)> on_connect = {});
  ~ConnectionPool();
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  class Pooled {
   public:
    Pooled(ConnectionPool* pool, std::unique_ptr<Connection> c) noexcept
        : pool_(pool), c_(std::move(c)) {}
    Pooled(Pooled&&) noexcept = default;
    Pooled& operator=(Pooled&&) noexcept = delete;
    ~Pooled();
    Connection& operator*() noexcept { return *c_; }
    Connection* operator->() noexcept { return c_.get(); }

   private:
    ConnectionPool* pool_;
    std::unique_ptr<Connection> c_;
  };

  /// An idle connection, a new one if fewer than size() are open, else waits
  /// until one is returned. Throws DatabaseError (connection_failed()) if none
  /// is free within `wait` or a new connection cannot be opened.
  Pooled acquire(std::chrono::milliseconds wait = std::chrono::seconds(5));

  std::size_t size() const noexcept { return size_; }
  /// Connections open right now (idle + in use).
  std::size_t open() const;
  const std::string& conninfo() const noexcept { return conninfo_; }

 private:
  void release(std::unique_ptr<Connection> c) noexcept;

  const std::string conninfo_;
  const std::size_t size_;
  const std::function<void(Connection&)> on_connect_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Connection>> idle_;
  std::size_t open_ = 0;
};

}  // namespace fly::postgres
