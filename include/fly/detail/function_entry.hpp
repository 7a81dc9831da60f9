// The adapter expose() builds around a callable: decode arguments, call,
// encode the result; and a typed direct call for the local short-circuit.
#pragma once

#include "fly/detail/msgpack_buffer.hpp"

#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include "fly/detail/buffer.hpp"
#include "fly/detail/callable_traits.hpp"
#include "fly/detail/codec.hpp"
#include "fly/detail/type_name.hpp"

namespace fly::detail {

enum class InvokeStatus : std::uint8_t { ok, bad_arguments, threw };

/// Why an invocation failed. For bad_arguments `message` says what was wrong;
/// for threw `type` is the demangled exception type and `message` its what().
struct InvokeFailure {
  std::string type;
  std::string message;
};

/// Type-erased exported function. Immutable after construction; safe to call
/// from any number of threads at once (the callable itself must be too).
class FunctionEntry {
 public:
  FunctionEntry(std::string name, std::string signature, bool non_blocking, std::size_t arity,
                const std::type_info& args_type, const std::type_info& result_type)
      : name_(std::move(name)),
        signature_(std::move(signature)),
        non_blocking_(non_blocking),
        arity_(arity),
        args_type_(args_type),
        result_type_(result_type) {}
  virtual ~FunctionEntry() = default;
  FunctionEntry(const FunctionEntry&) = delete;
  FunctionEntry& operator=(const FunctionEntry&) = delete;

  const std::string& name() const noexcept { return name_; }
  /// "String.upcase(string) -> string"
  const std::string& signature() const noexcept { return signature_; }
  bool non_blocking() const noexcept { return non_blocking_; }
  std::size_t arity() const noexcept { return arity_; }
  /// typeid(std::tuple<decayed args...>) and typeid(result): the local
  /// short-circuit calls invoke_direct only when the caller's types match.
  const std::type_info& args_type() const noexcept { return args_type_; }
  const std::type_info& result_type() const noexcept { return result_type_; }

  /// Decodes `args` (a msgpack array), calls, appends the encoded result to
  /// `out`. Never throws: failures are returned with `failure` filled in.
  /// On failure `out` may hold a partial result; the caller discards it.
  virtual InvokeStatus invoke(const msgpack::object& args, Buffer& out,
                              InvokeFailure& failure) const noexcept = 0;

  /// Calls with already-typed arguments: `args` points to the stored-args
  /// tuple (moved from), `result` to an std::optional<R> (unused for void).
  /// Exceptions from the callable propagate.
  virtual void invoke_direct(void* args, void* result) const = 0;

 private:
  std::string name_;
  std::string signature_;
  bool non_blocking_;
  std::size_t arity_;
  const std::type_info& args_type_;
  const std::type_info& result_type_;
};

std::string arity_mismatch(std::size_t expected, std::size_t got);
std::string argument_mismatch(std::size_t index, const std::string& expected,
                              const msgpack::object& got);
/// An integer argument that does not fit its integral parameter: says what
/// fits and what came.
std::string argument_out_of_range(std::size_t index, const std::string& expected, bool is_signed,
                                  std::size_t bits, const msgpack::object& got);
void describe_exception(std::exception_ptr e, InvokeFailure& failure) noexcept;

template <class F>
class TypedEntry final : public FunctionEntry {
  using traits = callable_traits<F>;
  using R = typename traits::result_type;
  using Args = typename traits::stored_args;
  static constexpr std::size_t N = traits::arity;

 public:
  TypedEntry(std::string name, F fn, bool non_blocking)
      : FunctionEntry(name, make_signature(name, std::make_index_sequence<N>{}), non_blocking, N,
                      typeid(Args), typeid(R)),
        fn_(std::move(fn)) {}

  InvokeStatus invoke(const msgpack::object& args, Buffer& out,
                      InvokeFailure& failure) const noexcept override {
    try {
      if (args.type != msgpack::type::ARRAY) {
        failure.message = "arguments must be an array, got " + describe(args);
        return InvokeStatus::bad_arguments;
      }
      if (args.via.array.size != N) {
        failure.message = arity_mismatch(N, args.via.array.size);
        return InvokeStatus::bad_arguments;
      }
      Args values;
      if (!decode_all(args, values, failure, std::make_index_sequence<N>{})) {
        return InvokeStatus::bad_arguments;
      }
      msgpack::packer<Buffer> pk(out);
      if constexpr (std::is_void_v<R>) {
        std::apply(fn_, std::move(values));
        pk.pack_nil();
      } else {
        pk.pack(std::apply(fn_, std::move(values)));
      }
      return InvokeStatus::ok;
    } catch (...) {
      describe_exception(std::current_exception(), failure);
      return InvokeStatus::threw;
    }
  }

  // Kept out of line: callers reach it only after a typeid check, but once
  // GCC devirtualises and inlines it into a caller of other types it warns
  // (-Warray-bounds) about the branch that the check rules out.
  [[gnu::noinline]] void invoke_direct(void* args, void* result) const override {
    Args& values = *static_cast<Args*>(args);
    if constexpr (std::is_void_v<R>) {
      (void)result;
      std::apply(fn_, std::move(values));
    } else {
      static_cast<std::optional<R>*>(result)->emplace(std::apply(fn_, std::move(values)));
    }
  }

 private:
  template <std::size_t... I>
  static std::string make_signature(const std::string& name, std::index_sequence<I...>) {
    return signature_of<R, std::tuple_element_t<I, Args>...>(name);
  }

  template <std::size_t... I>
  static bool decode_all(const msgpack::object& args, Args& values, InvokeFailure& failure,
                         std::index_sequence<I...>) {
    bool ok = true;
    ((ok = ok && decode_one<I>(args.via.array.ptr[I], std::get<I>(values), failure)), ...);
    return ok;
  }

  template <std::size_t I, class T>
  static bool decode_one(const msgpack::object& o, T& value, InvokeFailure& failure) {
    try {
      o.convert(value);
      return true;
    } catch (const std::exception&) {
      if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
        if (is_integer(o)) {
          failure.message =
              argument_out_of_range(I + 1, type_name<T>(), std::is_signed_v<T>, sizeof(T) * 8, o);
          return false;
        }
      }
      failure.message = argument_mismatch(I + 1, type_name<T>(), o);
      return false;
    }
  }

  mutable F fn_;  // mutable: a functor with a non-const operator() is allowed
};

}  // namespace fly::detail
