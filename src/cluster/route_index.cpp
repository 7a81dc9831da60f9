#include "cluster/route_index.hpp"

#include <functional>
#include <map>
#include <utility>

#include "cluster/cluster_view.hpp"

namespace fly::cluster {

std::uint64_t RouteIndex::hash_of(std::string_view region, std::string_view function) noexcept {
  const std::uint64_t r = std::hash<std::string_view>{}(region);
  const std::uint64_t f = std::hash<std::string_view>{}(function);
  return r ^ (f + 0x9E3779B97F4A7C15ULL + (r << 6) + (r >> 2));
}

RouteIndex::RouteIndex(const std::vector<std::shared_ptr<const Member>>& visible) {
  // Publishing is rare (joins, leaves, announces): an ordered map keeps the
  // build simple. `visible` is sorted by name, so each list is too.
  std::map<std::pair<std::string_view, std::string_view>, Candidates> lists;
  for (const auto& m : visible) {
    if (m->is_self || !m->functions) continue;
    for (const std::string& f : *m->functions) lists[{m->region, f}].push_back(m.get());
  }
  if (lists.empty()) return;
  entries_.reserve(lists.size());
  for (auto& [key, members] : lists) {
    entries_.push_back({hash_of(key.first, key.second), std::string(key.first),
                        std::string(key.second), std::move(members)});
  }
  unsigned bits = 1;
  while ((std::size_t{1} << bits) < 2 * entries_.size()) ++bits;
  shift_ = 64 - bits;
  slots_.assign(std::size_t{1} << bits, 0);
  const std::size_t mask = slots_.size() - 1;
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
