#include "rpc/dispatcher.hpp"

#include <fmt/format.h>
#include <asio/post.hpp>
#include "base/log.hpp"

#include "rpc/call_context.hpp"
#include "telemetry/node_metrics.hpp"

namespace fly::rpc {

namespace {
// A thread's result buffer keeps up to this much capacity between calls (no
// allocation per call); a larger one, grown by a rare big result, is freed.
constexpr std::size_t kKeepResultBuffer = 1024 * 1024;
}  // namespace

struct Dispatcher::Inbound {
  std::shared_ptr<net::Peer> peer;
  std::uint64_t id = 0;
  const detail::FunctionEntry* entry = nullptr;
  std::chrono::steady_clock::time_point deadline;
  detail::Buffer args;
  std::atomic<bool> cancelled{false};
};

Dispatcher::Dispatcher(FunctionRegistry& functions, asio::thread_pool& workers,
                       telemetry::NodeMetrics& metrics, std::size_t max_frame_size, bool verbose)
    : functions_(functions),
      workers_(workers),
      metrics_(metrics),
      max_frame_size_(max_frame_size),
      verbose_(verbose) {}

void Dispatcher::reply_error(net::Peer& peer, std::uint64_t id, Errc status,
                             std::initializer_list<std::string_view> strings) {
  peer.send_reply(id, status, strings);
}

void Dispatcher::on_call(const std::shared_ptr<net::Peer>& peer, const wire::CallView& call) {
  if (stopping_.load(std::memory_order_acquire)) {
    reply_error(*peer, call.request_id, Errc::unavailable, {"node is stopping"});
    return;
  }
  const detail::FunctionEntry* entry = functions_.find(call.function);
  if (entry == nullptr) {
    reply_error(*peer, call.request_id, Errc::unknown_function, {});
    return;
  }
  if (verbose_) {
    fly::log::get().info("flyrpc RECV {}/{} from {} ({})", entry->name(), entry->arity(),
                         peer->peer_hello().name, peer->peer_hello().region);
  }
  const auto now = std::chrono::steady_clock::now();
  const auto deadline = call.timeout_ms == 0 ? std::chrono::steady_clock::time_point::max()
                                             : now + std::chrono::milliseconds(call.timeout_ms);
  if (entry->non_blocking()) {
    CallContext context{deadline, nullptr, peer->peer_hello().name};
    ScopedCallContext scope(context);
    invoke_and_reply(*peer, call.request_id, *entry, call.args);
    return;
  }
  auto inbound = std::make_shared<Inbound>();
  inbound->peer = peer;
  inbound->id = call.request_id;
  inbound->entry = entry;
  inbound->deadline = deadline;
  inbound->args.write(call.args.data(), call.args.size());
  in_flight_.fetch_add(1, std::memory_order_acq_rel);
  {
    std::lock_guard lock(mutex_);
    running_[{peer->id(), call.request_id}] = inbound;
  }
  asio::post(workers_, [this, inbound] { run(inbound); });
}

void Dispatcher::run(const std::shared_ptr<Inbound>& call) {
  // The caller has given up: do not run (and do not reply) for nothing.
  const bool skip = call->cancelled.load(std::memory_order_acquire) ||
                    std::chrono::steady_clock::now() >= call->deadline;
  if (!skip) {
    CallContext context{call->deadline, &call->cancelled, call->peer->peer_hello().name};
    ScopedCallContext scope(context);
    invoke_and_reply(*call->peer, call->id, *call->entry, call->args.view(), &call->cancelled);
  }
  {
    std::lock_guard lock(mutex_);
    running_.erase({call->peer->id(), call->id});
  }
  finished();
}

void Dispatcher::invoke_and_reply(net::Peer& peer, std::uint64_t id,
                                  const detail::FunctionEntry& entry, std::span<const char> args,
                                  const std::atomic<bool>* cancelled) {
  msgpack::zone& zone = detail::scratch_zone();
  msgpack::object decoded;
  std::string error;
  if (!detail::decode_value(zone, args.data(), args.size(), decoded, error)) {
    reply_error(peer, id, Errc::bad_arguments, {entry.signature(), error});
    return;
  }
  thread_local detail::Buffer result;
  result.clear();
  detail::InvokeFailure failure;
  // Handler time: the function itself (argument conversion included), not the
  // queueing before it nor the reply after it. Counted whatever the status.
  const auto started = std::chrono::steady_clock::now();
  const auto status = entry.invoke(decoded, result, failure);
  metrics_.handler_finished(entry.name(), std::chrono::steady_clock::now() - started);
  // Cancelled while running: the caller is gone, the result would be wasted.
  if (cancelled != nullptr && cancelled->load(std::memory_order_acquire)) return;
  switch (status) {
    case detail::InvokeStatus::ok:
      break;
    case detail::InvokeStatus::bad_arguments:
      reply_error(peer, id, Errc::bad_arguments, {entry.signature(), failure.message});
      return;
    case detail::InvokeStatus::threw:
      reply_error(peer, id, Errc::remote_error, {failure.type, failure.message});
      return;
  }
  // The REPLY's length field is what the caller's max_frame_size bounds
  // (docs/PROTOCOL.md), exactly.
  if (result.size() + wire::kReplyOverhead > max_frame_size_) {
    reply_error(
        peer, id, Errc::remote_error,
        {"fly::FrameTooLarge",
         fmt::format("the result is {} bytes, which makes a REPLY frame of {} bytes, over the "
                     "maximum frame size of {} bytes (a result may be at most {} bytes)",
                     result.size(), result.size() + wire::kReplyOverhead, max_frame_size_,
                     max_frame_size_ - wire::kReplyOverhead)});
    result.shrink_if_above(kKeepResultBuffer);
    return;
  }
  peer.send_result(id, {result.data(), result.size()});
  result.shrink_if_above(kKeepResultBuffer);
}

void Dispatcher::on_cancel(const std::shared_ptr<net::Peer>& peer, std::uint64_t request_id) {
  std::lock_guard lock(mutex_);
  auto it = running_.find({peer->id(), request_id});
  if (it != running_.end()) it->second->cancelled.store(true, std::memory_order_release);
}

void Dispatcher::on_connection_closed(const std::shared_ptr<net::Peer>& peer,
                                      const std::string& reason) {
  std::size_t cancelled = 0;
  {
    std::lock_guard lock(mutex_);
    const std::uint64_t peer_id = peer->id();
    for (auto it = running_.lower_bound({peer_id, 0});
         it != running_.end() && it->first.first == peer_id; ++it) {
      it->second->cancelled.store(true, std::memory_order_release);
      ++cancelled;
    }
  }
  if (cancelled != 0) {
    fly::log::get().info("flyrpc: cancelled {} call(s) from {} ({}): its connection closed ({})",
                         cancelled, peer->peer_hello().name, peer->remote_address(), reason);
  }
}

bool Dispatcher::serving(const net::Peer& peer) const {
  std::lock_guard lock(mutex_);
  auto it = running_.lower_bound({peer.id(), 0});
  return it != running_.end() && it->first.first == peer.id();
}

std::size_t Dispatcher::cancel_all() {
  std::lock_guard lock(mutex_);
  for (auto& [key, call] : running_) call->cancelled.store(true, std::memory_order_release);
  return running_.size();
}

void Dispatcher::finished() {
  if (in_flight_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    std::lock_guard lock(mutex_);
    drained_.notify_all();
  }
}

bool Dispatcher::drain(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return drained_.wait_for(lock, timeout,
                           [&] { return in_flight_.load(std::memory_order_acquire) == 0; });
}

}  // namespace fly::rpc
