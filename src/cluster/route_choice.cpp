#include "cluster/route_choice.hpp"

#include <limits>
#include <utility>

#include "cluster/cluster_view.hpp"
#include "net/peer.hpp"

namespace fly::cluster {

namespace {

// splitmix64: further random numbers from the caller's one, a few
// instructions each (only least_loaded and lowest_rtt need more than one).
std::uint64_t next(std::uint64_t& state) noexcept {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// A number in [0, n) from the high bits of `r` (multiply-shift: no division,
// and the high bits are the best ones of an xorshift* generator).
std::size_t below(std::uint64_t r, std::size_t n) noexcept {
  return static_cast<std::size_t>((static_cast<unsigned __int128>(r) * n) >> 64);
}

Choice pin(const Member* m) {
  return {m, m->peer.lock()};
}

Choice least_loaded(std::span<const Member* const> c, std::uint64_t random_bits) {
  std::uint64_t state = random_bits;
  const std::size_t a = below(random_bits, c.size());
  std::size_t b = below(next(state), c.size() - 1);
  if (b >= a) ++b;  // two distinct candidates
  Choice x = pin(c[a]);
  Choice y = pin(c[b]);
  if (!x.peer) return y.peer ? std::move(y) : std::move(x);
  if (!y.peer) return x;
  // CallTable::size() is one relaxed atomic load per candidate: no lock;
  // a count a moment stale only makes the choice slightly less exact.
  const std::size_t load_x = x.peer->calls().size();
  const std::size_t load_y = y.peer->calls().size();
  if (load_x != load_y) return load_x < load_y ? std::move(x) : std::move(y);
  return (next(state) >> 63) ? std::move(x) : std::move(y);
}

Choice lowest_rtt(std::span<const Member* const> c, std::uint64_t random_bits) {
  std::uint64_t state = random_bits;
  Choice best{c[0], nullptr};
  std::uint64_t best_rtt = 0;
  std::size_t ties = 0;
  for (const Member* m : c) {
    auto peer = m->peer.lock();
    if (!peer) continue;
    const std::uint32_t srtt = peer->srtt_us();
    const std::uint64_t rtt = srtt == 0 ? std::numeric_limits<std::uint64_t>::max() : srtt;
    if (!best.peer || rtt < best_rtt) {
      best = {m, std::move(peer)};
      best_rtt = rtt;
      ties = 1;
    } else if (rtt == best_rtt && below(next(state), ++ties) == 0) {
      best = {m, std::move(peer)};  // reservoir sampling: each tied one with 1/ties
    }
  }
  return best;
}

}  // namespace

Choice choose(std::span<const Member* const> candidates, Prefer prefer, std::uint64_t random_bits) {
  if (candidates.size() == 1) return pin(candidates[0]);
  switch (prefer) {
    case Prefer::least_loaded:
      return least_loaded(candidates, random_bits);
    case Prefer::lowest_rtt:
      return lowest_rtt(candidates, random_bits);
    case Prefer::random:
      break;
  }
  return pin(candidates[below(random_bits, candidates.size())]);
}

}  // namespace fly::cluster
