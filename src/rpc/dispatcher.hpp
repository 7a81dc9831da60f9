// The callee side of calls: looks the function up, runs it (inline on the
// I/O thread when exposed non-blocking, else on the worker pool), and sends
// exactly one REPLY — unless the caller cancelled first.
#pragma once

#include <asio/thread_pool.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "fly/function.hpp"
#include "net/peer.hpp"

namespace fly::telemetry {
class NodeMetrics;
}

namespace fly::rpc {

class Dispatcher final : public net::CallHandler {
 public:
  /// `metrics` receives the time each invocation takes (handler_finished); it
  /// must outlive the Dispatcher.
  Dispatcher(FunctionRegistry& functions, asio::thread_pool& workers,
             telemetry::NodeMetrics& metrics, std::size_t max_frame_size, bool verbose);

  void on_call(const std::shared_ptr<net::Peer>& peer, const wire::CallView& call) override;
  void on_cancel(const std::shared_ptr<net::Peer>& peer, std::uint64_t request_id) override;
  /// Cancels every call `peer` brought (queued ones are skipped, running ones
  /// see fly::this_call::cancelled()), as if a CANCEL had come for each: the
  /// caller is gone, so no REPLY is sent. One lookup of the range of
  /// running_ keyed by the connection; nothing is paid per call.
  void on_connection_closed(const std::shared_ptr<net::Peer>& peer,
                            const std::string& reason) override;
  /// One lookup of the range of running_ keyed by the connection, under the lock.
  bool serving(const net::Peer& peer) const override;

  /// From now on, new calls are refused with `unavailable` ("node is stopping").
  void begin_stopping() noexcept { stopping_.store(true, std::memory_order_release); }
  /// Waits until no handler runs or is queued, up to `timeout`; false if some remain.
  bool drain(std::chrono::milliseconds timeout);
  /// Handlers running or queued.
  std::size_t in_flight() const noexcept { return in_flight_.load(std::memory_order_acquire); }
  /// Cancels every call queued or running, whoever brought it (stop(), at
  /// drain_timeout); returns how many there were.
  std::size_t cancel_all();

 private:
  struct Inbound;
  void run(const std::shared_ptr<Inbound>& call);
  /// Runs `entry` on `args` and sends the REPLY to `peer`.
  void invoke_and_reply(net::Peer& peer, std::uint64_t id, const detail::FunctionEntry& entry,
                        std::span<const char> args, const std::atomic<bool>* cancelled = nullptr);
  static void reply_error(net::Peer& peer, std::uint64_t id, Errc status,
                          std::initializer_list<std::string_view> strings);
  void finished();

  FunctionRegistry& functions_;
  asio::thread_pool& workers_;
  telemetry::NodeMetrics& metrics_;
  const std::size_t max_frame_size_;
  const bool verbose_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> in_flight_{0};
  mutable std::mutex mutex_;
  std::condition_variable drained_;
  /// Calls queued or running on workers, by (peer id, request id), for CANCEL.
  std::map<std::pair<std::uint64_t, std::uint64_t>, std::shared_ptr<Inbound>> running_;
};

}  // namespace fly::rpc
