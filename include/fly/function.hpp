// Exported functions: the registry behind Node::expose.
//
//   fly::FunctionRegistry reg;
//   reg.expose("String.upcase", [](std::string s) { ...; return s; });
//   std::string up = reg.call<std::string>("String.upcase", "fly");   // "FLY"
//
// expose() accepts any callable (function pointer, lambda, functor) whose
// arguments and result msgpack-cxx can carry: std types and containers, user
// structs with MSGPACK_DEFINE, and void results. Arguments are taken by value
// or const reference. Names are "Module.function" by convention; any 1-255
// printable ASCII characters are accepted.
//
// Thread-safety: expose/remove may run at any time from any thread; lookups
// (find, invoke, call) are lock-free and never see a half-built table. An
// entry, once exposed, lives as long as the registry (replacing or removing a
// name retires the old entry but does not free it), so a pointer returned by
// find() stays valid while the registry lives.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "fly/detail/buffer.hpp"
#include "fly/detail/callable_traits.hpp"
#include "fly/detail/codec.hpp"
#include "fly/detail/function_entry.hpp"
#include "fly/errors.hpp"

namespace fly {

/// How an exposed function runs.
struct ExposeOptions {
  /// Run on the I/O thread that received the call instead of the worker pool.
  /// Lowest latency, but the function must never block or run long: it
  /// stalls every connection served by that thread. Default: false.
  bool non_blocking = false;
};

/// Name and signature of an exported function, as announced to peers.
struct FunctionInfo {
  std::string name;
  std::string signature;  ///< "String.upcase(string) -> string"
};

class FunctionRegistry {
 public:
  FunctionRegistry();
  ~FunctionRegistry();
  FunctionRegistry(const FunctionRegistry&) = delete;
  FunctionRegistry& operator=(const FunctionRegistry&) = delete;

  /// Exports `fn` as `name`, replacing any function of that name. Throws
  /// fly::ConfigError for an invalid name.
  template <class F>
  void expose(std::string name, F&& fn, ExposeOptions options = {}) {
    using Fn = std::decay_t<F>;
    using traits = detail::callable_traits<Fn>;
    static_assert(no_mutable_refs(static_cast<typename traits::arg_types*>(nullptr)),
                  "exposed functions take arguments by value or const reference");
    add(std::make_unique<detail::TypedEntry<Fn>>(std::move(name), std::forward<F>(fn),
                                                 options.non_blocking));
  }

  /// Removes `name`; false if it was not exposed.
  bool remove(std::string_view name);

  /// The entry for `name`, or nullptr. Lock-free; the pointer stays valid for
  /// the registry's lifetime.
  const detail::FunctionEntry* find(std::string_view name) const noexcept;

  /// Every exported function, sorted by name.
  std::vector<FunctionInfo> list() const;

  /// Increases on every expose/remove; lets a node know to re-announce.
  std::uint64_t version() const noexcept { return version_.load(std::memory_order_acquire); }

  /// Runs `name` on msgpack-encoded arguments (an array) and appends the
  /// msgpack-encoded result to `out`: the path a remote call takes, in-process.
  /// Throws UnknownFunction, BadArguments or RemoteError (node "").
  void invoke(std::string_view name, std::span<const char> args, detail::Buffer& out) const;

  /// Calls `name` in-process with typed arguments. When the caller's argument
  /// and result types are exactly the function's (after string-likes become
  /// std::string), the function is called directly with no encoding;
  /// otherwise the arguments go through msgpack, as for a remote call. Throws
  /// as invoke() does.
  template <class R, class... Ts>
  R call(std::string_view name, Ts&&... args) const {
    const detail::FunctionEntry* entry = find(name);
    if (entry == nullptr) throw UnknownFunction(std::string(name), "this node");
    return call_entry<R>(*entry, "", std::forward<Ts>(args)...);
  }

  /// invoke() on a known entry; `node` names this node in a RemoteError.
  static void invoke_entry(const detail::FunctionEntry& entry, std::string_view node,
                           std::span<const char> args, detail::Buffer& out);

  /// call() on a known entry; `node` names this node in a RemoteError.
  template <class R, class... Ts>
  static R call_entry(const detail::FunctionEntry& entry, std::string_view node, Ts&&... args) {
    using Tuple = std::tuple<detail::carried_t<Ts>...>;
    if (entry.args_type() == typeid(Tuple) && entry.result_type() == typeid(R)) {
      Tuple values(std::forward<Ts>(args)...);
      std::conditional_t<std::is_void_v<R>, char, std::optional<R>> result{};
      try {
        entry.invoke_direct(&values, &result);
      } catch (...) {
        rethrow_as_remote(std::current_exception(), node, entry.name());
      }
      if constexpr (!std::is_void_v<R>) return std::move(*result);
    } else {
      return call_encoded<R>(entry, node, args...);
    }
  }

 private:
  template <class... A>
  static constexpr bool no_mutable_refs(std::tuple<A...>*) {
    return ((!std::is_lvalue_reference_v<A> || std::is_const_v<std::remove_reference_t<A>>)&&...);
  }

  template <class R, class... Ts>
  static R call_encoded(const detail::FunctionEntry& entry, std::string_view node,
                        const Ts&... args) {
    detail::Buffer in;
    detail::encode_args(in, args...);
    detail::Buffer out;
    invoke_entry(entry, node, in.view(), out);
    if constexpr (std::is_void_v<R>) {
      return;
    } else {
      msgpack::zone zone;
      msgpack::object value;
      std::string error;
      if (!detail::decode_value(zone, out.data(), out.size(), value, error)) {
        throw ProtocolError("undecodable result from " + entry.name() + ": " + error);
      }
      return detail::convert_result<R>(value, entry.name());
    }
  }

  [[noreturn]] static void rethrow_as_remote(std::exception_ptr e, std::string_view node,
                                             const std::string& function);
  void add(std::unique_ptr<detail::FunctionEntry> entry);

  struct Table;
  std::atomic<const Table*> table_;
  std::atomic<std::uint64_t> version_{0};
  struct Retired;
  std::unique_ptr<Retired> retired_;  // everything ever published; freed in ~FunctionRegistry
};

}  // namespace fly
