// Gossip: the control frames between members — ANNOUNCE (the functions a
// node exports), ACTIVATE (the decider's "this connection is the one"),
// PEERS (addresses to dial for a full mesh) and GOODBYE (a node leaving).
#include "base/log.hpp"
#include "cluster/cluster.hpp"
#include "wire/frames.hpp"
#include "wire/handshake.hpp"

namespace fly::cluster {

namespace {
// How long the end of a gossiped pair with the greater name waits for the
// other end's dial before dialling itself (that dial may have been refused,
// e.g. busy, or the other end may not reach this node's address).
constexpr std::chrono::milliseconds kGossipDialGrace{1000};
}  // namespace

void Cluster::on_control_frame(const std::shared_ptr<net::Peer>& peer,
                               const wire::FrameView& frame) {
  {
    // Frames already in flight from a connection we refused are not acted on.
    // A closed connection's record is gone: nothing more to act on either.
    std::lock_guard lock(mutex_);
    const Link* link = link_of(*peer);
    if (link == nullptr || link->refused) return;
  }
  std::string error;
  switch (frame.type) {
    case wire::FrameType::announce: {
      wire::Announce announce;
      if (!wire::decode_announce(frame.payload, announce, error)) break;
      FunctionSet functions;
      for (auto& f : announce.functions) functions.insert(std::move(f.name));
      std::lock_guard lock(mutex_);
      Link* link = link_of(*peer);
      if (link == nullptr) return;  // closed meanwhile
      auto set = shared_function_set(std::move(functions));
      link->functions = set;
      link->announced = true;
      auto it = members_.find(peer->peer_hello().name);
      if (it != members_.end() && it->second.peer == peer) {
        auto updated = std::make_shared<Member>(*it->second.member);
        updated->functions = std::move(set);
        it->second.member = std::move(updated);
        publish();
      } else {
        maybe_up(peer);
      }
      return;
    }
    case wire::FrameType::activate: {
      if (!wire::decode_activate(frame.payload, error)) break;
      if (is_decider_for(peer->peer_hello().name)) {
        error = "ACTIVATE from the non-deciding side";
        break;
      }
      std::lock_guard lock(mutex_);
      Link* link = link_of(*peer);
      if (link == nullptr) return;  // closed meanwhile
      link->activated = true;
      maybe_up(peer);
      return;
    }
    case wire::FrameType::peers: {
      std::vector<wire::PeerInfo> peers;
      if (!wire::decode_peers(frame.payload, peers, error)) break;
      std::lock_guard lock(mutex_);
      bool remembered = false;
      for (const auto& p : peers) {
        if (p.address.empty() || replaced_) continue;
        // A name we know at another address may be another process with that
        // name (two started at once, or a restart on a new port): dial it too,
        // and the handshake keeps the newer incarnation. (Our own name is never
        // gossiped to us: senders leave out the recipient's name.)
        if (p.name == settings_.name) continue;
        auto m = members_.find(p.name);
        if (m != members_.end() && m->second.member->address == p.address) continue;
        if (heard_of_.size() >= kMaxHeardOf) heard_of_.clear();
        heard_of_.insert(p.address);
        if (settings_.lazy && m == members_.end()) {
          // Lazy connections: known, dialled by the first call that needs it.
          remember(p.name, p.region, p.address);
          remembered = true;
          continue;
        }
        if (m == members_.end() && !p.name.empty() && p.name < settings_.name &&
            !settings_.hidden) {
          // Both ends of a pair hear of each other by gossip (a newcomer gets
          // the member list, every member gets the newcomer): the end with the
          // smaller name dials at once, this one only if no connection came
          // within a grace period. One handshake per pair instead of two (one
          // then refused already_connected) when many start at once. A hidden
          // node is gossiped to no one: it always dials.
          auto [t, inserted] = targets_.try_emplace(p.address);
          DialTarget& target = t->second;
          if (inserted) {
            target.address = p.address;
            target.timer = std::make_unique<asio::steady_timer>(io_);
          }
          if (target.in_progress || leaving_) continue;
          if (target.name.empty()) target.name = p.name;
          target.in_progress = true;
          target.timer->expires_after(kGossipDialGrace);
          target.timer->async_wait([this, address = p.address](const asio::error_code& ec) {
            if (ec) return;
            std::lock_guard relock(mutex_);
            auto it = targets_.find(address);
            if (it == targets_.end() || leaving_) return;
            it->second.in_progress = false;
            const std::string& name = it->second.name;
            if (!name.empty() && members_.count(name) != 0) return;  // it dialled us
            dial(address, false);
          });
          continue;
        }
        dial(p.address, false);
      }
      if (remembered) publish();  // regions known only by gossip are in the table
      return;
    }
    case wire::FrameType::goodbye: {
      std::string reason;
      if (!wire::decode_goodbye(frame.payload, reason, error)) break;
      {
        std::lock_guard lock(mutex_);
        if (Link* link = link_of(*peer)) link->said_goodbye = true;
        auto it = members_.find(peer->peer_hello().name);
        if (it != members_.end() && it->second.peer == peer) {
          member_down(it->first, "goodbye" + (reason.empty() ? "" : " (" + reason + ")"));
        }
        // A lazy connection closed for idleness: the node is still a member.
        if (reason != wire::kIdleGoodbye && known_.erase(peer->peer_hello().name) != 0) publish();
      }
      peer->close("node left (goodbye)", Errc::node_down);
      return;
    }
    default:
      error = std::string("unexpected ") + wire::to_string(frame.type) + " frame";
      break;
  }
  fly::log::get().warn("flyrpc: protocol error from {}: {}", peer->remote_address(), error);
  refuse(peer, wire::RefuseReason::protocol, error);
}

// Locked. Nodes of one application export the same functions: their
// members share one set (memory per peer, and RouteIndex indexes a shared
// set once per region, not once per member).
std::shared_ptr<const FunctionSet> Cluster::shared_function_set(FunctionSet functions) {
  std::erase_if(function_sets_, [](const auto& weak) { return weak.expired(); });
  for (const auto& weak : function_sets_) {
    if (auto set = weak.lock(); set && *set == functions) return set;
  }
  auto set = std::make_shared<const FunctionSet>(std::move(functions));
  function_sets_.push_back(set);
  return set;
}

// Locked.
void Cluster::send_announce(net::Peer& peer) {
  wire::Announce a;
  a.generation = ++announce_generation_;
  for (auto& f : functions_.list())
    a.functions.push_back({std::move(f.name), std::move(f.signature)});
  peer.send([&](detail::Buffer& out) { wire::encode_announce(out, a); });
}

// Locked.
void Cluster::send_peers(net::Peer& peer, const std::string& except) {
  std::vector<wire::PeerInfo> list;
  for (const auto& [name, e] : members_) {
    const auto& m = e.member;
    if (name == except || m->hidden || m->address.empty()) continue;
    list.push_back({m->name, m->region, m->address});
  }
  if (list.empty()) return;
  peer.send([&](detail::Buffer& out) { wire::encode_peers(out, list); });
}

void Cluster::functions_changed() {
  std::lock_guard lock(mutex_);
  self_member_.reset();  // publish() makes it again with the new functions
  for (const auto& [name, e] : members_) send_announce(*e.peer);
  for (const auto& [id, p] : pending_) {
    if (p->authenticated()) send_announce(*p);
  }
  publish();
}

}  // namespace fly::cluster
