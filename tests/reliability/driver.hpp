// A call driver: one thread that keeps up to `max_in_flight` async calls
// outstanding from a client fly::Node, round-robin over regions, and books
// each call's outcome in a Ledger (exactly-once accounting).
//
//   flyrel::Driver d(client, {.regions = {"ams", "lax"}, .calls = 1000, .max_in_flight = 64});
//   d.wait_all_ended(30s);
//   std::cout << d.ledger().report("calls");
//
// Ownership: the ledger and the in-flight semaphore live in state shared with
// every completion handler, so a handler that fires late (after the Driver is
// gone, even after a bug made it late) touches live memory. The client Node
// must outlive the Driver's thread (stop() or the destructor joins it).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "reliability/ledger.hpp"

namespace fly {
class Node;
}

namespace flyrel {

struct DriveSpec {
  enum class Work {
    add,    ///< Kernel.+(i, 1), expects i + 1 (inline on the callee's I/O thread)
    echo,   ///< Echo.bytes(echo_bytes bytes), expects them back
    sleep,  ///< Process.sleep(sleep_ms), on the callee's worker pool
  };
  std::vector<std::string> regions = {};    ///< targets, round-robin; ledger target i = regions[i]
  std::size_t calls = 0;                    ///< how many to issue; 0 = until stop()
  std::size_t max_in_flight = 1;            ///< 1..4096
  std::chrono::milliseconds timeout{2000};  ///< each call's fly::timeout
  /// Pause between two issues: rate limiting for the long-running drivers of
  /// the fault tests (so a region that fails fast is not hammered), never
  /// synchronisation.
  std::chrono::milliseconds pace{0};
  Work work = Work::add;
  std::size_t echo_bytes = 1024;
  std::int64_t sleep_ms = 0;
  /// Called on the driver thread before issuing call number `n` (0-based);
  /// may block (e.g. to wait for a restarted node before the last quarter).
  std::function<void(std::size_t n)> before_issue = {};
};

class Driver {
 public:
  /// Starts the driver thread at once.
  Driver(fly::Node& client, DriveSpec spec);
  /// stop(), then waits (bounded) for nothing: handlers may still fire later
  /// and find their state alive.
  ~Driver();
  Driver(const Driver&) = delete;
  Driver& operator=(const Driver&) = delete;

  /// Stops issuing and joins the thread. Calls in flight still end later.
  void stop();
  /// True once `calls` calls were issued (and the thread has finished).
  bool done_issuing() const { return done_.load(); }
  /// Waits until the thread has finished issuing and every issued call has
  /// ended; false after `timeout`.
  bool wait_all_ended(std::chrono::milliseconds timeout);

  const Ledger& ledger() const;
  /// Calls whose async_rpc_region threw at once instead of delivering the
  /// error to the handler (booked in the ledger like any other ending; the
  /// API promises none, and the load test asserts it).
  std::size_t thrown_at_issue() const;

 private:
  struct State;
  void run();

  fly::Node& client_;
  DriveSpec spec_;
  std::shared_ptr<State> state_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> done_{false};
  std::thread thread_;
};

}  // namespace flyrel
