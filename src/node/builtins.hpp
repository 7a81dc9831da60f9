// The reserved built-ins every fly::Node exports, so that tools (the flyrpc
// CLI, a shell on a machine) can ask any node of any application about itself
// and its view of the cluster without the application exporting anything.
#pragma once

namespace fly {
class Node;
}

namespace fly::node {

/// Exports these (an application may replace one by exposing its name):
///   Fly.my_region() -> string           this node's region
///   Fly.primary_region() -> string      the primary region it was given
///   Fly.region_table() -> {region: [node]}     its view: visible nodes by region
///   Fly.nodes() -> [{name, region, address, functions}]   its view, in full
/// All are quick and never block: they run on the I/O thread. Called once, by
/// the Node's constructor; `node` must outlive every call.
void expose_builtins(Node& node);

}  // namespace fly::node
