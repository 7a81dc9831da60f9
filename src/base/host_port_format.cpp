#include "base/host_port_format.hpp"

#include <charconv>

namespace fly::detail {

// Appended piece by piece rather than with operator+ chains: besides saving
// the temporaries, GCC 12 at -O3 reports a false -Wrestrict in
// `"[" + std::string(...)` (an -Werror build type Release would fail on).
std::string join_host_port(std::string_view host, std::uint16_t port) {
  const bool v6 = host.find(':') != std::string_view::npos;
  char digits[8];
  const auto end = std::to_chars(digits, digits + sizeof digits, port).ptr;
  std::string out;
  out.reserve(host.size() + 3 + static_cast<std::size_t>(end - digits));
  if (v6) out += '[';
  out += host;
  if (v6) out += ']';
  out += ':';
  out.append(digits, end);
  return out;
}

}  // namespace fly::detail
