// Dialling: the targets (seeds, gossip, DNS, where members listen), one
// attempt at a time per target — resolve, connect within the handshake
// timeout —, and the retry with jittered exponential back-off while a target
// is not connected.
#include <asio/connect.hpp>
#include <asio/post.hpp>

#include <algorithm>
#include <random>

#include "base/log.hpp"
#include "cluster/cluster.hpp"
#include "discovery/host_port.hpp"
#include "telemetry/node_metrics.hpp"

namespace fly::cluster {

namespace {

// A retry waits its back-off delay times a random factor in [0.75, 1.25):
// nodes that lost a peer at the same moment do not all redial at once.
constexpr double kJitterMin = 0.75;
constexpr double kJitterMax = 1.25;
// The back-off doubles per failed attempt up to reconnect_min << this (and
// never past reconnect_max); the cap only keeps the shift defined.
constexpr unsigned kMaxBackoffDoublings = 16;
// A failing target logs its first failure, then every this many.
constexpr unsigned kLogEveryNthDialFailure = 20;

std::chrono::milliseconds jittered(std::chrono::milliseconds base) {
  thread_local std::minstd_rand rng(std::random_device{}());
  std::uniform_real_distribution<double> factor(kJitterMin, kJitterMax);
  return std::chrono::milliseconds(static_cast<std::int64_t>(base.count() * factor(rng)));
}

}  // namespace

void Cluster::add_seed(const std::string& address) {
  std::lock_guard lock(mutex_);
  dial(address, true);
}

// Locked. Creates the target if new and starts an attempt unless one is
// running or scheduled.
void Cluster::dial(const std::string& address, bool permanent) {
  if (leaving_ || address.empty() || address == self_address()) return;
  auto [it, inserted] = targets_.try_emplace(address);
  DialTarget& t = it->second;
  if (inserted) {
    t.address = address;
    t.timer = std::make_unique<asio::steady_timer>(io_);
  }
  t.permanent = t.permanent || permanent;
  if (t.in_progress) return;
  if (!t.name.empty() && members_.count(t.name) != 0) return;  // already connected
  t.in_progress = true;
  asio::post(io_, [this, address] { attempt(address); });
}

void Cluster::attempt(const std::string& address) {
  discovery::HostPort hp;
  try {
    hp = discovery::parse_host_port("peer address", address, 0);
  } catch (const Error& e) {
    fly::log::get().error("flyrpc: not dialling {}: {}", address, e.what());
    std::lock_guard lock(mutex_);
    targets_.erase(address);
    return;
  }
  resolver_.async_resolve(
      hp.host, std::to_string(hp.port),
      [this, address](const asio::error_code& ec, asio::ip::tcp::resolver::results_type r) {
        if (ec) {
          dial_failed(address, "cannot resolve: " + ec.message());
          return;
        }
        connect_resolved(address, std::move(r));
      });
}

void Cluster::connect_resolved(const std::string& address,
                               asio::ip::tcp::resolver::results_type results) {
  auto socket = std::make_shared<asio::ip::tcp::socket>(io_);
  auto deadline = std::make_shared<asio::steady_timer>(io_, settings_.peer.handshake_timeout);
  deadline->async_wait([socket](const asio::error_code& ec) {
    if (!ec) {
      asio::error_code ignored;
      socket->close(ignored);
    }
  });
  asio::async_connect(*socket, results,
                      [this, address, socket, deadline](const asio::error_code& ec,
                                                        const asio::ip::tcp::endpoint&) {
                        deadline->cancel();
                        if (ec) {
                          dial_failed(address, "cannot connect: " + ec.message());
                          return;
                        }
                        std::shared_ptr<net::Peer> peer;
                        {
                          std::lock_guard lock(mutex_);
                          if (leaving_) return;
                          peer = make_peer(std::move(*socket), address);
                          pending_[peer->id()] = peer;
                        }
                        peer->start();
                      });
}

void Cluster::dial_failed(const std::string& address, const std::string& why) {
  std::lock_guard lock(mutex_);
  auto it = targets_.find(address);
  if (it == targets_.end()) return;
  DialTarget& t = it->second;
  t.in_progress = false;
  last_join_error_ = address + ": " + why;
  if (settings_.lazy && !t.permanent) {
    // Lazy connections: a member we cannot reach is forgotten, not retried.
    fly::log::get().info("flyrpc: dialling {} failed ({}); forgetting it", address, why);
    drop_on_demand(address, true);
    return;
  }
  if (t.attempts == 0 || t.attempts % kLogEveryNthDialFailure == 0) {
    fly::log::get().info("flyrpc: dialling {} failed ({}); retrying with back-off", address, why);
  }
  schedule_retry(t);
}

// Locked.
void Cluster::schedule_retry(DialTarget& t) {
  if (leaving_) return;
  if (!t.permanent && !t.name.empty() && members_.count(t.name) != 0) return;
  const unsigned shift = std::min(t.attempts, kMaxBackoffDoublings);
  const std::chrono::milliseconds delay = std::min<std::chrono::milliseconds>(
      settings_.reconnect_max, settings_.reconnect_min * (std::int64_t{1} << shift));
  ++t.attempts;
  t.in_progress = true;
  t.timer->expires_after(jittered(delay));
  t.timer->async_wait([this, address = t.address](const asio::error_code& ec) {
    if (ec) return;
    {
      std::lock_guard lock(mutex_);
      auto it = targets_.find(address);
      if (it == targets_.end() || leaving_) return;
      DialTarget& target = it->second;
      if (!target.name.empty() && members_.count(target.name) != 0) {
        target.in_progress = false;  // connected meanwhile (e.g. it dialled us)
        return;
      }
      if (settings_.peer.metrics) settings_.peer.metrics->reconnected();
      emit_telemetry(telemetry::Event::reconnect, {"", "", "", address, target.attempts});
    }
    attempt(address);
  });
}

}  // namespace fly::cluster
