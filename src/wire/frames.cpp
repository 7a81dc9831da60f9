// Framing (u32 big-endian length | u8 type | payload), the names of frame
// types and refuse reasons, and the identity rules every decoder applies.
#include <fmt/format.h>

#include "wire/frames.hpp"

namespace fly::wire {

const char* to_string(FrameType type) noexcept {
  switch (type) {
    case FrameType::hello:
      return "hello";
    case FrameType::auth:
      return "auth";
    case FrameType::refuse:
      return "refuse";
    case FrameType::announce:
      return "announce";
    case FrameType::activate:
      return "activate";
    case FrameType::peers:
      return "peers";
    case FrameType::goodbye:
      return "goodbye";
    case FrameType::ping:
      return "ping";
    case FrameType::call:
      return "call";
    case FrameType::reply:
      return "reply";
    case FrameType::cancel:
      return "cancel";
  }
  return "unknown";
}

bool is_known_frame_type(std::uint8_t type) noexcept {
  return std::string_view(to_string(static_cast<FrameType>(type))) != "unknown";
}

const char* to_string(RefuseReason reason) noexcept {
  switch (reason) {
    case RefuseReason::bad_cookie:
      return "bad_cookie";
    case RefuseReason::version:
      return "version";
    case RefuseReason::duplicate_name:
      return "duplicate_name";
    case RefuseReason::already_connected:
      return "already_connected";
    case RefuseReason::handshake_timeout:
      return "handshake_timeout";
    case RefuseReason::protocol:
      return "protocol";
    case RefuseReason::stopping:
      return "stopping";
    case RefuseReason::busy:
      return "busy";
    case RefuseReason::replaced:
      return "replaced";
  }
  return "unknown";
}

namespace {

std::uint32_t read_u32(const char* p) noexcept {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return (std::uint32_t{u[0]} << 24) | (std::uint32_t{u[1]} << 16) | (std::uint32_t{u[2]} << 8) |
         std::uint32_t{u[3]};
}

// Sets `error` without letting an allocation failure escape a noexcept caller.
void set_error(std::string& error, std::string_view what, std::uint64_t value,
               std::size_t limit) noexcept {
  try {
    error = fmt::format(fmt::runtime(what), value, limit);
  } catch (...) {
    error.clear();
  }
}

bool is_host_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '_';
}

bool is_ipv6_char(char c) noexcept {
  return (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || (c >= '0' && c <= '9') || c == ':' ||
         c == '.';
}

bool is_valid_port(std::string_view port) noexcept {
  if (port.empty() || port.size() > 5 || port.front() == '0') return false;
  std::uint32_t value = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<std::uint32_t>(c - '0');
  }
  return value >= 1 && value <= 65535;
}

// "[addr]" or "[addr%zone]": addr has at least one ':'; zone is alphanumeric.
bool is_valid_bracketed_ipv6(std::string_view host) noexcept {
  if (host.size() < 4 || host.front() != '[' || host.back() != ']') return false;
  std::string_view inner = host.substr(1, host.size() - 2);
  std::string_view zone;
  if (auto pct = inner.find('%'); pct != std::string_view::npos) {
    zone = inner.substr(pct + 1);
    inner = inner.substr(0, pct);
    if (zone.empty()) return false;
    for (char c : zone) {
      if (!is_host_char(c)) return false;
    }
  }
  if (inner.find(':') == std::string_view::npos) return false;
  for (char c : inner) {
    if (!is_ipv6_char(c)) return false;
  }
  return true;
}

}  // namespace

bool is_valid_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > kMaxNameSize) return false;
  for (char c : name) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

bool is_valid_address(std::string_view address) noexcept {
  if (address.empty() || address.size() > kMaxNameSize) return false;
  const std::size_t colon = address.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  const std::string_view host = address.substr(0, colon);
  if (!is_valid_port(address.substr(colon + 1))) return false;
  if (host.front() == '[') return is_valid_bracketed_ipv6(host);
  for (char c : host) {
    if (!is_host_char(c)) return false;
  }
  return true;
}

ParseStatus parse_frame(Bytes data, std::size_t max_frame_size, FrameView& out,
                        std::string& error) noexcept {
  // The length alone can be judged from 4 bytes: refuse a hostile length
  // before waiting for (or sizing a buffer for) anything after it.
  if (data.size() < 4) return ParseStatus::need_more;
  const std::uint32_t length = read_u32(data.data());
  if (length == 0) {
    set_error(error, "frame length {} is invalid (a frame holds at least its type byte)", 0, 0);
    return ParseStatus::error;
  }
  if (length > max_frame_size) {
    set_error(error, "frame length {} exceeds max_frame_size {}", length, max_frame_size);
    return ParseStatus::error;
  }
  if (data.size() < kHeaderSize) return ParseStatus::need_more;
  const auto type = static_cast<std::uint8_t>(data[4]);
  if (!is_known_frame_type(type)) {
    set_error(error, "unknown frame type 0x{:02x}", type, 0);
    return ParseStatus::error;
  }
  const std::size_t total = std::size_t{4} + length;
  if (data.size() < total) return ParseStatus::need_more;
  out.type = static_cast<FrameType>(type);
  out.payload = data.subspan(kHeaderSize, length - 1);
  out.total_size = total;
  return ParseStatus::frame;
}

std::size_t begin_frame(Buffer& out, FrameType type) {
  const std::size_t start = out.size();
  char* p = out.prepare(kHeaderSize);
  p[0] = p[1] = p[2] = p[3] = 0;
  p[4] = static_cast<char>(type);
  out.resize(start + kHeaderSize);
  return start;
}

void end_frame(Buffer& out, std::size_t start) noexcept {
  const auto length = static_cast<std::uint32_t>(out.size() - start - 4);
  char* p = out.data() + start;
  p[0] = static_cast<char>(length >> 24);
  p[1] = static_cast<char>(length >> 16);
  p[2] = static_cast<char>(length >> 8);
  p[3] = static_cast<char>(length);
}

}  // namespace fly::wire
