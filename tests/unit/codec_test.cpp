// Bounded decoding: hostile msgpack is refused with a clear reason.
#include <gtest/gtest.h>

#include <string>

#include "fly/detail/codec.hpp"

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

}  // namespace
