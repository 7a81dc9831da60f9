// What a node knows of the cluster's members: NodeInfo (one member as this
// node sees it) and MembershipEvent (a member up or down, or this node
// replaced), as fly::Node's nodes(), region_nodes() and subscribe() give them.
// Plain data, no dependencies: the cluster layer builds them too.
#pragma once

#include <string>
#include <vector>

namespace fly {

/// A member of the cluster, as this node sees it.
struct NodeInfo {
  std::string name;
  std::string region;
  std::string address;  ///< "host:port" it listens on ("" for a hidden node)
  bool hidden = false;
  std::vector<std::string> functions;  ///< what it exports, sorted
  /// False for a node known by gossip only (NodeOptions::lazy_connections):
  /// not connected now, its functions not known (empty) until a call connects.
  bool connected = true;
};

/// Node up / node down, delivered to subscribers.
struct MembershipEvent {
  /// `replaced`: this node (`node` is itself) lost its name to a newer process
  /// of the same name — of two live incarnations of a name the later start
  /// wins on every node. The node has left the cluster and dials no more (calls
  /// to other nodes fail; stop() is still due); `reason` says who told it, and
  /// last_join_error() returns it from then on. A process should stop and exit
  /// with an error.
  enum class Kind { up, down, replaced };
  Kind kind;
  NodeInfo node;
  std::string reason;  ///< for down: "goodbye", "heartbeat timeout", "connection reset", ...
};

}  // namespace fly
