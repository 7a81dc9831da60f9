// Bounded decoding: hostile msgpack is refused with a clear reason.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "fly/detail/codec.hpp"
#include "fly/errors.hpp"

namespace {

using fly::detail::Buffer;

bool decode(const std::string& bytes, std::string& error) {
  msgpack::zone zone;
  msgpack::object o;
  return fly::detail::decode_value(zone, bytes.data(), bytes.size(), o, error);
}

TEST(Codec, RoundTripsArguments) {
  Buffer b;
  fly::detail::encode_args(b, std::string("fly"), 42, "lit", std::vector<int>{1, 2});
  msgpack::zone zone;
  msgpack::object o;
  std::string error;
  ASSERT_TRUE(fly::detail::decode_value(zone, b.data(), b.size(), o, error)) << error;
  ASSERT_EQ(o.type, msgpack::type::ARRAY);
  ASSERT_EQ(o.via.array.size, 4u);
  EXPECT_EQ(o.via.array.ptr[0].as<std::string>(), "fly");
  EXPECT_EQ(o.via.array.ptr[1].as<int>(), 42);
  EXPECT_EQ(o.via.array.ptr[2].as<std::string>(), "lit");
  EXPECT_EQ(o.via.array.ptr[3].as<std::vector<int>>(), (std::vector<int>{1, 2}));
}

// fuzz_arguments found msgpack-cxx 4.1 casting 2^64 to uint64_t (undefined)
// when it packs a double; include/fly/detail/msgpack_buffer.hpp fixes it. The
// sanitizer builds (UBSan aborts on the first report) make this test fail
// without the fix; every build checks the encoding.
TEST(Codec, PacksEveryDoubleWithoutOverflow) {
  const double two_pow_64 = 18446744073709551616.0;
  const std::vector<double> values = {0.0,
                                      -0.0,
                                      1.5,
                                      3.0,
                                      -3.0,
                                      two_pow_64,
                                      -two_pow_64,
                                      9223372036854775807.0,
                                      -9223372036854775808.0,
                                      1e300,
                                      std::numeric_limits<double>::infinity(),
                                      std::numeric_limits<double>::quiet_NaN()};
  for (double d : values) {
    Buffer b;
    fly::detail::encode_args(b, d);
    msgpack::zone zone;
    msgpack::object o;
    std::string error;
    ASSERT_TRUE(fly::detail::decode_value(zone, b.data(), b.size(), o, error)) << error;
    const double back = o.via.array.ptr[0].as<double>();
    if (std::isnan(d)) {
      EXPECT_TRUE(std::isnan(back));
    } else {
      EXPECT_EQ(back, d);
    }
  }
  // Integral values within range travel as integers (msgpack-cxx's encoding);
  // 2^64 does not fit and stays a float 64.
  Buffer b;
  fly::detail::encode_args(b, 3.0, two_pow_64);
  EXPECT_EQ(static_cast<unsigned char>(b.data()[1]), 0x03);  // positive fixint 3
  EXPECT_EQ(static_cast<unsigned char>(b.data()[2]), 0xcb);  // float 64
}

TEST(Codec, RefusesTruncatedInput) {
  std::string error;
  EXPECT_FALSE(decode(std::string("\x92\x01", 2), error));  // array of 2, one element
  EXPECT_NE(error.find("truncated"), std::string::npos) << error;
}

TEST(Codec, RefusesTrailingBytes) {
  std::string error;
  EXPECT_FALSE(decode(std::string("\x01\x02", 2), error));
  EXPECT_NE(error.find("trailing"), std::string::npos) << error;
}

TEST(Codec, RefusesLyingContainerHeaderWithoutAllocatingForIt) {
  // array32 claiming 4 billion elements in a 5-byte input.
  std::string error;
  EXPECT_FALSE(decode(std::string("\xdd\xff\xff\xff\xff", 5), error));
  EXPECT_FALSE(error.empty());
}

TEST(Codec, RefusesDeepNesting) {
  std::string deep(200, '\x91');  // 200 nested one-element arrays
  deep.push_back('\x01');
  std::string error;
  EXPECT_FALSE(decode(deep, error));
  EXPECT_NE(error.find("deeper"), std::string::npos) << error;
}

TEST(Codec, DescribesTypes) {
  msgpack::zone z;
  EXPECT_EQ(fly::detail::describe(msgpack::object(1, z)), "integer");
  EXPECT_EQ(fly::detail::describe(msgpack::object(std::string("x"), z)), "string");
  EXPECT_EQ(fly::detail::describe(msgpack::object(std::vector<int>{1, 2}, z)), "array of 2");
}

// A result that does not fit the caller's integral type says what fits.
TEST(Codec, ResultOutOfRangeSaysWhatFits) {
  msgpack::zone z;
  try {
    (void)fly::detail::convert_result<std::int32_t>(msgpack::object(std::int64_t{5'000'000'000}, z),
                                                    "Big.number");
    FAIL() << "no exception";
  } catch (const fly::BadArguments& e) {
    EXPECT_EQ(e.function(), "Big.number");
    EXPECT_EQ(e.detail(),
              "result: the caller expects int (32-bit signed: -2147483648..2147483647), the "
              "function returned the integer 5000000000, which does not fit");
  }
  try {
    (void)fly::detail::convert_result<std::int32_t>(msgpack::object(std::string("x"), z), "S.s");
    FAIL() << "no exception";
  } catch (const fly::BadArguments& e) {
    EXPECT_EQ(e.detail(), "result: the caller expects int, the function returned string");
  }
}

}  // namespace
