// msgpack-cxx, included the way flyrpc needs it: <msgpack.hpp> plus one fix
// for packing into fly::detail::Buffer. Every flyrpc header includes msgpack
// through this one, so the fix is seen before any packer<Buffer> is used.
//
// msgpack-cxx 4.1 (Debian 12) packs a double that holds an integer as a
// msgpack integer, testing `d <= double(UINT64_MAX)` and then casting to
// uint64_t. double(UINT64_MAX) rounds up to 2^64, so d == 2^64 passes and the
// cast is undefined behaviour (found by fuzz/fuzz_arguments under UBSan:
// uint64 0xffffffffffffff07 as a double argument echoed back). This
// specialisation keeps the same encoding with exclusive bounds.
#pragma once

#include <msgpack.hpp>

#include <cstdint>
#include <cstring>

#include "fly/detail/buffer.hpp"

namespace msgpack {
MSGPACK_API_VERSION_NAMESPACE(v1) {
  template <>
  inline packer<fly::detail::Buffer>& packer<fly::detail::Buffer>::pack_double(double d) {
    constexpr double kTwoPow64 = 18446744073709551616.0;
    constexpr double kMinusTwoPow63 = -9223372036854775808.0;
    if (d >= 0 && d < kTwoPow64) {
      const auto u = static_cast<std::uint64_t>(d);
      if (static_cast<double>(u) == d) {
        pack_imp_uint64(u);
        return *this;
      }
    } else if (d < 0 && d >= kMinusTwoPow63) {
      const auto i = static_cast<std::int64_t>(d);
      if (static_cast<double>(i) == d) {
        pack_imp_int64(i);
        return *this;
      }
    }
    // NaN, infinities, fractions and magnitudes beyond the integers: float 64.
    std::uint64_t bits = 0;
    std::memcpy(&bits, &d, sizeof bits);
    char buf[9];
    buf[0] = static_cast<char>(0xcbu);
    _msgpack_store64(&buf[1], bits);
    append_buffer(buf, 9);
    return *this;
  }

}  // MSGPACK_API_VERSION_NAMESPACE(v1)
}  // namespace msgpack
