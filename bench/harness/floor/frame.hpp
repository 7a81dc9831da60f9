// The floor's only framing: a 5-byte header, u32 little-endian payload length
// then the op byte, followed by the payload. A response has the same header as
// its request (the length of a reply always equals the request's for upcase and
// echo), so the server answers by transforming the request bytes in place.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

#include "../driver/payloads.hpp"

namespace flybench::floor {

inline constexpr std::size_t header_size = 5;
inline constexpr std::uint32_t max_payload = 16u << 20;  // refuse anything larger

using Header = std::array<char, header_size>;

inline Header encode_header(std::uint32_t length, Op op) {
  Header h;
  for (int i = 0; i < 4; ++i) h[i] = static_cast<char>((length >> (8 * i)) & 0xff);
  h[4] = static_cast<char>(op);
  return h;
}

/// The payload length of the header at `p`; throws on a length above the limit
/// or an op that is neither upcase nor echo (a peer speaking something else).
inline std::uint32_t decode_header(const char* p, Op& op) {
  std::uint32_t length = 0;
  for (int i = 0; i < 4; ++i) length |= std::uint32_t(static_cast<unsigned char>(p[i])) << (8 * i);
  auto code = static_cast<unsigned char>(p[4]);
  if (length > max_payload) {
    throw std::runtime_error("frame of " + std::to_string(length) + " bytes exceeds the limit");
  }
  if (code > static_cast<unsigned char>(Op::echo)) {
    throw std::runtime_error("unknown op " + std::to_string(code));
  }
  op = static_cast<Op>(code);
  return length;
}

}  // namespace flybench::floor
