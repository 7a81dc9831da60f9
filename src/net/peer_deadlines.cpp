// Async calls' deadlines: one sweep per connection instead of one timer per
// call. A per-call asio timer costs a timer-queue insert and cancel under the
// reactor's mutex (and a timerfd re-arm) for every call; here a sender only
// compares its deadline with the earliest one already watched.
//
// How: deadline_timer_ waits for the earliest deadline in the call table
// (plus kGranularity, so that calls due close together leave in one sweep).
// A sender whose call is due before anything watched lowers deadline_due_
// and posts arm_deadline_timer() to the strand. When the timer fires, the
// sweep takes every call whose deadline has passed out of the table, sends
// one CANCEL each (in one write), fails them with Errc::timeout, and waits
// for the earliest deadline left. Calls that completed meanwhile are simply
// not in the table any more: with every call using the same timeout, the
// timer fires about once per timeout, whatever the call rate.
//
// Precision: a call times out no earlier than its deadline and at most
// kGranularity (+ scheduling) after it.
//
// Races: the sweep resets deadline_due_ before it reads the table, and a
// sender registers its call before it reads deadline_due_; the table's mutex
// orders the two, so either the sweep sees the call or the sender sees the
// reset (and arms the timer again).
#include <asio/post.hpp>

#include <atomic>
#include <vector>

#include "net/peer.hpp"

namespace fly::net {

namespace {

constexpr auto kGranularity = std::chrono::milliseconds(1);
constexpr Peer::Clock::rep kNone = Peer::Clock::time_point::max().time_since_epoch().count();

// Lowers `due` to `wanted`; true if it did (the timer must then be re-armed).
bool lower(std::atomic<Peer::Clock::rep>& due, Peer::Clock::rep wanted) {
  Peer::Clock::rep seen = due.load(std::memory_order_acquire);
  while (wanted < seen) {
    if (due.compare_exchange_weak(seen, wanted, std::memory_order_acq_rel,
                                  std::memory_order_acquire)) {
      return true;
    }
  }
  return false;
}

}  // namespace

void Peer::watch_deadline(Clock::time_point deadline) {
  if (lower(deadline_due_, deadline.time_since_epoch().count())) {
    asio::post(strand_, [self = shared_from_this()] { self->arm_deadline_timer(); });
  }
}

void Peer::arm_deadline_timer() {
  if (closed_) return;
  const Clock::rep due = deadline_due_.load(std::memory_order_acquire);
  if (due == kNone) return;
  const Clock::time_point at{Clock::duration(due)};
  if (at >= deadline_timer_at_) return;  // the timer fires early enough already
  deadline_timer_at_ = at;
  // expires_at cancels a wait already out (its handler sees operation_aborted).
  deadline_timer_.expires_at(at + kGranularity);
  deadline_timer_.async_wait([self = shared_from_this()](const asio::error_code& ec) {
    if (ec) return;  // re-armed earlier, or closed
    self->sweep_deadlines();
  });
}

void Peer::sweep_deadlines() {
  deadline_timer_at_ = Clock::time_point::max();
  if (closed_) return;
  deadline_due_.store(kNone, std::memory_order_release);
  std::vector<detail::PendingCall*> expired;
  expired.reserve(calls_.size() + 1);  // take_expired must not fail halfway
  const Clock::time_point next = calls_.take_expired(Clock::now(), expired);
  if (!expired.empty()) {
    // Taken out of the table: their completion is ours (PendingCall's contract).
    send([&](detail::Buffer& out) {
      for (const detail::PendingCall* call : expired) wire::encode_cancel(out, call->request_id);
    });
    for (detail::PendingCall* call : expired) call->fail(Errc::timeout, "");
  }
  // Calls registered since the reset may have lowered it already.
  if (next != Clock::time_point::max()) lower(deadline_due_, next.time_since_epoch().count());
  arm_deadline_timer();
}

}  // namespace fly::net
