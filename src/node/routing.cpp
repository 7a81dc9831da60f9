// Where a call goes (the first step of docs/ARCHITECTURE.md's "life of a
// call"): this node, or a member of the region chosen per CallOptions::prefer,
// its connection pinned in the Route for the call's duration. Caller's thread.
#include "fly/node.hpp"

#include <random>

#include "cluster/route_choice.hpp"
#include "fly/this_call.hpp"
#include "node/node_core.hpp"

namespace fly {

namespace {

// xorshift64*: the random node choice costs a few instructions, no lock.
std::uint64_t next_random() {
  thread_local std::uint64_t state = std::random_device{}() | 1;
  state ^= state >> 12;
  state ^= state << 25;
  state ^= state >> 27;
  return state * 0x2545F4914F6CDD1DULL;
}

// Pins the member's connection for the duration of a call. The node name
// points into the connection's HELLO, which lives as long as the pin.
detail::Route remote_route(const cluster::Member& m, std::string_view function) {
  auto peer = m.peer.lock();
  if (!peer) throw NodeDown(m.name, std::string(function), "the connection just closed");
  net::Peer* raw = peer.get();
  return {nullptr, raw, std::move(peer), raw->peer_hello().name, raw->peer_hello().region};
}

// The route of a call to a chosen member, its connection already pinned by
// the choice (one weak_ptr lock per call, not two). The node name points into
// the connection's HELLO, which lives as long as the pin.
detail::Route pinned_route(std::shared_ptr<net::Peer> peer) {
  net::Peer* raw = peer.get();
  return {nullptr, raw, std::move(peer), raw->peer_hello().name, raw->peer_hello().region};
}

// Lazy connections: connects to the known, unconnected nodes of `region`, or
// the one named `node` ("" and "": every one) until `ready(view)` holds or the
// call's timeout passes (the call then gets its own timeout: the first call
// to a region not yet connected can take up to twice its timeout). False at
// once in a full mesh. Blocks the caller — except on one of the node's own
// I/O threads (a handler or coroutine on Node::executor()), which the dial
// itself needs: there it dials and returns at once.
bool connect_on_demand(detail::NodeCore& c, std::chrono::milliseconds timeout,
                       std::string_view region, std::string_view node,
                       const std::function<bool(const cluster::ClusterView&)>& ready) {
  if (!c.options.lazy_connections) return false;
  const auto now = std::chrono::steady_clock::now();
  const bool may_wait = !c.io.get_executor().running_in_this_thread();
  return c.cluster->connect_on_demand(region, node, ready, may_wait ? now + timeout : now);
}

}  // namespace

// The per-call cost (bench/micro BM_RegionLookup): one snapshot read, one
// probe of the view's (region, function) index, the choice, the pin. Nothing
// here allocates or walks the members of the region.
detail::Route Node::route_region(std::string_view region, std::string_view function,
                                 const CallOptions& options) const {
  auto& c = *core_;
  const bool here = !c.options.hidden && region == c.options.region;
  if (here) {
    if (const detail::FunctionEntry* entry = c.functions.find(function)) {
      return {entry, nullptr, nullptr, c.options.name, c.options.region};
    }
  }
  const cluster::ClusterView* view = &c.cluster->view();
  const cluster::RouteIndex::Candidates* candidates = view->routes.find(region, function);
  if (candidates == nullptr && c.options.lazy_connections) {
    const auto timeout = effective_timeout(options);
    connect_on_demand(c, timeout, region, {}, [&](const cluster::ClusterView& v) {
      return v.routes.find(region, function) != nullptr;
    });
    view = &c.cluster->view();  // read again: the one above may be gone (SnapshotCell::read)
    candidates = view->routes.find(region, function);
    auto unreached = view->unconnected_by_region.find(region);
    if (candidates == nullptr && unreached != view->unconnected_by_region.end()) {
      // Known there, dialled, not up in time (a dial that failed forgets its
      // node): the function may well be on it.
      const std::string reason =
          c.io.get_executor().running_in_this_thread()
              ? "connecting to region " + std::string(region) +
                    " (lazy connections): a call made on one of the node's I/O threads does "
                    "not wait for it; call again once it is up, or from another thread"
              : "no connection to region " + std::string(region) + " within " +
                    std::to_string(timeout.count()) + " ms (lazy connections)";
      throw NodeDown(unreached->second.front()->name, std::string(function), reason);
    }
  }
  if (candidates == nullptr) {
    if (!view->has_region(region)) {
      validate_region("region", region);
      throw NoNodeInRegion(std::string(region), view->regions());
    }
    throw UnknownFunction(std::string(function), "region " + std::string(region));
  }
  const std::uint64_t random_bits = candidates->size() == 1 ? 0 : next_random();
  cluster::Choice choice = cluster::choose(*candidates, options.prefer, random_bits);
  if (!choice.peer) {
    throw NodeDown(choice.member->name, std::string(function), "the connection just closed");
  }
  return pinned_route(std::move(choice.peer));
}

detail::Route Node::route_node(std::string_view node, std::string_view function,
                               const CallOptions& options) const {
  auto& c = *core_;
  if (node == c.options.name) {
    if (const detail::FunctionEntry* entry = c.functions.find(function)) {
      return {entry, nullptr, nullptr, c.options.name, c.options.region};
    }
    throw UnknownFunction(std::string(function), "node " + std::string(node));
  }
  if (c.options.lazy_connections && c.cluster->view().connected.count(node) == 0) {
    connect_on_demand(c, effective_timeout(options), {}, node,
                      [&](const cluster::ClusterView& v) { return v.connected.count(node) != 0; });
  }
  const cluster::ClusterView& view = c.cluster->view();
  auto it = view.connected.find(node);
  if (it == view.connected.end() || it->second->hidden) throw NotConnected(std::string(node));
  if (!it->second->exports(function)) {
    throw UnknownFunction(std::string(function), "node " + std::string(node));
  }
  return remote_route(*it->second, function);
}

std::vector<detail::Route> Node::members_of(std::string_view region,
                                            const CallOptions& options) const {
  auto& c = *core_;
  // Lazy connections: every known node of the region, connected first.
  connect_on_demand(c, effective_timeout(options), region, {},
                    [](const cluster::ClusterView&) { return false; });
  auto view = c.cluster->snapshot();
  std::vector<detail::Route> routes;
  for (const auto& m : view->visible) {
    if (!region.empty() && m->region != region) continue;
    if (m->is_self) {
      // this node: runs locally
      routes.push_back({nullptr, nullptr, nullptr, c.options.name, c.options.region});
    } else if (auto peer = m->peer.lock()) {
      net::Peer* raw = peer.get();
      routes.push_back(
          {nullptr, raw, std::move(peer), raw->peer_hello().name, raw->peer_hello().region});
    }
  }
  if (routes.empty() && !region.empty()) {
    validate_region("region", region);
    throw NoNodeInRegion(std::string(region), view->regions());
  }
  return routes;
}

std::chrono::milliseconds Node::effective_timeout(const CallOptions& options) const noexcept {
  const auto inherited = this_call::remaining();
  const bool has_inherited = inherited != std::chrono::milliseconds::max();
  std::chrono::milliseconds t;
  if (options.timeout.count() > 0) {
    t = has_inherited ? std::min(options.timeout, inherited) : options.timeout;
  } else {
    t = has_inherited ? inherited : core_->options.call_timeout;
  }
  return std::max(t, std::chrono::milliseconds(1));
}

}  // namespace fly
