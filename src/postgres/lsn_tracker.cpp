#include "fly/postgres/lsn_tracker.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <thread>

namespace fly::postgres {

namespace {
using Clock = std::chrono::steady_clock;

// Upper bounds of the wait-duration buckets, in nanoseconds (the last is +Inf).
constexpr std::uint64_t kBucketNs[7] = {500'000,    1'000'000,  2'000'000,    5'000'000,
                                        10'000'000, 50'000'000, 1'000'000'000};
constexpr const char* kBucketLe[8] = {"0.0005", "0.001", "0.002", "0.005",
                                      "0.01",   "0.05",  "1",     "+Inf"};
}  // namespace

LsnTracker::LsnTracker(std::string conninfo, TrackerOptions options)
    : conninfo_(std::move(conninfo)), options_(options) {}

LsnTracker::~LsnTracker() = default;

std::shared_ptr<LsnTracker> LsnTracker::shared(const std::string& conninfo,
                                               TrackerOptions options) {
  static std::mutex mu;
  static std::map<std::string, std::weak_ptr<LsnTracker>> trackers;
  std::lock_guard lock(mu);
  auto& slot = trackers[conninfo];
  if (auto t = slot.lock()) return t;
  auto t = std::make_shared<LsnTracker>(conninfo, options);
  slot = t;
  return t;
}

void LsnTracker::poll() {
  if (!conn_) conn_ = std::make_unique<Connection>(conninfo_);
  auto r = conn_->exec("SELECT pg_last_wal_replay_lsn()");
  {
    std::lock_guard lock(stats_mu_);
    ++stats_.polls;
  }
  if (r.rows() != 1 || r.is_null(0, 0)) {
    not_replica_.store(true, std::memory_order_release);
    return;
  }
  const auto lsn = Lsn::parse(r.text(0, 0));
  if (!lsn) {
    throw DatabaseError("", "pg_last_wal_replay_lsn() returned \"" + std::string(r.text(0, 0)) +
                                "\", not a WAL position");
  }
  // Replay only moves forward, but a reconnect may land on another replica:
  // keep the largest seen, which is what every waiter compares against.
  std::uint64_t seen = replayed_.load(std::memory_order_relaxed);
  while (lsn->value > seen &&
         !replayed_.compare_exchange_weak(seen, lsn->value, std::memory_order_release)) {
  }
}

void LsnTracker::wait_for(Lsn target, std::chrono::milliseconds timeout) {
  auto reached = [&] {
    return not_replica_.load(std::memory_order_acquire) ||
           replayed_.load(std::memory_order_acquire) >= target.value;
  };
  if (reached()) {
    std::lock_guard lock(stats_mu_);
    ++stats_.waits;
    ++(not_replica_.load() ? stats_.not_replica : stats_.fast_path);
    return;
  }
  const auto start = Clock::now();
  const auto deadline = start + timeout;
  std::size_t my_polls = 0;
  auto finish = [&](const char* outcome) {
    const auto waited = Clock::now() - start;
    record(waited, true);
    if (options_.verbose) {
      spdlog::info("postgres: WAIT {} target={} replayed={} polls={} waited={}us", outcome,
                   target.to_string(), last_replayed().to_string(), my_polls,
                   std::chrono::duration_cast<std::chrono::microseconds>(waited).count());
    }
  };

  std::unique_lock lock(mu_);

  while (true) {
    if (reached()) {
      lock.unlock();
      finish("ok");
      return;
    }
    if (Clock::now() >= deadline) {
      lock.unlock();
      {
        std::lock_guard s(stats_mu_);
        ++stats_.timeouts;
      }
      finish("timeout");
      throw ReplicationTimeout(target.to_string(), last_replayed().to_string(), timeout);
    }
    if (polling_) {  // another waiter polls for everyone
      cv_.wait_until(lock, deadline);
      continue;
    }
    // Become the leader: poll until this waiter's target is reached or its
    // deadline passes, publishing every advance, then hand over.
    polling_ = true;
    lock.unlock();
    auto interval = options_.poll_interval;
    bool done = false;
    try {
      while (true) {
        const std::uint64_t before = replayed_.load(std::memory_order_relaxed);
        poll();
        ++my_polls;
        done = reached();
        if (replayed_.load(std::memory_order_relaxed) != before || done) {
          std::lock_guard l(mu_);
          cv_.notify_all();
        }
        const auto now = Clock::now();
        if (done || now >= deadline) break;
        // Poll pacing (not synchronisation): bounded by the deadline.
        if (now - start >= options_.backoff_after) {
          interval = std::min(interval * 2, options_.max_poll_interval);
        }
        std::this_thread::sleep_for(std::min<Clock::duration>(interval, deadline - now));
      }
    } catch (...) {
      // The replay position cannot be read (DatabaseError, or worse): hand
      // the polling over, reconnect on the next poll, and tell this waiter.
      lock.lock();
      conn_.reset();
      polling_ = false;
      cv_.notify_all();
      lock.unlock();
      {
        std::lock_guard s(stats_mu_);
        ++stats_.errors;
      }
      finish("error");
      throw;
    }
    lock.lock();
    polling_ = false;
    cv_.notify_all();
  }
}

void LsnTracker::record(std::chrono::nanoseconds waited, bool queried) {
  std::lock_guard lock(stats_mu_);
  ++stats_.waits;
  if (!queried) return;
  const auto ns = static_cast<std::uint64_t>(waited.count());
  stats_.wait_ns_total += ns;
  stats_.wait_ns_max = std::max(stats_.wait_ns_max, ns);
  std::size_t b = 0;
  while (b < 7 && ns > kBucketNs[b]) ++b;
  ++stats_.wait_buckets[b];
}

TrackerStats LsnTracker::stats() const {
  std::lock_guard lock(stats_mu_);
  return stats_;
}

std::string LsnTracker::metrics_text(const std::string& database) const {
  const TrackerStats s = stats();
  const std::string l = "database=\"" + database + "\"";
  std::string out;
  auto line = [&](const std::string& name, const std::string& labels, std::uint64_t v) {
    out += name + "{" + labels + "} " + std::to_string(v) + "\n";
  };
  out += "# HELP flyrpc_pg_replication_waits_total Waits for the local replica, by outcome.\n";
  out += "# TYPE flyrpc_pg_replication_waits_total counter\n";
  const std::uint64_t queried_ok = s.waits - s.fast_path - s.not_replica - s.timeouts - s.errors;
  line("flyrpc_pg_replication_waits_total", l + ",outcome=\"fast_path\"", s.fast_path);
  line("flyrpc_pg_replication_waits_total", l + ",outcome=\"not_replica\"", s.not_replica);
  line("flyrpc_pg_replication_waits_total", l + ",outcome=\"replayed\"", queried_ok);
  line("flyrpc_pg_replication_waits_total", l + ",outcome=\"timeout\"", s.timeouts);
  line("flyrpc_pg_replication_waits_total", l + ",outcome=\"error\"", s.errors);
  out += "# HELP flyrpc_pg_replay_polls_total pg_last_wal_replay_lsn() queries sent.\n";
  out += "# TYPE flyrpc_pg_replay_polls_total counter\n";
  line("flyrpc_pg_replay_polls_total", l, s.polls);
  out +=
      "# HELP flyrpc_pg_replication_wait_seconds Duration of the waits that queried the replica.\n";
  out += "# TYPE flyrpc_pg_replication_wait_seconds histogram\n";
  std::uint64_t cumulative = 0;
  std::uint64_t count = 0;
  for (auto b : s.wait_buckets) count += b;
  for (std::size_t i = 0; i < 8; ++i) {
    cumulative += s.wait_buckets[i];
    line("flyrpc_pg_replication_wait_seconds_bucket", l + ",le=\"" + kBucketLe[i] + "\"",
         cumulative);
  }
  out += "flyrpc_pg_replication_wait_seconds_sum{" + l + "} " +
         std::to_string(static_cast<double>(s.wait_ns_total) / 1e9) + "\n";
  line("flyrpc_pg_replication_wait_seconds_count", l, count);
  return out;
}

}  // namespace fly::postgres
