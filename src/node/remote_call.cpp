// The non-template half of a call to another node: blocking calls hand the
// connection the CALL (net::Peer::send_call), wait (Peer::await_reply) and on
// timeout withdraw it (CANCEL); async calls live in an AsyncCall whose
// deadline the connection watches.
// No frame layout here: the connection owns it.
#include "fly/node.hpp"

#include <asio/post.hpp>

#include <atomic>

#include "base/log.hpp"
#include "fly/async.hpp"
#include "node/call_telemetry.hpp"
#include "node/node_core.hpp"

namespace fly {

void Node::send_call(net::Peer& peer, detail::PendingCall& pending, std::string_view function,
                     std::chrono::milliseconds timeout,
                     detail::FunctionRef<void(detail::Buffer&)> encode_args) {
  peer.send_call(pending, function, timeout, encode_args);
}

bool Node::await_reply(net::Peer& peer, std::binary_semaphore& done,
                       std::chrono::steady_clock::time_point deadline) {
  return peer.await_reply(done, deadline);
}

bool Node::withdraw_call(net::Peer& peer, detail::PendingCall& pending, std::string_view function,
                         std::chrono::milliseconds timeout) {
  if (!peer.withdraw_call(pending)) return false;
  if (core_->options.verbose_logging) {
    fly::log::get().warn("flyrpc TIMEOUT {} after {} ms", function, timeout.count());
  }
  return true;
}

// ---- async calls ---------------------------------------------------------------------

namespace detail {

namespace {
// One per thread: the arguments of a thread's next async call go where its
// last call's went. Capacity kept up to kKeepArgsBuffer.
constexpr std::size_t kKeepArgsBuffer = 64 * 1024;
thread_local Buffer spare_args_buffer;
}  // namespace

Buffer args_buffer() noexcept {
  Buffer b = std::move(spare_args_buffer);
  b.clear();
  return b;
}

void recycle_args_buffer(Buffer&& buffer) noexcept {
  buffer.shrink_if_above(kKeepArgsBuffer);
  spare_args_buffer = std::move(buffer);
}

}  // namespace detail

namespace {

// An async call in flight: one heap object with two references, its
// completion's and start_async's (send_call reads the call and its name after
// registering it, when a reply, the connection's end or the deadline sweep may
// already have completed it on another thread). Completed once — by the reply
// (complete), the connection's end or its deadline sweep (fail), or a failure
// to send (fail_now); deleted by whichever of the two lets go last. No timer
// of its own: the connection times it out (PendingCall::deadline,
// net/peer_deadlines.cpp). Holds the route, so the pinned connection and the
// node name it points into outlive the call.
class AsyncCall final : public detail::PendingCall {
 public:
  AsyncCall(detail::NodeCore& core, detail::Route route, std::string function,
            detail::AsyncDone done, std::chrono::milliseconds timeout,
            std::chrono::steady_clock::time_point started)
      : core_(core),
        route_(std::move(route)),
        function_(std::move(function)),
        done_(std::move(done)),
        timeout_(timeout) {
    sent_at = started;  // the telemetry's start doubles as the round-trip's
    deadline = deadline_after(started, timeout);
  }

  void complete(Errc status, std::span<const char> body) noexcept override {
    if (status == Errc::ok) {
      finish(nullptr, body);
    } else {
      finish(detail::make_call_error(status, body, route_.node, function_, timeout_), {});
    }
  }

  void fail(Errc code, std::string_view reason) noexcept override {
    finish(detail::make_call_error(code, {reason.data(), reason.size()}, route_.node, function_,
                                   timeout_),
           {});
  }

  /// The function's name, owned by the call until it completes: what
  /// PendingCall::function_name may point to.
  const std::string& function() const noexcept { return function_; }

  /// The CALL could not be sent (send_call threw; the call was never left
  /// registered): completes with `error`.
  void fail_now(std::exception_ptr error) noexcept { finish(std::move(error), {}); }

  /// Drops one of the two references; the last deletes the call.
  void release() noexcept {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

 private:
  // Saturates: a timeout of years means no deadline, not a wrapped one.
  static std::chrono::steady_clock::time_point deadline_after(
      std::chrono::steady_clock::time_point start, std::chrono::milliseconds timeout) {
    using Clock = std::chrono::steady_clock;
    const auto room =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::time_point::max() - start);
    return timeout >= room ? Clock::time_point::max() : start + timeout;
  }

  // Telemetry, then the caller's completion (which decodes the result and
  // hands the handler to its executor); then the call is gone. The end time
  // is the reply's arrival (replied_at), or now for a failure.
  void finish(std::exception_ptr e, std::span<const char> body) noexcept {
    detail::record_call_error(core_, route_, function_, sent_at, replied_at, e);
    try {
      done_(std::move(e), body, function_);
    } catch (const std::exception& ex) {
      fly::log::get().error("flyrpc: async completion handler threw: {}", ex.what());
    }
    release();  // may delete this: nothing after it
  }

  detail::NodeCore& core_;
  detail::Route route_;
  std::string function_;
  detail::AsyncDone done_;
  std::chrono::milliseconds timeout_;
  std::atomic<int> refs_{2};
};

}  // namespace

void Node::start_async(detail::AsyncStart start, detail::AsyncDone user_done) {
  auto& c = *core_;
  // Telemetry: the call ends when its completion runs (before the result is
  // decoded and the handler dispatched to its executor).
  const auto started = record_call_start(start.route, start.function);
  if (start.route.local != nullptr) {
    detail::AsyncDone done = [this, route = start.route, started, user_done = std::move(user_done)](
                                 std::exception_ptr e, std::span<const char> body,
                                 std::string_view fn) mutable {
      record_call_error(route, fn, started, e);
      user_done(std::move(e), body, fn);
    };
    asio::post(c.workers, [this, s = std::move(start), done = std::move(done)]() mutable {
      detail::Buffer out;
      try {
        FunctionRegistry::invoke_entry(*s.route.local, name(), s.args.view(), out);
      } catch (...) {
        done(std::current_exception(), {}, s.function);
        return;
      }
      done(nullptr, out.view(), s.function);
    });
    return;
  }
  const auto timeout = effective_timeout(start.options);
  net::Peer& peer = *start.route.peer;
  auto* call = new AsyncCall(c, std::move(start.route), std::move(start.function),
                             std::move(user_done), timeout, started);
  try {
    // The call's own copy of the name: the verbose RESP line reads it when
    // the reply comes, long after `start` is gone.
    send_call(peer, *call, call->function(), timeout,
              [&](detail::Buffer& out) { out.write(start.args.data(), start.args.size()); });
  } catch (...) {
    // Arguments over the frame size: delivered like every other outcome
    // (posted, see NodeAsync::deliver), never thrown out of the initiation.
    call->fail_now(std::current_exception());
  }
  call->release();
  detail::recycle_args_buffer(std::move(start.args));  // copied into the connection's queue
}

}  // namespace fly
