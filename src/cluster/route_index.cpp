#include "cluster/route_index.hpp"

#include <algorithm>
#include <functional>
#include <iterator>
#include <utility>

#include "cluster/cluster_view.hpp"

namespace fly::cluster {

std::uint64_t RouteIndex::combine(std::uint64_t region_hash, std::uint64_t function_hash) noexcept {
  const std::uint64_t r = region_hash;
  return r ^ (function_hash + 0x9E3779B97F4A7C15ULL + (r << 6) + (r >> 2));
}

std::uint64_t RouteIndex::hash_of(std::string_view region, std::string_view function) noexcept {
  return combine(std::hash<std::string_view>{}(region), std::hash<std::string_view>{}(function));
}

RouteIndex::RouteIndex(const std::vector<std::shared_ptr<const Member>>& visible) {
  // Built on every publish (each join, leave and announce): a mass start of n
  // nodes builds ~n² indexes of up to n × functions pairs in all, which made
  // this the largest user-space cost of a 128-node start. Members of a region
  // that share one function set (an application's nodes all export the same
  // functions, and the cluster shares equal sets) are indexed together: each
  // (region, function) is hashed and probed once per group, and its members
  // appended. Groups are few (regions × distinct sets): a linear search.
  struct Group {
    std::string_view region;
    const FunctionSet* functions;
    Candidates members;  // sorted by name: `visible` is
  };
  std::vector<Group> groups;
  for (const auto& m : visible) {
    if (m->is_self || !m->functions) continue;
    auto g = std::find_if(groups.begin(), groups.end(), [&](const Group& group) {
      return group.functions == m->functions.get() && group.region == m->region;
    });
    if (g == groups.end()) {
      groups.push_back({m->region, m->functions.get(), {}});
      g = std::prev(groups.end());
    }
    g->members.push_back(m.get());
  }
  // An entry fed by two groups (one region, two function sets) is sorted by
  // name at the end; with one set per region, none is.
  std::vector<std::uint32_t> fed_by;  // the group that made each entry
  bool unsorted = false;
  for (std::uint32_t gi = 0; gi < groups.size(); ++gi) {
    const Group& group = groups[gi];
    const std::uint64_t region_hash = std::hash<std::string_view>{}(group.region);
    for (const std::string& f : *group.functions) {
      const std::uint64_t hash = combine(region_hash, std::hash<std::string_view>{}(f));
      if (2 * (entries_.size() + 1) > slots_.size()) grow();
      const std::size_t mask = slots_.size() - 1;
      for (std::size_t s = slot_of(hash);; s = (s + 1) & mask) {
        const std::uint32_t i = slots_[s];
        if (i == 0) {
          entries_.push_back({hash, std::string(group.region), f, group.members});
          fed_by.push_back(gi);
          slots_[s] = static_cast<std::uint32_t>(entries_.size());
          break;
        }
        Entry& e = entries_[i - 1];
        if (e.hash == hash && e.region == group.region && e.function == f) {
          e.members.insert(e.members.end(), group.members.begin(), group.members.end());
          if (fed_by[i - 1] != gi) unsorted = true;
          break;
        }
      }
    }
  }
  if (unsorted) {
    for (Entry& e : entries_) {
      std::sort(e.members.begin(), e.members.end(),
                [](const Member* a, const Member* b) { return a->name < b->name; });
    }
  }
}

void RouteIndex::grow() {
  const std::size_t size = slots_.empty() ? 16 : 2 * slots_.size();
  unsigned bits = 0;
  while ((std::size_t{1} << bits) < size) ++bits;
  shift_ = 64 - bits;
  slots_.assign(size, 0);
  const std::size_t mask = size - 1;
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    std::size_t s = slot_of(entries_[i].hash);
    while (slots_[s] != 0) s = (s + 1) & mask;
    slots_[s] = static_cast<std::uint32_t>(i + 1);
  }
}

const RouteIndex::Candidates* RouteIndex::find(std::string_view region,
                                               std::string_view function) const noexcept {
  if (slots_.empty()) return nullptr;
  const std::uint64_t hash = hash_of(region, function);
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t s = slot_of(hash);; s = (s + 1) & mask) {
    const std::uint32_t i = slots_[s];
    if (i == 0) return nullptr;  // at most half full: an empty slot ends every probe
    const Entry& e = entries_[i - 1];
    if (e.hash == hash && e.region == region && e.function == function) return &e.members;
  }
}

}  // namespace fly::cluster
