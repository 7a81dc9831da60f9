// The calls a connection is waiting on, by request id.
//
// A request id is (generation << 32 | slot): slots are reused, generations
// make a late REPLY for a reused slot miss instead of completing the wrong
// call. No allocation once the slot array has grown to the peak number of
// calls in flight. Thread-safe; the lock is held for a few instructions.
#pragma once

#include <cstdint>
#include <mutex>
#include <vector>

#include "fly/detail/pending_call.hpp"

namespace fly::net {

class CallTable {
 public:
  /// Registers `call` and sets call.request_id. False if the table is closed
  /// (the connection is gone).
  bool add(detail::PendingCall& call);
  /// Removes and returns the call with `id`, or nullptr if it is not there
  /// (already completed, withdrawn, or never existed).
  detail::PendingCall* take(std::uint64_t id);
  /// Closes the table and returns every call still in it; later add() fails.
  std::vector<detail::PendingCall*> close();
  /// Calls in flight (a snapshot).
  std::size_t size() const;

 private:
  struct Slot {
    detail::PendingCall* call = nullptr;
    std::uint32_t generation = 0;
  };
  mutable std::mutex mutex_;
  std::vector<Slot> slots_;
  std::vector<std::uint32_t> free_;
  std::size_t in_flight_ = 0;
  bool closed_ = false;
};

}  // namespace fly::net
