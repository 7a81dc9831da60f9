// A call waiting for its reply, and the blocking waiter used by rpc_region.
//
// Contract: a PendingCall registered with a connection is completed exactly
// once, by whoever first takes it out of the connection's call table: the
// I/O thread that read its REPLY (complete), the thread that closed the
// connection (fail), or the caller that timed out (which then completes it
// itself). Completion never happens under a lock of the call table.
//
// A blocking caller may read its own connection while it waits (Peer::
// await_reply, leader/follower): it then completes, on its own thread, the
// REPLYs it reads for calls whose `completes_on_any_thread` is set — blocking
// waiters, its own and other callers'. Async calls complete on I/O threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <optional>
#include <semaphore>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

#include "fly/detail/codec.hpp"
#include "fly/errors.hpp"

namespace fly::detail {

class PendingCall {
 public:
  virtual ~PendingCall() = default;
  /// A REPLY arrived: `status` and the raw body (PROTOCOL.md). Runs on an
  /// I/O thread; `body` is valid only during the call.
  virtual void complete(Errc status, std::span<const char> body) noexcept = 0;
  /// The call cannot complete: the connection died (node_down) or the node
  /// is stopping (cancelled), or its `deadline` passed (timeout; async calls
  /// only, after their CANCEL was sent). `reason` is one line for the error
  /// message.
  virtual void fail(Errc code, std::string_view reason) noexcept = 0;

  std::uint64_t request_id = 0;  ///< set when registered
  /// When the call was sent (round-trip time): set by the caller before
  /// Peer::send_call (the clock read it already made for telemetry), or by
  /// send_call when left at the epoch.
  std::chrono::steady_clock::time_point sent_at{};
  /// When the connection read the REPLY: set just before complete(), so
  /// that the completion's telemetry needs no clock read of its own.
  std::chrono::steady_clock::time_point replied_at{};
  /// Async calls: when the connection's deadline sweep times the call out
  /// (takes it back, sends CANCEL, then fail(Errc::timeout)). max(): never,
  /// for blocking calls, which time out on their own thread.
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  std::string_view function_name;  ///< set when sent; valid until completion (verbose logs)
  /// complete()/fail() may run on any thread, including another blocking
  /// caller's (set by BlockingCall; false for async calls).
  bool completes_on_any_thread = false;
};

/// Builds the exception for a non-ok REPLY status or a failure. Never throws.
std::exception_ptr make_call_error(Errc status, std::span<const char> body, std::string_view node,
                                   std::string_view function,
                                   std::chrono::milliseconds timeout) noexcept;

/// The waiter of a blocking call: lives on the caller's stack, allocates
/// nothing, and wakes the caller through a futex-backed semaphore.
template <class R>
class BlockingCall final : public PendingCall {
 public:
  BlockingCall(std::string_view node, std::string_view function, std::chrono::milliseconds timeout)
      : node_(node), function_(function), timeout_(timeout) {
    completes_on_any_thread = true;
  }

  void complete(Errc status, std::span<const char> body) noexcept override {
    if (status == Errc::ok) {
      decode(body);
    } else {
      error_ = make_call_error(status, body, node_, function_, timeout_);
    }
    done_.release();
  }

  void fail(Errc code, std::string_view reason) noexcept override {
    error_ = make_call_error(code, {reason.data(), reason.size()}, node_, function_, timeout_);
    done_.release();
  }

  /// Released once, by complete() or fail(). The caller waits on it through
  /// Peer::await_reply (which may read the connection meanwhile), or with
  /// wait() for a completion already known to be under way.
  std::binary_semaphore& done() noexcept { return done_; }
  void wait() { done_.acquire(); }

  /// The result, or throws the call's error.
  R take() {
    if (error_) std::rethrow_exception(error_);
    if constexpr (!std::is_void_v<R>) return std::move(*value_);
  }

 private:
  void decode(std::span<const char> body) noexcept {
    try {
      msgpack::zone& zone = scratch_zone();
      msgpack::object o;
      std::string error;
      if (!decode_value(zone, body.data(), body.size(), o, error)) {
        error_ = std::make_exception_ptr(
            ProtocolError("undecodable result of " + std::string(function_) + ": " + error));
        return;
      }
      if constexpr (std::is_void_v<R>) {
        (void)o;
      } else {
        value_.emplace(convert_result<R>(o, function_));
      }
    } catch (...) {
      error_ = std::current_exception();
    }
  }

  std::string_view node_;
  std::string_view function_;
  std::chrono::milliseconds timeout_;
  std::binary_semaphore done_{0};
  std::exception_ptr error_;
  std::conditional_t<std::is_void_v<R>, char, std::optional<R>> value_{};
};

}  // namespace fly::detail
