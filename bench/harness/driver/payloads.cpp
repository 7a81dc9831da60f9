#include "payloads.hpp"

#include <stdexcept>

namespace flybench {

namespace {
// Echo payloads are printable and not constant, so that a server returning the
// wrong bytes (or bytes shifted by a framing bug) is caught by the check.
std::string pattern(std::size_t size) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 26) % 26);
  return s;
}
}  // namespace

const std::vector<Payload>& standard_payloads() {
  static const std::vector<Payload> payloads = [] {
    std::vector<Payload> p;
    p.push_back({"upcase3", Op::upcase, "fly", "FLY"});
    std::string k1 = pattern(1024), k64 = pattern(64 * 1024);
    p.push_back({"echo1k", Op::echo, k1, k1});
    p.push_back({"echo64k", Op::echo, k64, k64});
    return p;
  }();
  return payloads;
}

const Payload& payload_by_name(std::string_view name) {
  for (const auto& p : standard_payloads()) {
    if (p.name == name) return p;
  }
  throw std::invalid_argument("unknown payload '" + std::string(name) +
                              "' (expected upcase3, echo1k or echo64k)");
}

void ascii_upcase(char* data, std::size_t size) {
  for (std::size_t i = 0; i < size; ++i) {
    if (data[i] >= 'a' && data[i] <= 'z') data[i] = static_cast<char>(data[i] - ('a' - 'A'));
  }
}

}  // namespace flybench
