// One heartbeat timer per node: every authenticated connection's PING and
// timeout check, in one pass.
//
// A Peer ticks on its own timer only while it handshakes; once authenticated
// it joins the node's sweep (PeerSettings::heartbeat) and its own timer stops.
// The sweep wakes once per tick for all of them, on a grid aligned to the
// system clock (heartbeat_tick.hpp), so that the nodes of a cluster tick at
// the same instants: their PINGs leave together and arrive together, and a
// node reads its peers' PINGs in a few reactor wake-ups instead of one per peer.
// A node with no authenticated connection has no timer armed at all.
//
// Threading: add() from any thread (a peer's strand); the tick runs on an I/O
// thread, outside every strand, and only uses what Peer offers to any thread
// (send(), close(), the last-sent/last-received clocks). Cost per tick: one
// timer wake-up, a pass over the list (a weak_ptr lock each), and a PING to
// each peer that sent nothing for about an interval.
//
// Ownership: the Cluster owns it; every Peer that joins must be closed, and
// the I/O threads joined, before it is destroyed (as for PeerEvents).
#pragma once

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <memory>
#include <mutex>
#include <vector>

namespace fly::net {

class Peer;

class HeartbeatSweep {
 public:
  HeartbeatSweep(asio::io_context& io, std::chrono::milliseconds interval,
                 std::chrono::milliseconds timeout);
  ~HeartbeatSweep();
  HeartbeatSweep(const HeartbeatSweep&) = delete;
  HeartbeatSweep& operator=(const HeartbeatSweep&) = delete;

  /// From the next tick on, `peer` is heartbeated here. Any thread.
  void add(const std::shared_ptr<Peer>& peer);
  /// Cancels the timer; later add() calls are ignored. Any thread.
  void stop();

  /// The sweep's period: a quarter of the interval (at least 10 ms), so a
  /// dead peer is noticed at most a quarter interval after the timeout.
  std::chrono::milliseconds tick() const noexcept { return tick_; }
  /// Peers being heartbeated (for tests).
  std::size_t size() const;

 private:
  void arm();  // mutex_ held
  void on_tick();

  const std::chrono::milliseconds tick_;
  mutable std::mutex mutex_;
  asio::steady_timer timer_;                // mutex_
  bool armed_ = false;                      // mutex_
  bool stopped_ = false;                    // mutex_
  std::vector<std::weak_ptr<Peer>> peers_;  // mutex_
  /// The tick's working copy of peers_ (the tick only; one tick at a time).
  std::vector<std::weak_ptr<Peer>> sweeping_;
};

}  // namespace fly::net
