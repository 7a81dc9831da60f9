// Which member of a region a call goes to (CallOptions::prefer), and the
// pin on its connection that the call holds while it runs.
//
//   random        one candidate, uniformly: one weak_ptr lock.
//   least_loaded  "power of two choices": two distinct candidates drawn at
//                 random, the one with fewer of this node's calls in flight
//                 wins (ties: random). Two locks and two reads of a call
//                 table's size, whatever the size of the region; with two
//                 candidates it is the exact least loaded. Known to spread
//                 load almost as well as a full scan (Mitzenmacher, 2001)
//                 without reading every peer on every call.
//   lowest_rtt    every candidate's smoothed round-trip time (Peer::srtt_us,
//                 measured on this node's calls to it); unknown (no call yet)
//                 counts as the worst; ties random. One lock per candidate:
//                 regions are small, and the choice must see them all.
//
// A candidate whose connection just closed (weak_ptr expired) is skipped
// by least_loaded and lowest_rtt; if none is left, or random drew it, the
// Choice has no peer and the caller reports NodeDown for `member`.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "fly/call_options.hpp"

namespace fly::net {
class Peer;
}

namespace fly::cluster {

struct Member;

struct Choice {
  const Member* member = nullptr;   ///< never null
  std::shared_ptr<net::Peer> peer;  ///< the pin; null if the connection just closed
};

/// Chooses among `candidates` (non-empty, all remote) per `prefer`.
/// `random_bits` is the only source of randomness (the caller's per-thread
/// generator), so that tests can replay a choice. Thread-safe, takes no mutex
/// (the call tables' size() is a relaxed load); never throws.
Choice choose(std::span<const Member* const> candidates, Prefer prefer, std::uint64_t random_bits);

}  // namespace fly::cluster
