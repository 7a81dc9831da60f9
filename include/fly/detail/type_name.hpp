// Names of argument and result types as a caller sees them in error messages:
// "String.upcase(string) -> string", "Stats.merge([int], {string: float}) -> null".
//
// Users may specialise fly::TypeName<T> for their own types; the fallback is
// the demangled C++ name.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <initializer_list>
#include <list>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace fly {

namespace detail {
std::string demangled_name(const std::type_info& t);  // src/rpc/describe.cpp
}  // namespace detail

namespace detail {
/// The parts joined, with one allocation. Used instead of `"[" + s + "]"`
/// chains, on which GCC 12 at -O3 reports a false -Wrestrict.
inline std::string concat(std::initializer_list<std::string_view> parts) {
  std::size_t n = 0;
  for (std::string_view p : parts) n += p.size();
  std::string out;
  out.reserve(n);
  for (std::string_view p : parts) out += p;
  return out;
}
}  // namespace detail

/// Customisation point: the wire-level name of T.
template <class T, class = void>
struct TypeName {
  static std::string get() { return detail::demangled_name(typeid(T)); }
};

template <class T>
std::string type_name() {
  return TypeName<std::remove_cvref_t<T>>::get();
}

template <>
struct TypeName<void> {
  static std::string get() { return "null"; }
};
template <>
struct TypeName<bool> {
  static std::string get() { return "bool"; }
};
template <class T>
struct TypeName<T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>>> {
  static std::string get() { return std::is_signed_v<T> ? "int" : "uint"; }
};
template <class T>
struct TypeName<T, std::enable_if_t<std::is_floating_point_v<T>>> {
  static std::string get() { return "float"; }
};
template <>
struct TypeName<std::string> {
  static std::string get() { return "string"; }
};
template <>
struct TypeName<std::string_view> {
  static std::string get() { return "string"; }
};
template <>
struct TypeName<const char*> {
  static std::string get() { return "string"; }
};
template <>
struct TypeName<std::vector<char>> {
  static std::string get() { return "binary"; }
};
template <>
struct TypeName<std::vector<unsigned char>> {
  static std::string get() { return "binary"; }
};
template <class T, class A>
struct TypeName<std::vector<T, A>,
                std::enable_if_t<!std::is_same_v<T, char> && !std::is_same_v<T, unsigned char>>> {
  static std::string get() { return detail::concat({"[", type_name<T>(), "]"}); }
};
template <class T>
struct TypeName<std::list<T>> {
  static std::string get() { return detail::concat({"[", type_name<T>(), "]"}); }
};
template <class T>
struct TypeName<std::deque<T>> {
  static std::string get() { return detail::concat({"[", type_name<T>(), "]"}); }
};
template <class T>
struct TypeName<std::set<T>> {
  static std::string get() { return detail::concat({"[", type_name<T>(), "]"}); }
};
template <class T>
struct TypeName<std::unordered_set<T>> {
  static std::string get() { return detail::concat({"[", type_name<T>(), "]"}); }
};
template <class T, std::size_t N>
struct TypeName<std::array<T, N>> {
  static std::string get() { return detail::concat({"[", type_name<T>(), "]"}); }
};
template <class K, class V>
struct TypeName<std::map<K, V>> {
  static std::string get() {
    return detail::concat({"{", type_name<K>(), ": ", type_name<V>(), "}"});
  }
};
template <class K, class V>
struct TypeName<std::unordered_map<K, V>> {
  static std::string get() {
    return detail::concat({"{", type_name<K>(), ": ", type_name<V>(), "}"});
  }
};
template <class T>
struct TypeName<std::optional<T>> {
  static std::string get() { return detail::concat({type_name<T>(), "?"}); }
};
template <class A, class B>
struct TypeName<std::pair<A, B>> {
  static std::string get() {
    return detail::concat({"(", type_name<A>(), ", ", type_name<B>(), ")"});
  }
};
template <class... T>
struct TypeName<std::tuple<T...>> {
  static std::string get() {
    std::string s = "(";
    bool first = true;
    ((s += first ? "" : ", ", s += type_name<T>(), first = false), ...);
    return s + ")";
  }
};

/// "name(a, b) -> r"
template <class R, class... A>
std::string signature_of(std::string_view name) {
  std::string s(name);
  s += '(';
  bool first = true;
  ((s += first ? "" : ", ", s += type_name<A>(), first = false), ...);
  s += ") -> ";
  s += type_name<R>();
  return s;
}

}  // namespace fly
