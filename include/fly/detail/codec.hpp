// msgpack encoding of call arguments and results (the codec layer).
//
// Arguments travel as one msgpack array; a result as one msgpack value (nil
// for void). Decoding is bounded: no container may claim more elements than
// the input has bytes, nesting is capped, and trailing bytes are an error, so
// hostile input cannot make the decoder allocate more than a small multiple
// of the frame it arrived in.
#pragma once

#include "fly/detail/msgpack_buffer.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "fly/detail/buffer.hpp"
#include "fly/detail/callable_traits.hpp"
#include "fly/detail/type_name.hpp"

namespace fly::detail {

/// Deepest nesting accepted in arguments and results.
inline constexpr std::size_t kMaxDecodeDepth = 64;

/// One line describing a decoded value's type: "integer", "string",
/// "array of 3", ... Used in bad-argument messages.
std::string describe(const msgpack::object& o);

/// True for a msgpack integer (positive or negative).
bool is_integer(const msgpack::object& o) noexcept;
/// An integral type's name with what fits in it, for messages about an
/// integer that does not: "int (64-bit signed: -9223372036854775808..
/// 9223372036854775807)".
std::string integer_range(const std::string& name, bool is_signed, std::size_t bits);
/// A msgpack integer's value as text: "18446744073709551615", "-1".
std::string integer_value(const msgpack::object& o);

/// Decodes exactly one msgpack value spanning all of [data, data+len) into
/// `zone`. Strings and binaries point into `data` (no copy), so `data` must
/// outlive the returned object. Returns false (and sets `error`) on malformed
/// input, a limit exceeded, or trailing bytes.
bool decode_value(msgpack::zone& zone, const char* data, std::size_t len, msgpack::object& out,
                  std::string& error) noexcept;

/// A per-thread zone for short-lived decodes; cleared (keeping one chunk)
/// before each use, so steady-state decoding does not allocate.
msgpack::zone& scratch_zone() noexcept;

/// Packs one argument; string-likes are packed as strings without a copy.
template <class T>
void pack_arg(msgpack::packer<Buffer>& pk, const T& value) {
  if constexpr (std::is_convertible_v<const T&, std::string_view>) {
    pk.pack(std::string_view(value));
  } else {
    pk.pack(value);
  }
}

/// Appends the msgpack array of `args` to `out`. No copies of the arguments.
template <class... Ts>
void encode_args(Buffer& out, const Ts&... args) {
  msgpack::packer<Buffer> pk(out);
  pk.pack_array(static_cast<uint32_t>(sizeof...(Ts)));
  (pack_arg(pk, args), ...);
}

}  // namespace fly::detail

namespace fly {
/// Passes arguments whose number is known only at run time (tools, language
/// bindings): `value` must pack itself as the whole msgpack argument array.
///   node.rpc<R>("a", "Kernel.+", fly::ArgumentArray<MyArray>{array});
template <class T>
struct ArgumentArray {
  const T& value;
};
}  // namespace fly

namespace fly::detail {

/// The arguments are already one array: packed as is.
template <class T>
void encode_args(Buffer& out, const ArgumentArray<T>& args) {
  msgpack::packer<Buffer> pk(out);
  pk.pack(args.value);
}

/// Appends a msgpack array of already-carried values (a tuple) to `out`.
template <class Tuple>
void encode_tuple(Buffer& out, const Tuple& t) {
  msgpack::packer<Buffer> pk(out);
  pk.pack_array(static_cast<uint32_t>(std::tuple_size_v<Tuple>));
  std::apply([&](const auto&... v) { (pk.pack(v), ...); }, t);
}

/// Decodes a result of type R from a decoded value. Throws fly::BadArguments
/// naming the function when the value does not fit R.
[[noreturn]] void throw_bad_result(std::string_view function, const std::string& expected,
                                   const msgpack::object& got);
/// As throw_bad_result, for an integral result type the integer `got` does
/// not fit: says what fits and what came.
[[noreturn]] void throw_result_out_of_range(std::string_view function, const std::string& expected,
                                            bool is_signed, std::size_t bits,
                                            const msgpack::object& got);

template <class R>
R convert_result(const msgpack::object& o, std::string_view function) {
  if constexpr (std::is_void_v<R>) {
    (void)o;
    (void)function;
  } else {
    try {
      R r;
      o.convert(r);
      return r;
    } catch (const std::exception&) {
      if constexpr (std::is_integral_v<R> && !std::is_same_v<R, bool>) {
        if (is_integer(o)) {
          throw_result_out_of_range(function, type_name<R>(), std::is_signed_v<R>, sizeof(R) * 8,
                                    o);
        }
      }
      throw_bad_result(function, type_name<R>(), o);
    }
  }
}

}  // namespace fly::detail
