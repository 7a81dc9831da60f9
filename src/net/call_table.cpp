#include "net/call_table.hpp"

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
  ++in_flight_;
  call.request_id = (static_cast<std::uint64_t>(slot.generation) << 32) | index;
  return true;
}

detail::PendingCall* CallTable::take(std::uint64_t id) {
  const auto index = static_cast<std::uint32_t>(id & 0xffffffffu);
  const auto generation = static_cast<std::uint32_t>(id >> 32);
  std::lock_guard lock(mutex_);
  if (index >= slots_.size()) return nullptr;
  Slot& slot = slots_[index];
  if (slot.call == nullptr || slot.generation != generation) return nullptr;
  detail::PendingCall* call = slot.call;
  slot.call = nullptr;
  free_.push_back(index);
  --in_flight_;
  return call;
}

std::vector<detail::PendingCall*> CallTable::close() {
  std::lock_guard lock(mutex_);
  closed_ = true;
  std::vector<detail::PendingCall*> calls;
  calls.reserve(in_flight_);
  for (Slot& slot : slots_) {
    if (slot.call != nullptr) calls.push_back(std::exchange(slot.call, nullptr));
  }
  in_flight_ = 0;
  return calls;
}

std::size_t CallTable::size() const {
  std::lock_guard lock(mutex_);
  return in_flight_;
}

}  // namespace fly::net
