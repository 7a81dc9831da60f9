// fly::Node's view of the cluster: regions, nodes, subscriptions. Each
// reads one snapshot of the region table (no lock) or forwards to the cluster.
#include "fly/node.hpp"

#include "node/node_core.hpp"

namespace fly {

std::vector<std::string> Node::regions() const {
  return core_->cluster->snapshot()->regions();
}

namespace {

// Connected members and (lazy connections) those known only by gossip, both
// sorted by name: merged in name order.
template <class List>
std::vector<NodeInfo> merged(const List& connected, const List& unconnected) {
  std::vector<NodeInfo> out;
  out.reserve(connected.size() + unconnected.size());
  auto c = connected.begin();
  auto u = unconnected.begin();
  while (c != connected.end() || u != unconnected.end()) {
    if (u == unconnected.end() || (c != connected.end() && (*c)->name < (*u)->name)) {
      out.push_back(cluster::info_of(**c++));
    } else {
      out.push_back(cluster::info_of(**u++));
    }
  }
  return out;
}

}  // namespace

std::vector<NodeInfo> Node::nodes() const {
  auto view = core_->cluster->snapshot();
  return merged(view->visible, view->unconnected);
}

std::vector<NodeInfo> Node::region_nodes(std::string_view region) const {
  auto view = core_->cluster->snapshot();
  static const std::vector<const cluster::Member*> none;
  auto c = view->by_region.find(region);
  auto u = view->unconnected_by_region.find(region);
  return merged(c == view->by_region.end() ? none : c->second,
                u == view->unconnected_by_region.end() ? none : u->second);
}

std::uint64_t Node::subscribe(std::function<void(const MembershipEvent&)> handler) {
  return core_->cluster->subscribe(std::move(handler));
}
void Node::unsubscribe(std::uint64_t id) {
  core_->cluster->unsubscribe(id);
}
std::string Node::last_join_error() const {
  return core_->cluster->last_join_error();
}

}  // namespace fly
