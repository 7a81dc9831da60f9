// fly::Node's view of the cluster: regions, nodes, subscriptions. Each
// reads one snapshot of the region table (no lock) or forwards to the cluster.
#include "fly/node.hpp"

#include "node/node_core.hpp"

namespace fly {

std::vector<std::string> Node::regions() const {
  return core_->cluster->snapshot()->regions();
}

std::vector<NodeInfo> Node::nodes() const {
  auto view = core_->cluster->snapshot();
  std::vector<NodeInfo> out;
  for (const auto& m : view->visible) out.push_back(cluster::info_of(*m));
  return out;
}

std::vector<NodeInfo> Node::region_nodes(std::string_view region) const {
  auto view = core_->cluster->snapshot();
  std::vector<NodeInfo> out;
  auto it = view->by_region.find(region);
  if (it != view->by_region.end()) {
    for (const auto* m : it->second) out.push_back(cluster::info_of(*m));
  }
  return out;
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
