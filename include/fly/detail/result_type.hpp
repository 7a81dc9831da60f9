// What a call's result type R must be, checked where the call is made so
// that the compiler names the requirement instead of failing deep inside the
// decoder.
//
// Use: `if constexpr (detail::checked_async_result<R>()) { ...the call... }`.
// The function is true for a valid R; for any other it fails its
// static_assert, and the `if constexpr` discards the call's body, whose own
// errors would bury the message: the assertion is the one error shown.
// Compile time only.
#pragma once

#include <type_traits>

namespace fly::detail {

/// An async call hands a failed call's handler R{} with the error.
template <class R>
inline constexpr bool async_result_ok = std::is_void_v<R> || std::is_default_constructible_v<R>;

/// A blocking call decodes its result into an `R r;` and returns it by move
/// (from its waiter, or into a multicall's NodeResult).
template <class R>
inline constexpr bool blocking_result_ok = std::is_void_v<R> ||
                                           (std::is_default_constructible_v<R> &&
                                            std::is_move_constructible_v<R>);

template <class R>
consteval bool checked_async_result() {
  static_assert(async_result_ok<R>,
                "fly: the result type R of an async call must be void or default-constructible "
                "(a failed call hands its handler R{} with the error)");
  return async_result_ok<R>;
}

template <class R>
consteval bool checked_blocking_result() {
  static_assert(blocking_result_ok<R>,
                "fly: the result type R of a blocking call (rpc, rpc_region, rpc_primary, "
                "multicall) must be void, or default-constructible and move-constructible "
                "(the result is decoded into an R made with `R r;` and returned by move)");
  return blocking_result_ok<R>;
}

}  // namespace fly::detail
