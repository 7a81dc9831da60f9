// Bounded msgpack decoding and type descriptions (include/fly/detail/codec.hpp).
#include "fly/detail/codec.hpp"

#include <fmt/format.h>

#include <cstdint>

#include "base/demangle.hpp"
#include "fly/errors.hpp"

namespace fly::detail {

std::string demangled_name(const std::type_info& t) {
  return type_name_of(t);
}

std::string describe(const msgpack::object& o) {
  switch (o.type) {
    case msgpack::type::NIL:
      return "null";
    case msgpack::type::BOOLEAN:
      return "bool";
    case msgpack::type::POSITIVE_INTEGER:
    case msgpack::type::NEGATIVE_INTEGER:
      return "integer";
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64:
      return "float";
    case msgpack::type::STR:
      return "string";
    case msgpack::type::BIN:
      return "binary";
    case msgpack::type::ARRAY:
      return fmt::format("array of {}", o.via.array.size);
    case msgpack::type::MAP:
      return fmt::format("map of {}", o.via.map.size);
    case msgpack::type::EXT:
      return "ext";
  }
  return "unknown";
}

bool is_integer(const msgpack::object& o) noexcept {
  return o.type == msgpack::type::POSITIVE_INTEGER || o.type == msgpack::type::NEGATIVE_INTEGER;
}

std::string integer_range(const std::string& name, bool is_signed, std::size_t bits) {
  if (is_signed) {
    const auto max = bits >= 64 ? std::uint64_t{INT64_MAX} : (std::uint64_t{1} << (bits - 1)) - 1;
    return fmt::format("{} ({}-bit signed: -{}..{})", name, bits, max + 1, max);
  }
  const auto max = bits >= 64 ? UINT64_MAX : (std::uint64_t{1} << bits) - 1;
  return fmt::format("{} ({}-bit unsigned: 0..{})", name, bits, max);
}

std::string integer_value(const msgpack::object& o) {
  if (o.type == msgpack::type::NEGATIVE_INTEGER) return fmt::format("{}", o.via.i64);
  return fmt::format("{}", o.via.u64);
}

namespace {
// Strings and binaries reference the input instead of being copied into the
// zone: the decoded object lives only as long as the frame it came from.
bool reference_everything(msgpack::type::object_type, std::size_t, void*) {
  return true;
}
}  // namespace

bool decode_value(msgpack::zone& zone, const char* data, std::size_t len, msgpack::object& out,
                  std::string& error) noexcept {
  try {
    // No container may claim more elements than there are bytes left: each
    // element takes at least one byte, so this refuses lying headers before
    // the decoder allocates room for them.
    const msgpack::unpack_limit limit(len, len / 2, len, len, len, kMaxDecodeDepth);
    std::size_t offset = 0;
    bool referenced = false;
    out =
        msgpack::unpack(zone, data, len, offset, referenced, &reference_everything, nullptr, limit);
    if (offset != len) {
      error = fmt::format("{} trailing bytes after the value", len - offset);
      return false;
    }
    return true;
  } catch (const msgpack::insufficient_bytes&) {
    error = "truncated msgpack value";
  } catch (const msgpack::depth_size_overflow&) {
    error = fmt::format("msgpack value nested deeper than {}", kMaxDecodeDepth);
  } catch (const msgpack::size_overflow& e) {
    error =
        fmt::format("a msgpack container claims more elements than the input holds ({})", e.what());
  } catch (const std::exception& e) {
    error = fmt::format("malformed msgpack value ({})", e.what());
  }
  return false;
}

msgpack::zone& scratch_zone() noexcept {
  thread_local msgpack::zone zone;
  zone.clear();
  return zone;
}

void throw_bad_result(std::string_view function, const std::string& expected,
                      const msgpack::object& got) {
  throw BadArguments(
      std::string(function), "result " + expected,
      "result: the caller expects " + expected + ", the function returned " + describe(got));
}

void throw_result_out_of_range(std::string_view function, const std::string& expected,
                               bool is_signed, std::size_t bits, const msgpack::object& got) {
  throw BadArguments(std::string(function), "result " + expected,
                     "result: the caller expects " + integer_range(expected, is_signed, bits) +
                         ", the function returned the integer " + integer_value(got) +
                         ", which does not fit");
}

}  // namespace fly::detail
