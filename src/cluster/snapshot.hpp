// An immutable value published by a writer and read, without locks or
// reference counting, by many threads.
//
// Readers keep a per-thread cached shared_ptr and a version number; a read
// costs one load of the (rarely written) version plus a compare, so it stays
// flat as reader threads are added. Only when the version moved does a reader
// take the writer's mutex to copy the new pointer. An old value is freed when
// the last thread that read it reads again (or exits).
//
// Contract of read(): the reference is valid until the same thread's next
// read() of the same cell. Do not hold it across code that may read the cell
// again (a handler, a nested call): copy what you need first, or use load().
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

namespace fly::cluster {

template <class T>
class SnapshotCell {
 public:
  explicit SnapshotCell(std::shared_ptr<const T> initial)
      : id_(next_id().fetch_add(1, std::memory_order_relaxed)), current_(std::move(initial)) {}

  /// Replaces the value. Thread-safe; O(1).
  void publish(std::shared_ptr<const T> next) {
    std::lock_guard lock(mutex_);
    current_ = std::move(next);
    version_.fetch_add(1, std::memory_order_release);
  }

  /// A counted reference to the current value: safe to keep.
  std::shared_ptr<const T> load() const {
    std::lock_guard lock(mutex_);
    return current_;
  }

  /// The current value, lock-free on the fast path (see the contract above).
  const T& read() const {
    Slot& slot = slots()[id_ % kSlots];
    const std::uint64_t v = version_.load(std::memory_order_acquire);
    if (slot.cell != id_ || slot.version != v || !slot.value) {
      // Read the version before the pointer: if a publish slips in between,
      // the cached version is older than the value and the next read reloads.
      slot.value = std::static_pointer_cast<const void>(load());
      slot.cell = id_;
      slot.version = v;
    }
    return *static_cast<const T*>(slot.value.get());
  }

 private:
  static constexpr std::size_t kSlots = 8;
  struct Slot {
    std::uint64_t cell = 0;
    std::uint64_t version = 0;
    std::shared_ptr<const void> value;
  };
  static Slot* slots() {
    thread_local Slot cache[kSlots];
    return cache;
  }
  static std::atomic<std::uint64_t>& next_id() {
    static std::atomic<std::uint64_t> id{1};
    return id;
  }

  const std::uint64_t id_;
  mutable std::mutex mutex_;
  std::shared_ptr<const T> current_;
  std::atomic<std::uint64_t> version_{1};
};

}  // namespace fly::cluster
