// The calls a connection is waiting on, by request id.
//
// A request id is (generation << 32 | slot): slots are reused, generations
// make a late REPLY for a reused slot miss instead of completing the wrong
// call. No allocation once the slot array has grown to the peak number of
// calls in flight. Thread-safe; the lock is held for a few instructions.
#pragma once

#include <atomic>
#include <chrono>
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
  /// As take(), for a caller reading the connection itself: a call that must
  /// complete on an I/O thread (!completes_on_any_thread) stays in the table
  /// and `io_thread_only` is set.
  detail::PendingCall* take_for_any_thread(std::uint64_t id, bool& io_thread_only);
  /// Removes the calls whose deadline is at or before `now` and appends them
  /// to `expired` (the caller then owns their completion). Returns the
  /// earliest deadline of the calls left (max(): none). Walks every slot
  /// under the lock: meant for a sweep that runs once per deadline, not per call.
  std::chrono::steady_clock::time_point take_expired(std::chrono::steady_clock::time_point now,
                                                     std::vector<detail::PendingCall*>& expired);
  /// Closes the table and returns every call still in it; later add() fails.
  std::vector<detail::PendingCall*> close();
  /// Calls in flight (a snapshot, read without the lock).
  std::size_t size() const noexcept { return in_flight_.load(std::memory_order_relaxed); }
  /// Calls ever added (a snapshot, read without the lock): whether calls went
  /// out since the last look (the idle check of lazy connections).
  std::uint64_t added() const noexcept { return added_.load(std::memory_order_relaxed); }

 private:
  detail::PendingCall* take_if(std::uint64_t id, bool any_thread_only, bool& io_thread_only);

  struct Slot {
    detail::PendingCall* call = nullptr;
    std::uint32_t generation = 0;
  };
  mutable std::mutex mutex_;
  std::vector<Slot> slots_;
  std::vector<std::uint32_t> free_;
  std::atomic<std::size_t> in_flight_{0};  // written under mutex_
  std::atomic<std::uint64_t> added_{0};    // written under mutex_: a plain store, no locked add
  bool closed_ = false;
};

}  // namespace fly::net
