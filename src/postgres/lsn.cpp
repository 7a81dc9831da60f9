#include "fly/postgres/lsn.hpp"

#include <charconv>
#include <cstdio>

namespace fly::postgres {

namespace {
bool parse_hex32(std::string_view s, std::uint32_t& out) {
  if (s.empty() || s.size() > 8) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out, 16);
  return ec == std::errc() && p == s.data() + s.size();
}
}  // namespace

std::optional<Lsn> Lsn::parse(std::string_view text) noexcept {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  std::uint32_t hi = 0;
  std::uint32_t lo = 0;
  if (!parse_hex32(text.substr(0, slash), hi) || !parse_hex32(text.substr(slash + 1), lo)) {
    return std::nullopt;
  }
  return Lsn{(static_cast<std::uint64_t>(hi) << 32) | lo};
}

std::string Lsn::to_string() const {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%X/%X", static_cast<unsigned>(value >> 32),
                static_cast<unsigned>(value & 0xffffffffu));
  return buf;
}

}  // namespace fly::postgres
