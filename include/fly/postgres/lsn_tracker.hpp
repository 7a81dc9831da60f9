// Waits until the local replica has replayed a WAL position.
//
// One tracker per database per process (LsnTracker::shared), shared by every
// thread that waits on that database:
//   - fast path: the last replay position seen is already past the target ->
//     return at once, one atomic load, no query;
//   - otherwise one waiting thread at a time (the leader) polls
//     `SELECT pg_last_wal_replay_lsn()` on the tracker's own connection, every
//     `poll_interval` (growing to `max_poll_interval` after `backoff_after` of
//     waiting, so a replica that stalls is not hammered), and publishes each
//     position it reads to every waiter; when its own target is reached it
//     hands the polling to another waiter. Nobody waiting: no thread, no query.
//   - a NULL replay position means the database is not a replica (a primary,
//     or development): no wait, now or later, until the connection is reopened.
// A hot standby cannot LISTEN/NOTIFY, so polling only while someone waits is
// the cheapest way to learn of replay promptly.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "fly/postgres/connection.hpp"
#include "fly/postgres/lsn.hpp"

namespace fly::postgres {

struct TrackerOptions {
  /// Between two polls while someone waits. Default 200 us: on loopback a
  /// poll costs ~60 us of the replica's CPU and replay takes ~0.3-3 ms.
  std::chrono::microseconds poll_interval{200};
  /// The interval after `backoff_after` of waiting (doubling up to this).
  std::chrono::microseconds max_poll_interval{5000};
  std::chrono::milliseconds backoff_after{50};
  /// Log every wait (target, replayed, polls, duration) at info level.
  bool verbose = false;
};

/// Counters of one tracker (monotonic since its creation).
struct TrackerStats {
  std::uint64_t waits = 0;             ///< wait_for calls that had to compare positions
  std::uint64_t fast_path = 0;         ///< ... answered from the cached position, no query
  std::uint64_t not_replica = 0;       ///< ... answered "no wait": the database is not a replica
  std::uint64_t timeouts = 0;          ///< ... that ended in ReplicationTimeout
  std::uint64_t errors = 0;            ///< ... that ended in DatabaseError
  std::uint64_t polls = 0;             ///< replay-position queries sent
  std::uint64_t wait_ns_total = 0;     ///< summed duration of the waits that queried
  std::uint64_t wait_ns_max = 0;       ///< the longest of them
  std::uint64_t wait_buckets[8] = {};  ///< durations <= 0.5, 1, 2, 5, 10, 50, 1000 ms, +Inf
};

class LsnTracker {
 public:
  /// A tracker on `conninfo` (the local database); opens its connection on
  /// the first wait that needs it.
  LsnTracker(std::string conninfo, TrackerOptions options = {});
  ~LsnTracker();
  LsnTracker(const LsnTracker&) = delete;
  LsnTracker& operator=(const LsnTracker&) = delete;

  /// The process's tracker for `conninfo`, created on first use; later calls
  /// with the same conninfo return the same tracker (their options are
  /// ignored). Trackers live until the last shared_ptr goes.
  static std::shared_ptr<LsnTracker> shared(const std::string& conninfo,
                                            TrackerOptions options = {});

  /// Returns once the database has replayed `target` (or is not a replica).
  /// Throws ReplicationTimeout after `timeout`, DatabaseError if the replay
  /// position cannot be read.
  void wait_for(Lsn target, std::chrono::milliseconds timeout);

  /// The last replay position read (0/0 before any).
  Lsn last_replayed() const noexcept { return Lsn{replayed_.load(std::memory_order_acquire)}; }
  /// The database answered NULL: it is not a replica.
  bool known_not_replica() const noexcept { return not_replica_.load(std::memory_order_acquire); }
  TrackerStats stats() const;
  /// The stats in the Prometheus text format (flyrpc_pg_* series), labelled
  /// with `database` (a name of the caller's choosing, never the conninfo).
  std::string metrics_text(const std::string& database) const;

 private:
  // One poll on conn_ (leader only): updates replayed_/not_replica_.
  void poll();
  void record(std::chrono::nanoseconds waited, bool queried);

  const std::string conninfo_;
  const TrackerOptions options_;
  std::atomic<std::uint64_t> replayed_{0};
  std::atomic<bool> not_replica_{false};

  std::mutex mu_;  // guards polling_ and the handover of conn_; stats_ is under stats_mu_
  std::condition_variable cv_;
  bool polling_ = false;  // a leader is polling (it alone uses conn_)
  std::unique_ptr<Connection> conn_;

  mutable std::mutex stats_mu_;
  TrackerStats stats_;
};

}  // namespace fly::postgres
