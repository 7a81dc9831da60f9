#include "net/call_table.hpp"

#include <algorithm>
#include <utility>

namespace fly::net {

bool CallTable::add(detail::PendingCall& call) {
  std::lock_guard lock(mutex_);
  if (closed_) return false;
  std::uint32_t index;
  if (!free_.empty()) {
    index = free_.back();
    free_.pop_back();
  } else {
    index = static_cast<std::uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  Slot& slot = slots_[index];
  ++slot.generation;
  slot.call = &call;
  in_flight_.fetch_add(1, std::memory_order_relaxed);
  added_.store(added_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  call.request_id = (static_cast<std::uint64_t>(slot.generation) << 32) | index;
  return true;
}

detail::PendingCall* CallTable::take(std::uint64_t id) {
  bool unused = false;
  return take_if(id, false, unused);
}

detail::PendingCall* CallTable::take_for_any_thread(std::uint64_t id, bool& io_thread_only) {
  return take_if(id, true, io_thread_only);
}

detail::PendingCall* CallTable::take_if(std::uint64_t id, bool any_thread_only,
                                        bool& io_thread_only) {
  const auto index = static_cast<std::uint32_t>(id & 0xffffffffu);
  const auto generation = static_cast<std::uint32_t>(id >> 32);
  std::lock_guard lock(mutex_);
  if (index >= slots_.size()) return nullptr;
  Slot& slot = slots_[index];
  if (slot.call == nullptr || slot.generation != generation) return nullptr;
  if (any_thread_only && !slot.call->completes_on_any_thread) {
    io_thread_only = true;
    return nullptr;
  }
  detail::PendingCall* call = slot.call;
  slot.call = nullptr;
  free_.push_back(index);
  in_flight_.fetch_sub(1, std::memory_order_relaxed);
  return call;
}

std::chrono::steady_clock::time_point CallTable::take_expired(
    std::chrono::steady_clock::time_point now, std::vector<detail::PendingCall*>& expired) {
  auto next = std::chrono::steady_clock::time_point::max();
  std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    Slot& slot = slots_[i];
    if (slot.call == nullptr) continue;
    if (slot.call->deadline > now) {
      next = std::min(next, slot.call->deadline);
      continue;
    }
    expired.push_back(std::exchange(slot.call, nullptr));
    free_.push_back(static_cast<std::uint32_t>(i));
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
  }
  return next;
}

std::vector<detail::PendingCall*> CallTable::close() {
  std::lock_guard lock(mutex_);
  closed_ = true;
  std::vector<detail::PendingCall*> calls;
  calls.reserve(in_flight_.load(std::memory_order_relaxed));
  for (Slot& slot : slots_) {
    if (slot.call != nullptr) calls.push_back(std::exchange(slot.call, nullptr));
  }
  in_flight_.store(0, std::memory_order_relaxed);
  return calls;
}

}  // namespace fly::net
