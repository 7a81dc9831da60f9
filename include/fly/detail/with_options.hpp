// Splits the optional trailing fly::CallOptions off a call's arguments:
//   rpc_region<int>("syd", "Kernel.+", 1, 2)                    -> CallOptions{}, (1, 2)
//   rpc_region<int>("syd", "Kernel.+", 1, 2, fly::timeout(2s))  -> timeout 2 s,   (1, 2)
// Compile-time only: the arguments are passed on by reference, never copied.
#pragma once

#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

#include "fly/call_options.hpp"

namespace fly::detail {

template <class T>
struct is_call_options : std::is_same<std::remove_cvref_t<T>, CallOptions> {};
template <class... T>
struct last_is_options : std::false_type {};
template <class T>
struct last_is_options<T> : is_call_options<T> {};
template <class T, class U, class... Rest>
struct last_is_options<T, U, Rest...> : last_is_options<U, Rest...> {};

template <class F, class Tuple, std::size_t... I>
decltype(auto) apply_prefix(F&& f, const CallOptions& o, Tuple& all, std::index_sequence<I...>) {
  return std::forward<F>(f)(o, std::get<I>(all)...);
}

/// Calls f(options, args...) with the trailing CallOptions split off `args`
/// (CallOptions{} when there is none).
template <class F, class... Args>
decltype(auto) with_options(F&& f, Args&&... args) {
  if constexpr (last_is_options<Args...>::value) {
    auto all = std::forward_as_tuple(std::forward<Args>(args)...);
    return apply_prefix(std::forward<F>(f), std::get<sizeof...(Args) - 1>(all), all,
                        std::make_index_sequence<sizeof...(Args) - 1>{});
  } else {
    return std::forward<F>(f)(CallOptions{}, args...);
  }
}

}  // namespace fly::detail
