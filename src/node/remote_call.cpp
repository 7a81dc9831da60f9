// The non-template half of a call to another node: blocking calls hand the
// connection the CALL (net::Peer::send_call), wait (Peer::await_reply) and on
// timeout withdraw it (CANCEL); async calls live in an AsyncCall with a timer.
// No frame layout here: the connection owns it.
#include "fly/node.hpp"

#include <asio/steady_timer.hpp>

#include "base/log.hpp"
#include "fly/async.hpp"
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

namespace {

// An async call in flight: owned by itself (self_) until completed once, by
// the reply, the connection's failure, or its timer.
class AsyncCall final : public detail::PendingCall, public std::enable_shared_from_this<AsyncCall> {
 public:
  using Done =
      detail::UniqueFunction<void(std::exception_ptr, std::span<const char>, std::string_view)>;

  AsyncCall(asio::io_context& io, Done done, std::string function, std::string node,
            std::shared_ptr<const void> keep, net::Peer& peer, std::chrono::milliseconds timeout)
      : done_(std::move(done)),
        function_(std::move(function)),
        node_(std::move(node)),
        keep_(std::move(keep)),
        peer_(peer),
        timeout_(timeout),
        timer_(io) {}

  void arm(std::shared_ptr<AsyncCall> self) {
    self_ = self;
    timer_.expires_after(timeout_);
    timer_.async_wait([weak = std::weak_ptr<AsyncCall>(self)](const asio::error_code& ec) {
      if (ec) return;
      if (auto call = weak.lock()) call->on_timeout();
    });
  }

  void complete(Errc status, std::span<const char> body) noexcept override {
    if (status == Errc::ok) {
      finish(nullptr, body);
    } else {
      finish(detail::make_call_error(status, body, node_, function_, timeout_), {});
    }
  }

  void fail(Errc code, std::string_view reason) noexcept override {
    finish(
        detail::make_call_error(code, {reason.data(), reason.size()}, node_, function_, timeout_),
        {});
  }

  /// The function's name, owned by the call until it completes: what
  /// PendingCall::function_name may point to.
  const std::string& function() const noexcept { return function_; }

  /// The CALL could not be sent (send_call threw; the call was never left
  /// registered): completes with `error`.
  void fail_now(std::exception_ptr error) noexcept { finish(std::move(error), {}); }

 private:
  void on_timeout() {
    if (!peer_.withdraw_call(*this)) return;  // completing right now
    finish(std::make_exception_ptr(Timeout(function_, node_, timeout_)), {});
  }

  void finish(std::exception_ptr e, std::span<const char> body) noexcept {
    asio::error_code ignored;
    timer_.cancel();
    try {
      done_(std::move(e), body, function_);
    } catch (const std::exception& ex) {
      fly::log::get().error("flyrpc: async completion handler threw: {}", ex.what());
    }
    self_.reset();  // may destroy this object: nothing after it
  }

  Done done_;
  std::string function_;
  std::string node_;
  std::shared_ptr<const void> keep_;
  net::Peer& peer_;
  std::chrono::milliseconds timeout_;
  asio::steady_timer timer_;
  std::shared_ptr<AsyncCall> self_;
};

}  // namespace

void Node::start_async(detail::AsyncStart start, detail::AsyncDone user_done) {
  auto& c = *core_;
  // Telemetry: the call ends when its completion runs (before the result is
  // decoded and the handler dispatched to its executor).
  const auto started = record_call_start(start.route, start.function);
  detail::AsyncDone done = [this, route = start.route, started, user_done = std::move(user_done)](
                               std::exception_ptr e, std::span<const char> body,
                               std::string_view fn) mutable {
    record_call_error(route, fn, started, e);
    user_done(std::move(e), body, fn);
  };
  if (start.route.local != nullptr) {
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
  auto call =
      std::make_shared<AsyncCall>(c.io, std::move(done), start.function,
                                  std::string(start.route.node), start.route.keep, peer, timeout);
  call->arm(call);
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
}

}  // namespace fly
