#include "fly/postgres/pool.hpp"

namespace fly::postgres {

ConnectionPool::ConnectionPool(std::string conninfo, std::size_t size,
                               std::function<void(Connection&)> on_connect)
    : conninfo_(std::move(conninfo)),
      size_(size == 0 ? 1 : size),
      on_connect_(std::move(on_connect)) {}

ConnectionPool::~ConnectionPool() = default;

std::size_t ConnectionPool::open() const {
  std::lock_guard lock(mu_);
  return open_;
}

ConnectionPool::Pooled ConnectionPool::acquire(std::chrono::milliseconds wait) {
  std::unique_lock lock(mu_);
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (true) {
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      return Pooled(this, std::move(c));
    }
    if (open_ < size_) break;
    if (cv_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
        open_ >= size_) {
      throw DatabaseError("", "no database connection free within " + std::to_string(wait.count()) +
                                  " ms (pool of " + std::to_string(size_) + ")");
    }
  }
  ++open_;  // reserve the slot, connect outside the lock
  lock.unlock();
  try {
    auto c = std::make_unique<Connection>(conninfo_);
    if (on_connect_) on_connect_(*c);
    return Pooled(this, std::move(c));
  } catch (...) {
    lock.lock();
    --open_;
    cv_.notify_one();
    throw;
  }
}

void ConnectionPool::release(std::unique_ptr<Connection> c) noexcept {
  bool keep = c && c->ok();
  if (keep && c->in_transaction()) {
    // Returned mid-transaction (an exception skipped the caller's ROLLBACK):
    // end it, or drop the connection.
    try {
      c->exec("ROLLBACK");
    } catch (...) {
      keep = false;
    }
  }
  std::lock_guard lock(mu_);
  if (keep) {
    idle_.push_back(std::move(c));
  } else {
    --open_;
  }
  cv_.notify_one();
}

ConnectionPool::Pooled::~Pooled() {
  if (pool_ && c_) pool_->release(std::move(c_));
}

}  // namespace fly::postgres
