// Peer's timer: the handshake timeout before authentication; after it, the
// heartbeat (a PING when nothing else left for a while, a close when nothing
// arrived for heartbeat_timeout) — done by the node's HeartbeatSweep when
// there is one, else by this timer.
#include <algorithm>
#include <string>

#include "base/log.hpp"
#include "net/heartbeat_sweep.hpp"
#include "net/heartbeat_tick.hpp"
#include "net/peer.hpp"

namespace fly::net {

namespace {
// How often a connection's timer looks at it: twice per heartbeat interval
// (or per handshake timeout, if shorter), so that a timeout is seen at most
// half an interval late.
constexpr int kTicksPerInterval = 2;
/// The shortest tick, however short the interval or handshake timeout.
constexpr std::chrono::milliseconds kMinTick{10};

std::chrono::milliseconds tick_of(const net::PeerSettings& s) {
  return std::max(kMinTick,
                  std::min(s.heartbeat_interval, s.handshake_timeout) / kTicksPerInterval);
}
}  // namespace

void Peer::arm_timer() {
  const auto tick = tick_of(settings_);
  // On the process's shared grid: one reactor wake-up per tick for all peers.
  timer_.expires_at(net::next_heartbeat_tick(Clock::now(), tick, net::heartbeat_phase(tick)));
  timer_.async_wait([self = shared_from_this()](const asio::error_code& ec) {
    if (!ec) self->on_tick();
  });
}

void Peer::on_tick() {
  if (closed_) return;
  const auto now = Clock::now();
  if (!authenticated()) {
    if (now - started_at_ >= settings_.handshake_timeout) {
      refused_by_us_ = wire::RefuseReason::handshake_timeout;
      detail::Buffer refuse;
      wire::encode_refuse(refuse, {wire::RefuseReason::handshake_timeout,
                                   "no authentication within the handshake timeout"});
      send_raw(refuse);
      const std::string reason = "handshake with " + remote_address_ + " timed out" +
                                 (tls_ && !tls_established_ ? " (TLS handshake not finished)" : "");
      fly::log::get().warn("flyrpc: {}", reason);
      do_close({reason, false, std::nullopt, refused_by_us_}, Errc::node_down);
      return;
    }
  } else if (settings_.heartbeat != nullptr) {
    // Authenticated: the node's sweep heartbeats it from now on, and this
    // timer is done (one timer per node, not per connection).
    settings_.heartbeat->add(shared_from_this());
    return;
  } else if (!heartbeat(now, tick_of(settings_))) {
    return;
  }
  arm_timer();
}

bool Peer::heartbeat(Clock::time_point now, Clock::duration tick) {
  {
    std::lock_guard lock(out_mutex_);
    if (out_closed_) return false;
  }
  const Clock::time_point received{Clock::duration(last_recv_.load(std::memory_order_relaxed))};
  if (now - received >= settings_.heartbeat_timeout) {
    close("heartbeat timeout (nothing received for " +
          std::to_string(settings_.heartbeat_timeout.count()) + " ms)");
    return false;
  }
  const Clock::time_point sent{Clock::duration(last_send_.load(std::memory_order_relaxed))};
  // Ticks come several times per interval; a PING is due at the first tick
  // that is at least interval - tick/2 after the last frame sent, so on an
  // idle connection it leaves every interval, on the grid, not a tick early
  // nor a tick late because the last write finished just after a tick.
  if (now - sent >= settings_.heartbeat_interval - tick / 2) {
    // Counts as sent at once, so that a slow write does not queue a
    // second PING; the write itself refreshes it.
    last_send_.store(now.time_since_epoch().count(), std::memory_order_relaxed);
    send([](detail::Buffer& out) { wire::encode_ping(out); });
  }
  return true;
}

}  // namespace fly::net
