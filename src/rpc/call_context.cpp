#include "rpc/call_context.hpp"

#include "fly/this_call.hpp"

namespace fly::rpc {

namespace {
thread_local const CallContext* current = nullptr;
}

const CallContext* current_call() noexcept {
  return current;
}

ScopedCallContext::ScopedCallContext(const CallContext& context) noexcept : previous_(current) {
  current = &context;
}
ScopedCallContext::~ScopedCallContext() {
  current = previous_;
}

}  // namespace fly::rpc

namespace fly::this_call {

std::chrono::steady_clock::time_point deadline() noexcept {
  const auto* c = rpc::current_call();
  return c ? c->deadline : std::chrono::steady_clock::time_point::max();
}

std::chrono::milliseconds remaining() noexcept {
  const auto d = deadline();
  if (d == std::chrono::steady_clock::time_point::max()) return std::chrono::milliseconds::max();
  const auto left = d - std::chrono::steady_clock::now();
  if (left <= std::chrono::steady_clock::duration::zero()) return std::chrono::milliseconds(0);
  return std::chrono::duration_cast<std::chrono::milliseconds>(left);
}

bool cancelled() noexcept {
  const auto* c = rpc::current_call();
  return c && c->cancelled && c->cancelled->load(std::memory_order_relaxed);
}

std::string_view caller() noexcept {
  const auto* c = rpc::current_call();
  return c ? c->caller : std::string_view();
}

}  // namespace fly::this_call
