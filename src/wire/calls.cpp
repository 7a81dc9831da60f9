// CALL, REPLY and CANCEL: fixed big-endian layouts read and written in place.
// This is the hot path: begin_call, begin_reply and the three decoders do not
// allocate (the Buffer grows only while it reaches its working size); only a
// failure formats an error string.
#include <fmt/format.h>

#include <stdexcept>

#include "fly/detail/codec.hpp"
#include "wire/fields.hpp"
#include "wire/frames.hpp"

namespace fly::wire {

namespace {

constexpr std::size_t kCallFixed = 8 + 4 + 1;  // request_id, timeout_ms, name_len
constexpr std::size_t kReplyFixed = 8 + 1;     // request_id, status
static_assert(kReplyOverhead == 1 + kReplyFixed);
constexpr std::size_t kCancelSize = 8;

void put_u64(char* p, std::uint64_t v) noexcept {
  for (int i = 7; i >= 0; --i) {
    p[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
}

void put_u32(char* p, std::uint32_t v) noexcept {
  p[0] = static_cast<char>(v >> 24);
  p[1] = static_cast<char>(v >> 16);
  p[2] = static_cast<char>(v >> 8);
  p[3] = static_cast<char>(v);
}

std::uint64_t get_u64(const char* p) noexcept {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

std::uint32_t get_u32(const char* p) noexcept {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

// Formats an error on the failure path of a noexcept decoder; returns false.
template <class... Args>
bool fail(std::string& error, fmt::format_string<Args...> f, Args&&... args) noexcept {
  try {
    error = fmt::format(f, std::forward<Args>(args)...);
  } catch (...) {
    error.clear();
  }
  return false;
}

bool is_reply_status(Errc s) noexcept {
  switch (s) {
    case Errc::ok:
    case Errc::unknown_function:
    case Errc::bad_arguments:
    case Errc::remote_error:
    case Errc::unavailable:
      return true;
    default:
      return false;
  }
}

// `s` cut to at most `max` bytes at a UTF-8 character boundary.
std::string_view cut_utf8(std::string_view s, std::size_t max) noexcept {
  if (s.size() <= max) return s;
  std::size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xc0) == 0x80) --cut;
  return s.substr(0, cut);
}

}  // namespace

// ---- CALL: u64 request_id | u32 timeout_ms | u8 name_len | name | args

std::size_t begin_call(Buffer& out, std::uint64_t request_id, std::uint32_t timeout_ms,
                       std::string_view function) {
  // A name the u8 length cannot carry is the caller's bug, not the peer's.
  if (function.empty() || function.size() > kMaxNameSize) {
    throw std::invalid_argument("begin_call: a function name is 1-255 bytes");
  }
  const std::size_t start = out.size();
  const std::size_t n = kHeaderSize + kCallFixed + function.size();
  char* p = out.prepare(n);
  p[4] = static_cast<char>(FrameType::call);
  put_u64(p + 5, request_id);
  put_u32(p + 13, timeout_ms);
  p[17] = static_cast<char>(function.size());
  std::memcpy(p + 18, function.data(), function.size());
  out.resize(start + n);
  return start;  // end_frame writes the length once the args are in
}

bool decode_call(Bytes payload, CallView& out, std::string& error) noexcept {
  if (payload.size() < kCallFixed) {
    return fail(error, "CALL: payload of {} bytes is shorter than its fixed part ({} bytes)",
                payload.size(), kCallFixed);
  }
  const char* p = payload.data();
  const std::size_t name_len = static_cast<unsigned char>(p[12]);
  if (name_len == 0) return fail(error, "CALL: field 'function': empty name");
  if (payload.size() < kCallFixed + name_len) {
    return fail(error, "CALL: field 'function': {} bytes run past the end of the payload",
                name_len);
  }
  const std::string_view name(p + kCallFixed, name_len);
  if (!is_valid_name(name)) {
    try {
      error = "CALL: field 'function': " + fields::quote(name) +
              " is not a name (1-255 printable ASCII characters, no space)";
    } catch (...) {
      error.clear();
    }
    return false;
  }
  const Bytes args = payload.subspan(kCallFixed + name_len);
  if (args.empty()) {
    return fail(error, "CALL: field 'args': missing (expected a msgpack array after the name)");
  }
  out.request_id = get_u64(p);
  out.timeout_ms = get_u32(p + 8);
  out.function = name;
  out.args = args;
  return true;
}

// ---- REPLY: u64 request_id | u8 status | body

std::size_t begin_reply(Buffer& out, std::uint64_t request_id, Errc status) {
  const std::size_t start = out.size();
  const std::size_t n = kHeaderSize + kReplyFixed;
  char* p = out.prepare(n);
  p[4] = static_cast<char>(FrameType::reply);
  put_u64(p + 5, request_id);
  p[13] = static_cast<char>(status);
  out.resize(start + n);
  return start;
}

bool decode_reply(Bytes payload, ReplyView& out, std::string& error) noexcept {
  if (payload.size() < kReplyFixed) {
    return fail(error, "REPLY: payload of {} bytes is shorter than its fixed part ({} bytes)",
                payload.size(), kReplyFixed);
  }
  const char* p = payload.data();
  const auto status = static_cast<Errc>(static_cast<unsigned char>(p[8]));
  if (!is_reply_status(status)) {
    return fail(error, "REPLY: field 'status': {} ({}) is not a reply status",
                static_cast<unsigned>(static_cast<unsigned char>(p[8])), to_string(status));
  }
  const Bytes body = payload.subspan(kReplyFixed);
  if (status == Errc::unknown_function && !body.empty()) {
    return fail(error, "REPLY: field 'body': {} bytes, expected none for unknown_function",
                body.size());
  }
  if (status != Errc::unknown_function && body.empty()) {
    return fail(error, "REPLY: field 'body': missing for status {}", to_string(status));
  }
  out.request_id = get_u64(p);
  out.status = status;
  out.body = body;
  return true;
}

bool decode_reply_strings(Bytes body, std::vector<std::string>& out, std::string& error) {
  try {
    msgpack::zone zone(1024);
    msgpack::object o;
    if (!fields::decode_payload(zone, body, "REPLY body", o, error)) return false;
    fields::Reader r("REPLY body", error);
    if (!r.array(o, 1, kMaxReplyStrings, "strings")) return false;
    std::vector<std::string> strings(o.via.array.size);
    for (std::uint32_t i = 0; i < o.via.array.size; ++i) {
      std::string_view s;
      const std::string field = fmt::format("string {}", i);
      if (!r.str(o.via.array.ptr[i], field.c_str(), kMaxReplyStringSize, s)) return false;
      strings[i].assign(s);
    }
    out = std::move(strings);
    return true;
  } catch (...) {
    try {
      error = "out of memory while decoding a REPLY body";
    } catch (...) {
    }
    return false;
  }
}

void encode_reply_strings(Buffer& out, std::initializer_list<std::string_view> strings) {
  msgpack::packer<Buffer> pk(out);
  pk.pack_array(static_cast<std::uint32_t>(strings.size()));
  for (std::string_view s : strings) pk.pack(cut_utf8(s, kMaxReplyStringSize));
}

// ---- CANCEL: u64 request_id

void encode_cancel(Buffer& out, std::uint64_t request_id) {
  const std::size_t start = begin_frame(out, FrameType::cancel);
  put_u64(out.prepare(kCancelSize), request_id);
  out.resize(out.size() + kCancelSize);
  end_frame(out, start);
}

bool decode_cancel(Bytes payload, std::uint64_t& request_id, std::string& error) noexcept {
  if (payload.size() != kCancelSize) {
    return fail(error, "CANCEL: payload of {} bytes, expected exactly {}", payload.size(),
                kCancelSize);
  }
  request_id = get_u64(payload.data());
  return true;
}

}  // namespace fly::wire
