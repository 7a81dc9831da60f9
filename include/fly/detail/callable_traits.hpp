// The signature of a callable: what expose() needs to build an adapter.
// Works for function pointers, lambdas (non-generic), functors with one
// operator() and std::function.
#pragma once

#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>

namespace fly::detail {

template <class T>
struct callable_traits : callable_traits<decltype(&std::remove_cvref_t<T>::operator())> {};

template <class R, class... A>
struct callable_traits<R(A...)> {
  using result_type = R;
  using arg_types = std::tuple<A...>;
  /// What the adapter decodes into: each argument by value.
  using stored_args = std::tuple<std::remove_cvref_t<A>...>;
  static constexpr std::size_t arity = sizeof...(A);
};
template <class R, class... A>
struct callable_traits<R(A...) noexcept> : callable_traits<R(A...)> {};
template <class R, class... A>
struct callable_traits<R (*)(A...)> : callable_traits<R(A...)> {};
template <class R, class... A>
struct callable_traits<R (*)(A...) noexcept> : callable_traits<R(A...)> {};
template <class C, class R, class... A>
struct callable_traits<R (C::*)(A...)> : callable_traits<R(A...)> {};
template <class C, class R, class... A>
struct callable_traits<R (C::*)(A...) const> : callable_traits<R(A...)> {};
template <class C, class R, class... A>
struct callable_traits<R (C::*)(A...) noexcept> : callable_traits<R(A...)> {};
template <class C, class R, class... A>
struct callable_traits<R (C::*)(A...) const noexcept> : callable_traits<R(A...)> {};

/// How a caller's argument is carried: string-likes (literals, const char*,
/// string_view) become std::string so that rpc_region<...>("f", "fly") matches
/// a function taking std::string and can take the local fast path; everything
/// else is carried decayed, by value.
template <class T>
using carried_t =
    std::conditional_t<std::is_convertible_v<const std::decay_t<T>&, std::string_view>, std::string,
                       std::decay_t<T>>;

}  // namespace fly::detail
