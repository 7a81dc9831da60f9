// A map from a label set (two strings) to a series of atomic counters, built
// for the call path: find() takes no lock, does not allocate and does not
// write shared memory; only the first sighting of a label set takes a mutex.
//
// How: series are never removed (label values are capped by the caller, so
// the table is bounded). They live in an open-addressing array of atomic
// pointers, kept at most half full, published through an atomic pointer.
// Inserting stores a pointer into a free slot; growing copies the pointers into
// an array twice the size and publishes it. Old arrays are retired, not freed,
// until the table dies, so a reader still probing one is safe; their total size
// is less than the current array's (a geometric series).
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fly::telemetry {

template <class Series>
class SeriesTable {
 public:
  /// A series and its label set, as first seen (raw, unescaped).
  struct Node {
    Node(std::string a, std::string b, std::size_t h)
        : first(std::move(a)), second(std::move(b)), hash(h) {}
    const std::string first;
    const std::string second;
    const std::size_t hash;
    Series series;
  };

  SeriesTable() { publish(std::make_unique<Slots>(initial_capacity)); }
  SeriesTable(const SeriesTable&) = delete;
  SeriesTable& operator=(const SeriesTable&) = delete;

  /// The series of (a, b), or nullptr if it was never inserted. Lock-free,
  /// allocation-free, safe against concurrent insert(). May miss a series
  /// inserted concurrently; insert() then finds it.
  Series* find(std::string_view a, std::string_view b) const noexcept {
    return find_in(*slots_.load(std::memory_order_acquire), a, b, hash_of(a, b));
  }

  /// The series of (a, b), created with `init(series)` if new. Takes the
  /// mutex and allocates when new.
  template <class Init>
  Series& insert(std::string_view a, std::string_view b, Init&& init) {
    std::lock_guard lock(mutex_);
    const std::size_t h = hash_of(a, b);
    Slots* current = slots_.load(std::memory_order_relaxed);
    if (Series* s = find_in(*current, a, b, h)) return *s;
    auto node = std::make_unique<Node>(std::string(a), std::string(b), h);
    init(node->series);
    Node* raw = node.get();
    nodes_.push_back(std::move(node));
    count_.store(nodes_.size(), std::memory_order_relaxed);
    if (nodes_.size() * 2 > current->size) {
      auto bigger = std::make_unique<Slots>(current->size * 2);
      for (const auto& n : nodes_) place(*bigger, n.get());
      publish(std::move(bigger));
    } else {
      place(*current, raw);
    }
    return raw->series;
  }

  /// Number of series. Lock-free.
  std::size_t size() const noexcept { return count_.load(std::memory_order_relaxed); }

  /// Calls f(const Node&) for every series, in insertion order, under the
  /// mutex (inserts wait; find() does not). For rendering.
  template <class F>
  void for_each(F&& f) const {
    std::lock_guard lock(mutex_);
    for (const auto& n : nodes_) f(static_cast<const Node&>(*n));
  }

 private:
  static constexpr std::size_t initial_capacity = 64;  // a power of two

  struct Slots {
    explicit Slots(std::size_t n) : size(n), slot(std::make_unique<std::atomic<Node*>[]>(n)) {}
    const std::size_t size;
    std::unique_ptr<std::atomic<Node*>[]> slot;  // value-initialised: all nullptr
  };

  // One std::hash per lookup on the call path: the second label (a region,
  // "" for handlers) is short, so up to 8 bytes of it are mixed in directly
  // (a multiply, no call). Collisions only cost a probe: find_in compares.
  static std::size_t hash_of(std::string_view a, std::string_view b) noexcept {
    const std::size_t ha = std::hash<std::string_view>{}(a);
    std::uint64_t hb;
    if (b.size() <= 8) {
      std::uint64_t bytes = 0;
      if (!b.empty()) std::memcpy(&bytes, b.data(), b.size());
      hb = (bytes ^ (static_cast<std::uint64_t>(b.size()) << 59)) * 0x9e3779b97f4a7c15ULL;
      hb ^= hb >> 29;
    } else {
      hb = std::hash<std::string_view>{}(b);
    }
    return ha ^ (hb + 0x9e3779b97f4a7c15ULL + (ha << 6) + (ha >> 2));
  }

  static Series* find_in(const Slots& s, std::string_view a, std::string_view b,
                         std::size_t h) noexcept {
    const std::size_t mask = s.size - 1;
    // Terminates: the array is never more than half full.
    for (std::size_t i = h & mask;; i = (i + 1) & mask) {
      Node* n = s.slot[i].load(std::memory_order_acquire);
      if (n == nullptr) return nullptr;
      if (n->hash == h && n->first == a && n->second == b) return &n->series;
    }
  }

  static void place(Slots& s, Node* n) noexcept {
    const std::size_t mask = s.size - 1;
    std::size_t i = n->hash & mask;
    while (s.slot[i].load(std::memory_order_relaxed) != nullptr) i = (i + 1) & mask;
    s.slot[i].store(n, std::memory_order_release);  // publishes the node's contents
  }

  void publish(std::unique_ptr<Slots> s) {
    slots_.store(s.get(), std::memory_order_release);
    arrays_.push_back(std::move(s));
  }

  mutable std::mutex mutex_;                    // serialises insert and for_each
  std::atomic<Slots*> slots_{nullptr};          // the current array
  std::atomic<std::size_t> count_{0};           // nodes_.size(), read without the mutex
  std::vector<std::unique_ptr<Node>> nodes_;    // owns every series
  std::vector<std::unique_ptr<Slots>> arrays_;  // current and retired arrays
};

}  // namespace fly::telemetry
