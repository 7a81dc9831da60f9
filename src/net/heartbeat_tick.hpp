// When a connection's heartbeat timer fires next.
//
// Every connection of a process ticks on one grid: the multiples of the tick
// shifted by a phase chosen once per process. asio runs every timer that is
// due in one wake-up of its reactor, so an idle node with n peers wakes once
// per tick for all of them (and sends their PINGs in one batch) instead of n
// times at n unrelated instants. A connection's own timer (handshake, or no
// HeartbeatSweep) uses a phase random per process; the node's heartbeat
// sweep (heartbeat_sweep.hpp) uses the system clock's grid, the same in
// every process, so that a cluster's PINGs leave and arrive together.
#pragma once

#include <chrono>
#include <random>

namespace fly::net {

/// The first instant strictly after `now` of the form phase + k * tick.
/// Contract: tick > 0, 0 <= phase < tick. The result is at most `tick`
/// after `now`, so a check made on every tick still runs at least that often.
inline std::chrono::steady_clock::time_point next_heartbeat_tick(
    std::chrono::steady_clock::time_point now, std::chrono::steady_clock::duration tick,
    std::chrono::steady_clock::duration phase) {
  const auto since = now.time_since_epoch() - phase;
  auto k = since / tick;
  if (since.count() < 0 && since % tick != std::chrono::steady_clock::duration::zero()) --k;
  return std::chrono::steady_clock::time_point(phase + (k + 1) * tick);
}

/// This process's phase for ticks of `tick`: a fraction of the tick drawn once
/// per process, so every connection with the same settings shares the grid.
inline std::chrono::steady_clock::duration heartbeat_phase(
    std::chrono::steady_clock::duration tick) {
  static const double fraction = [] {
    std::random_device rd;
    return std::uniform_real_distribution<double>(0.0, 1.0)(rd);
  }();
  const auto phase = std::chrono::steady_clock::duration(
      static_cast<std::chrono::steady_clock::rep>(fraction * static_cast<double>(tick.count())));
  return phase < tick ? phase : std::chrono::steady_clock::duration::zero();
}

/// The phase, on the steady clock `now` is read from, of the grid whose
/// points are the multiples of `tick` on the system clock: the same instants
/// in every process of a machine, and on machines whose clocks agree (NTP),
/// within their skew. Contract: tick > 0. Result in [0, tick).
inline std::chrono::steady_clock::duration aligned_heartbeat_phase(
    std::chrono::steady_clock::duration tick, std::chrono::steady_clock::time_point now) {
  using Duration = std::chrono::steady_clock::duration;
  const auto wall =
      std::chrono::duration_cast<Duration>(std::chrono::system_clock::now().time_since_epoch());
  // now - wall is where the system clock's epoch falls on the steady clock.
  auto phase = (now.time_since_epoch() - wall) % tick;
  if (phase < Duration::zero()) phase += tick;
  return phase;
}

}  // namespace fly::net
