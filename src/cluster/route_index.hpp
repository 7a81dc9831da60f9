// The routing index of a region table: for each (region, function) the
// members a call may go to. Built once when a view is published, immutable
// afterwards, so any number of threads read it without locks.
//
// Why: rpc_region used to walk a std::map<std::string> to the region, then
// hash the function name once per member of the region (~120 ns). Here a
// lookup hashes the two names once and probes a flat open-addressing table
// (power-of-two size, load factor at most 1/2): no allocation, no division,
// no pointer chasing beyond the one entry.
//
// Memory: one entry per (region, function) exported by at least one other
// visible member, each holding the two names and a vector of Member pointers
// (regions x functions x members pointers in the worst case).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace fly::cluster {

struct Member;

class RouteIndex {
 public:
  /// Visible members of one region that are not this node and export one
  /// function, sorted by name. Never empty.
  using Candidates = std::vector<const Member*>;

  RouteIndex() = default;
  /// Indexes `visible` (this node's own Member, is_self, is skipped: the
  /// local short-circuit is the caller's job). The pointers in the index
  /// point at those members: whoever owns the index must keep `visible`
  /// alive and unchanged (ClusterView owns both).
  explicit RouteIndex(const std::vector<std::shared_ptr<const Member>>& visible);

  /// The candidates for `function` in `region`, or nullptr when no other
  /// visible member of the region exports it (or the region is unknown).
  /// Thread-safe (const, immutable); costs two string hashes and usually one
  /// probe, ~10 ns.
  const Candidates* find(std::string_view region, std::string_view function) const noexcept;

  /// Number of (region, function) pairs indexed.
  std::size_t size() const noexcept { return entries_.size(); }

 private:
  struct Entry {
    std::uint64_t hash = 0;
    std::string region;
    std::string function;
    Candidates members;
  };
  static std::uint64_t hash_of(std::string_view region, std::string_view function) noexcept;
  static std::uint64_t combine(std::uint64_t region_hash, std::uint64_t function_hash) noexcept;
  /// Doubles slots_ (16 at first) and places every entry again.
  void grow();
  std::size_t slot_of(std::uint64_t hash) const noexcept {
    // Fibonacci hashing: the top bits of a multiply, well mixed whatever the
    // quality of the low bits of std::hash.
    return static_cast<std::size_t>((hash * 0x9E3779B97F4A7C15ULL) >> shift_);
  }

  std::vector<Entry> entries_;
  /// Open addressing, linear probing: entry index + 1, 0 = empty.
  std::vector<std::uint32_t> slots_;
  unsigned shift_ = 64;
};

}  // namespace fly::cluster
