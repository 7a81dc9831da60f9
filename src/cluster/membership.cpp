// Membership: a connection becoming a member (maybe_up) and ceasing to be
// one (member_down), the region table published from members_, and the
// events that tell subscribers and telemetry about it (on events_strand_,
// in order, never under mutex_).
#include <asio/post.hpp>

#include <algorithm>

#include "base/log.hpp"
#include "cluster/cluster.hpp"
#include "telemetry/node_metrics.hpp"
#include "wire/handshake.hpp"

namespace fly::cluster {

// Locked. A connection becomes the member's when it is activated and its
// functions are known.
void Cluster::maybe_up(const std::shared_ptr<net::Peer>& peer) {
  const Link* link = link_of(*peer);
  if (link == nullptr || link->refused || !link->activated || !link->announced ||
      !peer->authenticated()) {
    return;
  }
  const wire::Hello& h = peer->peer_hello();
  auto it = members_.find(h.name);
  if (it != members_.end()) {
    if (it->second.peer == peer) return;
    switch (settle_name(peer, it->second.member->incarnation)) {
      case NameClash::peer_older:
        // Both authenticated while neither was a member; the newer came up first.
        return;
      case NameClash::peer_newer:
        break;  // displaced: `it` is gone
      case NameClash::same_incarnation:
        // The decider switched to this connection; the old one is closing.
        it->second.peer->close("replaced by a newer connection", Errc::node_down);
        break;
    }
  }
  // Up: redial it promptly if it drops again.
  for (const std::string* address : {&peer->dialed_address(), &h.listen_address}) {
    auto t = address->empty() ? targets_.end() : targets_.find(*address);
    if (t != targets_.end()) t->second.attempts = 0;
  }
  auto m = std::make_shared<Member>();
  m->name = h.name;
  m->region = h.region;
  m->address = h.listen_address;
  m->hidden = h.hidden;
  m->incarnation = h.incarnation;
  m->peer = peer;
  m->functions = link->functions;
  members_[h.name] = Entry{m, peer};
  pending_.erase(peer->id());
  if (link->on_demand) arm_idle_check();
  publish();
  fly::log::get().info("flyrpc: node up: {} ({}{}) at {}", m->name, m->region,
                       m->hidden ? ", hidden" : "", peer->remote_address());
  emit({MembershipEvent::Kind::up, info_of(*m), ""});
  emit_telemetry(telemetry::Event::node_up, {m->name, m->region, "", peer->remote_address()});
  // Full mesh: the newcomer learns every member up now — including those
  // that came up after its handshake's PEERS (a hidden node, which nobody can
  // dial, would otherwise never meet them) —, and every other member learns
  // the newcomer, unless we heard of it by gossip ourselves: then whoever
  // told us told them too (heard_of_). A member the teller did not have
  // meets the newcomer through the newcomer's own dial, which our PEERS
  // just now gives it. Addresses already known are ignored by the receiver.
  send_peers(*peer, h.name);
  const bool gossiped_to_us = heard_of_.erase(m->address) != 0;
  if (!m->hidden && !m->address.empty() && !gossiped_to_us) {
    std::vector<wire::PeerInfo> one{{m->name, m->region, m->address}};
    for (const auto& [name, other] : members_) {
      if (name == m->name) continue;
      other.peer->send([&](detail::Buffer& out) { wire::encode_peers(out, one); });
    }
  }
}

// Locked.
void Cluster::member_down(const std::string& name, const std::string& reason) {
  auto it = members_.find(name);
  if (it == members_.end()) return;
  auto m = it->second.member;
  members_.erase(it);
  // Lazy connections: a member whose connection ended is still known (a
  // later call redials it; if it is gone, that dial fails and forgets it).
  if (settings_.lazy && !m->hidden) remember(m->name, m->region, m->address);
  publish();
  fly::log::get().info("flyrpc: node down: {} ({}): {}", m->name, m->region, reason);
  emit({MembershipEvent::Kind::down, info_of(*m), reason});
  emit_telemetry(telemetry::Event::node_down, {m->name, m->region, reason, ""});
}

// Locked. Rebuilds the region table from members_ and this node.
//
// Cost: O(members) — every join and leave publishes, so a mass start of n
// nodes publishes ~n² times in all. Nothing here sorts (members_ is ordered
// by name; this node is merged in at its place) and this node's own Member
// is made again only when its functions or address changed.
void Cluster::publish() {
  auto view = std::make_shared<ClusterView>();
  std::shared_ptr<const Member> self;
  if (!settings_.hidden) {
    std::string address = self_address();
    if (!self_member_ || self_member_->address != address) {
      auto made = std::make_shared<Member>();
      made->name = settings_.name;
      made->region = settings_.region;
      made->address = std::move(address);
      made->incarnation = incarnation_;
      made->is_self = true;
      auto set = std::make_shared<FunctionSet>();
      for (auto& f : functions_.list()) set->insert(std::move(f.name));
      made->functions = std::move(set);
      self_member_ = std::move(made);
    }
    self = self_member_;
  }
  view->visible.reserve(members_.size() + 1);
  view->connected.reserve(members_.size());
  for (const auto& [name, e] : members_) {
    view->connected.emplace(name, e.member);
    if (e.member->hidden) continue;
    if (self && self->name < name) view->visible.push_back(std::move(self));
    view->visible.push_back(e.member);
  }
  if (self) view->visible.push_back(std::move(self));
  for (const auto& m : view->visible) view->by_region[m->region].push_back(m.get());
  for (const auto& [name, known] : known_) {
    if (members_.count(name) != 0) continue;
    view->unconnected.push_back(known);
    view->unconnected_by_region[known->region].push_back(known.get());
  }
  view->routes = RouteIndex(view->visible);
  if (settings_.peer.metrics) {
    std::map<std::string, std::size_t> per_region;
    for (const auto& [region, members] : view->by_region) per_region[region] = members.size();
    settings_.peer.metrics->set_nodes_per_region(per_region);
  }
  view_.publish(std::move(view));
  changed_.notify_all();
}

void Cluster::emit_telemetry(telemetry::Event event, EventData data) {
  telemetry::Telemetry* t = settings_.telemetry;
  if (t == nullptr || !t->wanted(event)) return;
  asio::post(events_strand_, [t, event, d = std::move(data)] {
    telemetry::Metadata md;
    md.node = d.node;
    md.region = d.region;
    md.reason = d.reason;
    md.peer = d.peer;
    md.attempt = d.attempt;
    t->emit(event, {}, md);
  });
}

std::uint64_t Cluster::subscribe(std::function<void(const MembershipEvent&)> handler) {
  std::lock_guard lock(mutex_);
  const auto id = next_subscriber_++;
  subscribers_[id] = std::move(handler);
  return id;
}

void Cluster::unsubscribe(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  subscribers_.erase(id);
}

// Locked. Posting under the lock keeps events in the order they happened.
void Cluster::emit(MembershipEvent event) {
  if (subscribers_.empty()) return;
  asio::post(events_strand_, [this, event = std::move(event)] {
    std::vector<std::function<void(const MembershipEvent&)>> handlers;
    {
      std::lock_guard lock(mutex_);
      for (const auto& [id, h] : subscribers_) handlers.push_back(h);
    }
    for (const auto& h : handlers) {
      try {
        h(event);
      } catch (const std::exception& e) {
        fly::log::get().error("flyrpc: membership subscriber threw: {}", e.what());
      }
    }
  });
}

}  // namespace fly::cluster
