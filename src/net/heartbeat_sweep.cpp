// The node's heartbeat sweep (heartbeat_sweep.hpp).
#include "net/heartbeat_sweep.hpp"

#include <algorithm>

#include "net/heartbeat_tick.hpp"
#include "net/peer.hpp"

namespace fly::net {

namespace {
constexpr int kTicksPerInterval = 4;
constexpr std::chrono::milliseconds kMinTick{10};
}  // namespace

HeartbeatSweep::HeartbeatSweep(asio::io_context& io, std::chrono::milliseconds interval,
                               std::chrono::milliseconds timeout)
    : tick_(std::max(kMinTick, std::min(interval, timeout) / kTicksPerInterval)), timer_(io) {}

HeartbeatSweep::~HeartbeatSweep() {
  stop();
}

void HeartbeatSweep::add(const std::shared_ptr<Peer>& peer) {
  std::lock_guard lock(mutex_);
  if (stopped_) return;
  peers_.push_back(peer);
  if (!armed_) arm();
}

void HeartbeatSweep::stop() {
  std::lock_guard lock(mutex_);
  stopped_ = true;
  armed_ = false;
  timer_.cancel();
  peers_.clear();
}

std::size_t HeartbeatSweep::size() const {
  std::lock_guard lock(mutex_);
  return peers_.size();
}

void HeartbeatSweep::arm() {
  armed_ = true;
  const auto now = std::chrono::steady_clock::now();
  timer_.expires_at(net::next_heartbeat_tick(now, tick_, net::aligned_heartbeat_phase(tick_, now)));
  timer_.async_wait([this](const asio::error_code& ec) {
    if (!ec) on_tick();
  });
}

void HeartbeatSweep::on_tick() {
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    sweeping_.swap(peers_);  // peers_ now gathers the peers added meanwhile
  }
  const auto now = std::chrono::steady_clock::now();
  std::size_t kept = 0;
  for (auto& weak : sweeping_) {
    const std::shared_ptr<Peer> peer = weak.lock();
    if (!peer || !peer->heartbeat(now, tick_)) continue;  // gone or closed: dropped
    if (&sweeping_[kept] != &weak) sweeping_[kept] = std::move(weak);
    ++kept;
  }
  sweeping_.resize(kept);
  std::lock_guard lock(mutex_);
  if (stopped_) return;
  peers_.insert(peers_.end(), std::make_move_iterator(sweeping_.begin()),
                std::make_move_iterator(sweeping_.end()));
  sweeping_.clear();
  if (peers_.empty()) {
    armed_ = false;  // nothing to heartbeat: no wake-ups until the next add()
  } else {
    arm();
  }
}

}  // namespace fly::net
