// The region table: an immutable picture of the cluster, swapped on every
// membership change and read lock-free by every call (SnapshotCell).
#pragma once

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "cluster/route_index.hpp"
#include "fly/membership.hpp"
#include "net/peer.hpp"

namespace fly::cluster {

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};
using FunctionSet = std::unordered_set<std::string, StringHash, std::equal_to<>>;

struct Member {
  std::string name;
  std::string region;
  std::string address;  ///< advertised "host:port" ("" if none)
  bool hidden = false;
  std::uint64_t incarnation = 0;
  /// The connection (empty for this node itself). Weak: a view may outlive
  /// the node in a thread's cache, and must not keep sockets alive.
  std::weak_ptr<net::Peer> peer;
  bool is_self = false;
  std::shared_ptr<const FunctionSet> functions;

  bool exports(std::string_view function) const {
    return functions && functions->find(function) != functions->end();
  }
};

/// The member as the public API shows it (Node::nodes(), MembershipEvent):
/// a copy, functions sorted. Allocates.
NodeInfo info_of(const Member& m);

struct ClusterView {
  /// Visible members, this node included when visible; sorted by name.
  std::vector<std::shared_ptr<const Member>> visible;
  /// Every connected member by name, hidden ones included (not this node).
  std::unordered_map<std::string, std::shared_ptr<const Member>, StringHash, std::equal_to<>>
      connected;
  /// Visible members by region.
  std::map<std::string, std::vector<const Member*>, std::less<>> by_region;
  /// (region, function) -> the other visible members exporting it: what
  /// rpc_region reads on every call (Node::route_region). Points into `visible`.
  RouteIndex routes;
  /// Lazy connections: members known by gossip and not connected (no
  /// connection, no functions), sorted by name, and by region; empty in a
  /// full mesh. Their regions are in regions(); a call there connects first
  /// (Cluster::connect_on_demand).
  std::vector<std::shared_ptr<const Member>> unconnected;
  std::map<std::string, std::vector<const Member*>, std::less<>> unconnected_by_region;

  const Member* find_connected(std::string_view name) const {
    auto it = connected.find(name);
    return it == connected.end() ? nullptr : it->second.get();
  }
  bool has_region(std::string_view region) const {
    return by_region.find(region) != by_region.end() ||
           unconnected_by_region.find(region) != unconnected_by_region.end();
  }
  /// Regions with a visible member, connected or (lazy connections) not; sorted.
  std::vector<std::string> regions() const {
    std::vector<std::string> out;
    for (const auto& [region, members] : by_region) out.push_back(region);
    for (const auto& [region, members] : unconnected_by_region) {
      if (by_region.find(region) == by_region.end()) out.push_back(region);
    }
    std::sort(out.begin(), out.end());
    return out;
  }
};

}  // namespace fly::cluster
