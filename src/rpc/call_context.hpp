// The per-thread context of the call a handler is running (fly/this_call.hpp).
// The dispatcher installs it around each invocation with a ScopedCallContext.
#pragma once

#include <atomic>
#include <chrono>
#include <string_view>

namespace fly::rpc {

struct CallContext {
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  const std::atomic<bool>* cancelled = nullptr;
  std::string_view caller;
};

/// The context of the current thread (nullptr outside a handler).
const CallContext* current_call() noexcept;

class ScopedCallContext {
 public:
  explicit ScopedCallContext(const CallContext& context) noexcept;
  ~ScopedCallContext();
  ScopedCallContext(const ScopedCallContext&) = delete;
  ScopedCallContext& operator=(const ScopedCallContext&) = delete;

 private:
  const CallContext* previous_;
};

}  // namespace fly::rpc
