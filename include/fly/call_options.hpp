// Per-call options: a timeout and how to choose among a region's nodes.
//
//   node.rpc_region<int>("syd", "Kernel.+", 1, 2, fly::timeout(2s));
//   node.rpc_region<int>("syd", "Kernel.+", 1, 2, fly::CallOptions{.prefer =
//   fly::Prefer::least_loaded});
#pragma once

#include <chrono>

namespace fly {

/// How rpc_region picks one node of the target region (among those that
/// export the function).
enum class Prefer {
  random,        ///< uniformly at random (Fly RPC's behaviour). The default.
  least_loaded,  ///< the node with the fewest of this node's calls in flight
  lowest_rtt,    ///< the node with the lowest smoothed round-trip time seen by this node
};

struct CallOptions {
  /// How long to wait for the answer. Zero means: the remaining time of the
  /// call being handled on this thread, if any, else NodeOptions::call_timeout
  /// (default 5 s). A non-zero value is still capped by an inherited deadline.
  std::chrono::milliseconds timeout{0};
  /// Node choice within a region. Default: random.
  Prefer prefer = Prefer::random;
};

/// fly::timeout(2s): CallOptions with just a timeout.
inline CallOptions timeout(std::chrono::milliseconds t) {
  return CallOptions{t, Prefer::random};
}

}  // namespace fly
