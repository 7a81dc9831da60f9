// Lazy connections (ClusterSettings::lazy, docs/SCALING.md): membership by
// gossip, connections only where calls go.
//
// A lazy node dials its seeds and keeps them (they are the hubs every node
// dials: each gossips every newcomer to all of its members). Members
// gossiped to it are remembered in known_, not dialled. A call to a region
// (or a node) with no connected member that can serve it dials the known
// members there (connect_on_demand) and waits for the first to come up. A
// connection dialled that way is closed — GOODBYE "idle", so that the other
// end neither redials nor forgets this node — once it has carried no call,
// in either direction, for idle_close. Dials on demand are not retried: a
// failed one forgets the member (it is gone; gossip brings it back if not).
//
// Threading: as the rest of the Cluster (mutex_); connect_on_demand blocks
// its caller on changed_; the idle check runs on an I/O thread.
#include <asio/post.hpp>

#include <algorithm>

#include "base/log.hpp"
#include "cluster/cluster.hpp"
#include "wire/frames.hpp"

namespace fly::cluster {

namespace {
// The idle check's period is idle_close / kIdleChecksPerTimeout (at least
// kMinIdleCheck): a connection is closed between idle_close and 1.25 ×
// idle_close after its last call.
constexpr int kIdleChecksPerTimeout = 4;
constexpr std::chrono::milliseconds kMinIdleCheck{10};
}  // namespace

bool Cluster::connect_on_demand(std::string_view region, std::string_view node,
                                const std::function<bool(const ClusterView&)>& ready,
                                std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  if (!settings_.lazy || leaving_ || replaced_) return false;
  struct Dialled {
    std::string name, address;
  };
  std::vector<Dialled> dialled;
  for (const auto& [name, known] : known_) {
    if (!node.empty() ? name != node : (!region.empty() && known->region != region)) continue;
    if (members_.count(name) != 0) continue;
    dialled.push_back({name, known->address});
  }
  if (dialled.empty()) return false;
  for (const auto& d : dialled) {
    dial(d.address, false);  // its attempt runs later, on an I/O thread, under mutex_
    auto t = targets_.find(d.address);
    if (t == targets_.end()) continue;  // not dialled (this node's own address)
    t->second.on_demand = !t->second.permanent;
    t->second.name = d.name;
  }
  // Done when the caller can go on, or when every dial ended: its member is
  // up, or its target is gone (drop_on_demand: failed or closed).
  changed_.wait_until(lock, deadline, [&] {
    if (ready(*view_.load()) || leaving_) return true;
    return std::all_of(dialled.begin(), dialled.end(), [&](const Dialled& d) {
      return members_.count(d.name) != 0 || targets_.count(d.address) == 0;
    });
  });
  return ready(*view_.load());
}

// Locked.
void Cluster::remember(const std::string& name, const std::string& region,
                       const std::string& address) {
  // Not this node, nor another name at this node's address (a stale entry
  // of a process that had it before: dialling it would reach ourselves).
  if (name.empty() || address.empty() || name == settings_.name || address == self_address()) {
    return;
  }
  auto it = known_.find(name);
  if (it != known_.end() && it->second->region == region && it->second->address == address) {
    return;
  }
  auto m = std::make_shared<Member>();
  m->name = name;
  m->region = region;
  m->address = address;
  if (it == known_.end()) {
    if (known_.size() >= kMaxKnown) {
      std::size_t suppressed = 0;
      if (known_full_log_.allow(suppressed)) {
        fly::log::get().warn("flyrpc: not remembering {} at {}: {} members known already", name,
                             address, kMaxKnown);
      }
      return;
    }
    known_.emplace(name, std::move(m));
    return;
  }
  it->second = std::move(m);
}

// Locked.
void Cluster::drop_on_demand(const std::string& address, bool forget) {
  auto t = targets_.find(address);
  if (t != targets_.end() && !t->second.permanent) {
    t->second.timer->cancel();
    targets_.erase(t);
  }
  if (forget) {
    const bool was_known = std::erase_if(known_, [&](const auto& entry) {
                             return entry.second->address == address;
                           }) != 0;
    if (was_known) publish();  // a region may be gone from the table
  }
  changed_.notify_all();  // connect_on_demand waits for this dial's end
}

// Locked.
void Cluster::arm_idle_check() {
  if (idle_armed_ || leaving_) return;
  idle_armed_ = true;
  idle_timer_.expires_after(std::max(kMinIdleCheck, settings_.idle_close / kIdleChecksPerTimeout));
  idle_timer_.async_wait([this](const asio::error_code& ec) {
    if (!ec) idle_check();
  });
}

void Cluster::idle_check() {
  std::lock_guard lock(mutex_);
  idle_armed_ = false;
  if (leaving_) return;
  const auto now = std::chrono::steady_clock::now();
  std::size_t watching = 0;
  std::vector<std::shared_ptr<net::Peer>> idle;
  for (const auto& [name, e] : members_) {
    Link* link = link_of(*e.peer);
    if (link == nullptr || !link->on_demand) continue;
    ++watching;
    const std::uint64_t activity = e.peer->call_activity();
    if (activity != link->seen_activity || e.peer->calls().size() != 0 || calls_.serving(*e.peer)) {
      link->seen_activity = activity;
      link->quiet_since = now;
    } else if (now - link->quiet_since >= settings_.idle_close) {
      idle.push_back(e.peer);
    }
  }
  for (const auto& peer : idle) {
    const std::string name = peer->peer_hello().name;
    if (Link* link = link_of(*peer)) link->said_goodbye = true;
    peer->send([](detail::Buffer& out) { wire::encode_goodbye(out, wire::kIdleGoodbye); });
    member_down(name, "no call for " + std::to_string(settings_.idle_close.count()) +
                          " ms: lazy connection closed");
    peer->close_after_flush("idle (lazy connection)");
  }
  if (watching > idle.size()) arm_idle_check();
}

}  // namespace fly::cluster
