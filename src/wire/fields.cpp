// Checked msgpack field access and the text rules (wire/fields.hpp).
#include "wire/fields.hpp"

#include <fmt/format.h>

#include "fly/detail/codec.hpp"
#include "fly/region.hpp"

namespace fly::wire::fields {

namespace {
constexpr std::size_t kQuoteLimit = 64;

bool is_control(unsigned char c) noexcept {
  return c < 0x20 || c == 0x7f;
}
}  // namespace

std::string quote(std::string_view s) {
  std::string out = "\"";
  const std::size_t n = s.size() < kQuoteLimit ? s.size() : kQuoteLimit;
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
  if (s.size() > kQuoteLimit) out += fmt::format("... ({} bytes)", s.size());
  return out;
}

bool is_log_text(std::string_view s) noexcept {
  for (char c : s) {
    if (is_control(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

std::string to_log_text(std::string_view s, std::size_t max) {
  if (s.size() > max) {
    std::size_t cut = max;
    // Back up over UTF-8 continuation bytes (10xxxxxx) so no character is split.
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xc0) == 0x80) --cut;
    s = s.substr(0, cut);
  }
  std::string out(s);
  for (char& c : out) {
    if (is_control(static_cast<unsigned char>(c))) c = ' ';
  }
  return out;
}

bool decode_payload(msgpack::zone& zone, Bytes payload, std::string_view where,
                    msgpack::object& out, std::string& error) noexcept {
  std::string why;
  if (fly::detail::decode_value(zone, payload.data(), payload.size(), out, why)) return true;
  try {
    error = fmt::format("{}: {}", where, why);
  } catch (...) {
    error.clear();  // out of memory: the false return still says it failed
  }
  return false;
}

bool Reader::fail(const char* field, std::string_view problem) {
  error_ = fmt::format("{}: field '{}': {}", where_, field, problem);
  return false;
}

bool Reader::fail(std::string_view problem) {
  error_ = fmt::format("{}: {}", where_, problem);
  return false;
}

bool Reader::array(const msgpack::object& o, std::size_t min, std::size_t max, const char* what) {
  const bool ok_size =
      o.type == msgpack::type::ARRAY && o.via.array.size >= min && o.via.array.size <= max;
  if (ok_size) return true;
  const std::string count = min == max ? fmt::format("{}", min) : fmt::format("{} to {}", min, max);
  return fail(
      fmt::format("expected an array of {} {}, got {}", count, what, fly::detail::describe(o)));
}

bool Reader::list(const msgpack::object& o, const char* field, std::size_t max, const char* what) {
  if (o.type != msgpack::type::ARRAY) {
    return fail(field, "expected an array, got " + fly::detail::describe(o));
  }
  if (o.via.array.size > max) {
    return fail(field,
                fmt::format("{} {}, more than the limit of {}", o.via.array.size, what, max));
  }
  return true;
}

bool Reader::uint(const msgpack::object& o, const char* field, std::uint64_t max,
                  std::uint64_t& out) {
  if (o.type != msgpack::type::POSITIVE_INTEGER) {
    if (o.type == msgpack::type::NEGATIVE_INTEGER) {
      return fail(field, fmt::format("{} is negative", o.via.i64));
    }
    return fail(field, "expected an unsigned integer, got " + fly::detail::describe(o));
  }
  if (o.via.u64 > max) return fail(field, fmt::format("{} is above {}", o.via.u64, max));
  out = o.via.u64;
  return true;
}

bool Reader::boolean(const msgpack::object& o, const char* field, bool& out) {
  if (o.type != msgpack::type::BOOLEAN) {
    return fail(field, "expected bool, got " + fly::detail::describe(o));
  }
  out = o.via.boolean;
  return true;
}

bool Reader::str(const msgpack::object& o, const char* field, std::size_t max,
                 std::string_view& out) {
  if (o.type != msgpack::type::STR) {
    return fail(field, "expected string, got " + fly::detail::describe(o));
  }
  if (o.via.str.size > max) {
    return fail(field, fmt::format("{} bytes, more than the limit of {}", o.via.str.size, max));
  }
  out = std::string_view(o.via.str.ptr, o.via.str.size);
  return true;
}

bool Reader::bin(const msgpack::object& o, const char* field, std::size_t size, const char*& out) {
  if (o.type != msgpack::type::BIN) {
    return fail(field, "expected binary, got " + fly::detail::describe(o));
  }
  if (o.via.bin.size != size) {
    return fail(field, fmt::format("{} bytes, expected exactly {}", o.via.bin.size, size));
  }
  out = o.via.bin.ptr;
  return true;
}

bool Reader::name(const msgpack::object& o, const char* field, std::string& out) {
  std::string_view s;
  if (!str(o, field, kMaxNameSize, s)) return false;
  if (!is_valid_name(s)) {
    return fail(field, quote(s) + " is not a name (1-255 printable ASCII characters, no space)");
  }
  out.assign(s);
  return true;
}

bool Reader::region(const msgpack::object& o, const char* field, std::string& out) {
  std::string_view s;
  if (!str(o, field, kMaxNameSize, s)) return false;
  if (!fly::is_valid_region(s)) return fail(field, quote(s) + " is not a region code");
  out.assign(s);
  return true;
}

bool Reader::address(const msgpack::object& o, const char* field, bool allow_empty,
                     std::string& out) {
  std::string_view s;
  if (!str(o, field, kMaxNameSize, s)) return false;
  if (s.empty() && allow_empty) {
    out.clear();
    return true;
  }
  if (!is_valid_address(s)) {
    return fail(field, quote(s) + " is not an address (host:port or [ipv6]:port, port 1-65535)");
  }
  out.assign(s);
  return true;
}

bool Reader::text(const msgpack::object& o, const char* field, std::size_t max, std::string& out) {
  std::string_view s;
  if (!str(o, field, max, s)) return false;
  if (!is_log_text(s)) return fail(field, quote(s) + " contains control characters");
  out.assign(s);
  return true;
}

}  // namespace fly::wire::fields
