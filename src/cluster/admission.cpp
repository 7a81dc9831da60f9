// Admission: what the cluster does with an authenticated connection
// (the decider rule: of two connections between a pair, the node with the
// smaller name keeps one and ACTIVATEs it), duplicate names (the newer
// incarnation wins), refusals and their logging, and the end of a
// connection (on_closed: counting, member down, redial).
#include <algorithm>

#include "base/log.hpp"
#include "cluster/cluster.hpp"
#include "telemetry/node_metrics.hpp"
#include "wire/handshake.hpp"

namespace fly::cluster {

namespace {

// refusal_logs_ is cleared past this many keys: a scan of many addresses
// must not grow it forever.
constexpr std::size_t kMaxRefusalLogKeys = 1024;

}  // namespace

void Cluster::refuse(const std::shared_ptr<net::Peer>& peer, wire::RefuseReason reason,
                     const std::string& message) {
  if (Link* link = link_of(*peer)) link->refused = true;  // so on_closed does not count it again
  record_refusal(reason, peer->remote_address());
  peer->send([&](detail::Buffer& out) { wire::encode_refuse(out, {reason, message}); });
  peer->close_after_flush(std::string(wire::to_string(reason)) + ": " + message);
}

void Cluster::on_authenticated(const std::shared_ptr<net::Peer>& peer) {
  const wire::Hello& h = peer->peer_hello();
  std::lock_guard lock(mutex_);
  if (!peer->outbound() && handshaking_inbound_ > 0) --handshaking_inbound_;
  if (leaving_) {
    refuse(peer, wire::RefuseReason::stopping, "node is stopping");
    return;
  }
  if (h.name == settings_.name) {
    if (h.incarnation > incarnation_) {
      // A later start of this node's name: it wins (on every node; the
      // others will refuse this one).
      refuse(peer, wire::RefuseReason::stopping, "this node was replaced by you");
      replaced_by("the newer node itself, at " + peer->remote_address());
      return;
    }
    if (h.incarnation < incarnation_) {
      refuse_older(peer, "this node, a later start of that name, replaced it");
      return;
    }
    fly::log::get().error("flyrpc: refusing {} ({}): it uses this node's own name \"{}\"",
                          peer->remote_address(), h.region, h.name);
    refuse(peer, wire::RefuseReason::duplicate_name,
           "\"" + h.name + "\" is the name of the node you reached");
    return;
  }
  auto existing = members_.find(h.name);
  if (existing != members_.end()) {
    switch (settle_name(peer, existing->second.member->incarnation)) {
      case NameClash::peer_older:
        return;
      case NameClash::peer_newer:
        existing = members_.end();  // displaced
        break;
      case NameClash::same_incarnation:
        break;
    }
  }
  if (existing != members_.end()) {
    if (is_decider_for(h.name)) {
      refuse(peer, wire::RefuseReason::already_connected, "already connected");
      return;
    }
  }
  if (is_decider_for(h.name)) {
    // A connection we already activated for this incarnation, still waiting
    // for its ANNOUNCE, counts as existing too: activate one connection only
    // (else both dials of a pair that met at once come up and one replaces
    // the other, which the peer sees as a flap).
    for (const auto& [id, other] : pending_) {
      const Link* other_link = link_of(*other);
      if (other != peer && other_link != nullptr && other_link->activated &&
          other->authenticated() && other->peer_hello().name == h.name &&
          other->peer_hello().incarnation == h.incarnation) {
        refuse(peer, wire::RefuseReason::already_connected, "already connected");
        return;
      }
    }
  }
  if (peer->outbound()) {
    auto t = targets_.find(peer->dialed_address());
    if (t != targets_.end()) {
      // Back-off is reset when the member comes up (maybe_up), not here: a
      // connection refused after authentication must not redial at once.
      t->second.name = h.name;
      t->second.in_progress = false;
    }
  }
  if (!h.listen_address.empty()) {
    // Remember where it listens, so we can redial it if it drops.
    auto [t, inserted] = targets_.try_emplace(h.listen_address);
    if (inserted) {
      t->second.address = h.listen_address;
      t->second.timer = std::make_unique<asio::steady_timer>(io_);
    }
    t->second.name = h.name;
  }
  send_announce(*peer);
  send_peers(*peer, h.name);
  if (is_decider_for(h.name)) {
    if (Link* link = link_of(*peer)) link->activated = true;
    peer->send([](detail::Buffer& out) { wire::encode_activate(out); });
  }
  maybe_up(peer);
}

void Cluster::on_closed(const std::shared_ptr<net::Peer>& peer, const net::CloseInfo& info) {
  std::lock_guard lock(mutex_);
  // The connection's record ends here: on_closed is its last event.
  Link link;
  if (auto l = links_.find(peer->id()); l != links_.end()) {
    link = std::move(l->second);
    links_.erase(l);
  }
  // Leaving and the last connection gone: no tick to wait for, so the I/O
  // threads run out of work now.
  if (leaving_ && links_.empty()) heartbeat_.stop();
  if (pending_.erase(peer->id()) != 0 && !peer->outbound() && !info.authenticated &&
      handshaking_inbound_ > 0) {
    --handshaking_inbound_;
  }
  const bool harmless_refusal = info.refused_by_peer == wire::RefuseReason::already_connected ||
                                info.refused_by_us == wire::RefuseReason::already_connected;
  // Refusals by the handshake (bad cookie, version, timeout), by the peer, or
  // for a protocol error; the cluster's own (refuse()) were counted there.
  if (!link.refused) {
    if (info.refused_by_us) {
      record_refusal(*info.refused_by_us, peer->remote_address());
    } else if (info.refused_by_peer) {
      record_refusal(*info.refused_by_peer, peer->remote_address());
    }
  }
  if (peer->outbound() && !harmless_refusal && !link.activated) {
    last_join_error_ = peer->dialed_address() + ": " + info.reason;
  }
  const std::string who = peer->authenticated() ? peer->peer_hello().name : peer->remote_address();
  if (info.refused_by_peer == wire::RefuseReason::replaced && info.authenticated &&
      peer->authenticated()) {
    // Final, from a node that shares the cookie: a newer process has our name.
    replaced_by(who + " at " + peer->remote_address());
  } else if (!link.refused && !harmless_refusal && !leaving_ &&
             ((peer->outbound() && (info.refused_by_peer || info.refused_by_us)) ||
              (info.authenticated && info.refused_by_peer))) {
    // Our dials refused in the handshake (a wrong cookie: both sides find
    // out), and any refusal after authentication: the peer logs its side,
    // this is ours (net/peer.cpp logs only inbound handshake refusals). A
    // hidden node is a tool: it reports last_join_error() itself.
    const std::string line = "flyrpc: " +
                             (peer->outbound() ? "connection to " + peer->dialed_address()
                                               : "connection from " + peer->remote_address()) +
                             (who == peer->remote_address() ? "" : " (" + who + ")") +
                             " failed: " + info.reason;
    if (settings_.hidden) {
      fly::log::get().debug("{}", line);
    } else {
      log_refusal(who, line);
    }
  }
  std::string name;
  if (peer->authenticated()) {
    name = peer->peer_hello().name;
    auto it = members_.find(name);
    if (it != members_.end() && it->second.peer == peer) member_down(name, info.reason);
  }
  if (leaving_) return;
  // Redial: the address we dialled, and where the peer said it listens.
  std::vector<std::string> again;
  if (peer->outbound()) again.push_back(peer->dialed_address());
  if (peer->authenticated() && !peer->peer_hello().listen_address.empty()) {
    again.push_back(peer->peer_hello().listen_address);
  }
  for (const auto& address : again) {
    auto t = targets_.find(address);
    if (t == targets_.end()) continue;
    if (settings_.lazy && !t->second.permanent) {
      // Lazy connections: redialled by the next call that needs it.
      drop_on_demand(address, false);
      continue;
    }
    if (link.said_goodbye && !t->second.permanent) {
      t->second.timer->cancel();
      targets_.erase(t);
      continue;
    }
    if (harmless_refusal && !name.empty() && members_.count(name) != 0) {
      t->second.in_progress = false;
      continue;
    }
    if (!name.empty() && members_.count(name) != 0) continue;  // another connection serves it
    t->second.in_progress = false;
    schedule_retry(t->second);
  }
}

void Cluster::refuse_replaced(const std::shared_ptr<net::Peer>& peer, const std::string& name) {
  const std::string message = "replaced by a newer node named \"" + name +
                              "\" (a later start of that name is in the cluster; this process "
                              "must stop)";
  // Version 1 has no `replaced`; it takes duplicate_name as "retry later".
  const bool knows_replaced = peer->peer_hello().max_version >= 2;
  refuse(peer, knows_replaced ? wire::RefuseReason::replaced : wire::RefuseReason::duplicate_name,
         message);
}

void Cluster::refuse_older(const std::shared_ptr<net::Peer>& peer, const char* replaced_by) {
  const std::string& name = peer->peer_hello().name;
  log_refusal(name, "flyrpc: refusing " + peer->remote_address() + ": an older process named \"" +
                        name + "\" (" + replaced_by + ")");
  refuse_replaced(peer, name);
}

Cluster::NameClash Cluster::settle_name(const std::shared_ptr<net::Peer>& peer,
                                        std::uint64_t member_incarnation) {
  const wire::Hello& h = peer->peer_hello();
  if (member_incarnation > h.incarnation) {
    refuse_older(peer, "the member of that name started later and replaced it");
    return NameClash::peer_older;
  }
  if (member_incarnation < h.incarnation) {
    displace_member(h.name, peer->remote_address());
    return NameClash::peer_newer;
  }
  return NameClash::same_incarnation;
}

void Cluster::displace_member(const std::string& name, const std::string& newcomer_address) {
  auto it = members_.find(name);
  if (it == members_.end()) return;
  const auto old = it->second.peer;
  fly::log::get().warn(
      "flyrpc: node {} at {} is replaced by a newer process of the same name at {}", name,
      old->remote_address(), newcomer_address);
  member_down(name, "replaced by a newer node of the same name at " + newcomer_address);
  refuse_replaced(old, name);
}

void Cluster::replaced_by(const std::string& told_by) {
  if (replaced_ || leaving_) return;
  replaced_ = true;
  const std::string reason = "replaced by a newer node named \"" + settings_.name +
                             "\" (a later start of this name joined the cluster; told by " +
                             told_by + ")";
  fly::log::get().error("flyrpc: this node was {}; it leaves the cluster and stops dialling",
                        reason);
  last_join_error_ = reason;
  NodeInfo self{settings_.name, settings_.region, self_address(), settings_.hidden, {}};
  for (auto& f : functions_.list()) self.functions.push_back(std::move(f.name));
  std::sort(self.functions.begin(), self.functions.end());
  emit({MembershipEvent::Kind::replaced, std::move(self), reason});
  // Members go down as their connections close (on_closed).
  leave_locked("replaced by a newer node of the same name");
}

void Cluster::log_refusal(const std::string& key, const std::string& line) {
  auto it = refusal_logs_.try_emplace(key).first;
  std::size_t suppressed = 0;
  if (!it->second.allow(suppressed)) return;
  if (suppressed == 0) {
    fly::log::get().warn("{}", line);
  } else {
    fly::log::get().warn("{} ({} more like it since the last message)", line, suppressed);
  }

  if (refusal_logs_.size() > kMaxRefusalLogKeys) refusal_logs_.clear();
}

void Cluster::record_refusal(wire::RefuseReason reason, const std::string& peer_address) {
  if (reason == wire::RefuseReason::already_connected) return;
  const char* name = wire::to_string(reason);
  if (settings_.peer.metrics) settings_.peer.metrics->handshake_refused(name);
  emit_telemetry(telemetry::Event::connection_refused, {"", "", name, peer_address});
}

}  // namespace fly::cluster
