// A move-only, type-erased callable: what std::function is, for targets that
// cannot be copied (Asio completion handlers such as asio::use_awaitable's
// own a coroutine frame). C++23 has std::move_only_function; this is it for
// C++20, reduced to what the async call path needs.
//
// Cost: one heap allocation per target (as std::function for any capture
// larger than two pointers) and one virtual call per invocation.
#pragma once

#include <functional>
#include <memory>
#include <type_traits>
#include <utility>

namespace fly::detail {

template <class Signature>
class UniqueFunction;

template <class R, class... Args>
class UniqueFunction<R(Args...)> {
 public:
  UniqueFunction() = default;
  template <class F>
  requires(!std::is_same_v<std::remove_cvref_t<F>, UniqueFunction> &&
           std::is_invocable_r_v<R, std::decay_t<F>&, Args...>)
      UniqueFunction(F&& f)  // NOLINT(google-explicit-constructor): converts as std::function does
      : target_(std::make_unique<Target<std::decay_t<F>>>(std::forward<F>(f))) {}
  UniqueFunction(UniqueFunction&&) noexcept = default;
  UniqueFunction& operator=(UniqueFunction&&) noexcept = default;

  explicit operator bool() const noexcept { return target_ != nullptr; }
  /// Calls the target. Precondition: not empty.
  R operator()(Args... args) { return target_->call(std::forward<Args>(args)...); }

 private:
  struct Callable {
    virtual ~Callable() = default;
    virtual R call(Args&&... args) = 0;
  };
  template <class F>
  struct Target final : Callable {
    template <class G>
    explicit Target(G&& g) : f(std::forward<G>(g)) {}
    R call(Args&&... args) override { return std::invoke(f, std::forward<Args>(args)...); }
    F f;
  };
  std::unique_ptr<Callable> target_;
};

}  // namespace fly::detail
