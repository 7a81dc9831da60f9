// The registry: typed adapters, the encoded path, and every typed error.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "fly/errors.hpp"
#include "fly/function.hpp"

namespace {

using fly::detail::Buffer;

struct Point {
  int x = 0;
  int y = 0;
  std::string label;
  MSGPACK_DEFINE(x, y, label);
  bool operator==(const Point&) const = default;
};

std::string upcase(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

class Registry : public ::testing::Test {
 protected:
  void SetUp() override {
    reg.expose("String.upcase", &upcase);
    reg.expose("Kernel.+", [](int a, int b) { return a + b; });
    reg.expose("Point.shift", [](const Point& p, int dx) { return Point{p.x + dx, p.y, p.label}; });
    reg.expose("Map.keys", [](const std::map<std::string, int>& m) {
      std::vector<std::string> keys;
      for (const auto& [k, v] : m) keys.push_back(k);
      return keys;
    });
    reg.expose("Kernel.raise",
               [](const std::string& message) -> int { throw std::invalid_argument(message); });
    reg.expose("Counter.bump", [this]() { ++bumps; });
  }

  template <class... Ts>
  Buffer invoke(std::string_view name, const Ts&... args) {
    Buffer in;
    fly::detail::encode_args(in, args...);
    Buffer out;
    reg.invoke(name, in.view(), out);
    return out;
  }

  template <class R>
  static R decode(const Buffer& b) {
    msgpack::object_handle h = msgpack::unpack(b.data(), b.size());
    return h.get().as<R>();
  }

  fly::FunctionRegistry reg;
  int bumps = 0;
};

TEST_F(Registry, EncodedPathCallsTheFunction) {
  EXPECT_EQ(decode<std::string>(invoke("String.upcase", "fly")), "FLY");
  EXPECT_EQ(decode<int>(invoke("Kernel.+", 1, 2)), 3);
  EXPECT_EQ(decode<Point>(invoke("Point.shift", Point{1, 2, "p"}, 10)), (Point{11, 2, "p"}));
  EXPECT_EQ(decode<std::vector<std::string>>(
                invoke("Map.keys", std::map<std::string, int>{{"a", 1}, {"b", 2}})),
            (std::vector<std::string>{"a", "b"}));
}

TEST_F(Registry, VoidResultEncodesAsNil) {
  Buffer out = invoke("Counter.bump");
  msgpack::object_handle h = msgpack::unpack(out.data(), out.size());
  EXPECT_TRUE(h.get().is_nil());
  EXPECT_EQ(bumps, 1);
}

TEST_F(Registry, TypedCallTakesTheDirectPathAndMatchesTheEncodedOne) {
  EXPECT_EQ(reg.call<std::string>("String.upcase", "fly"), "FLY");
  EXPECT_EQ(reg.call<int>("Kernel.+", 2, 3), 5);
  // Mismatched but compatible types go through msgpack and still work.
  EXPECT_EQ(reg.call<long>("Kernel.+", 2L, 3), 5L);
  reg.call<void>("Counter.bump");
  EXPECT_EQ(bumps, 1);
}

TEST_F(Registry, UnknownFunction) {
  try {
    invoke("String.downcase", "x");
    FAIL() << "no exception";
  } catch (const fly::UnknownFunction& e) {
    EXPECT_EQ(e.function(), "String.downcase");
    EXPECT_EQ(e.code(), fly::Errc::unknown_function);
  }
  EXPECT_THROW(reg.call<int>("Nope.nope"), fly::UnknownFunction);
}

TEST_F(Registry, WrongArgumentCountNamesTheSignature) {
  try {
    invoke("Kernel.+", 1);
    FAIL() << "no exception";
  } catch (const fly::BadArguments& e) {
    EXPECT_EQ(e.function(), "Kernel.+");
    EXPECT_EQ(e.expected_signature(), "Kernel.+(int, int) -> int");
    EXPECT_EQ(e.detail(), "expected 2 arguments, got 1");
    EXPECT_NE(std::string(e.what()).find("Kernel.+(int, int) -> int"), std::string::npos);
  }
}

// An integer that does not fit the parameter's type: the message says what
// fits and what came, not "expected int, got integer".
TEST_F(Registry, IntegerOutOfRangeSaysWhatFits) {
  reg.expose("I64.id", [](std::int64_t v) { return v; });
  reg.expose("I32.id", [](std::int32_t v) { return v; });
  reg.expose("U64.id", [](std::uint64_t v) { return v; });
  try {
    invoke("I64.id", std::numeric_limits<std::uint64_t>::max());
    FAIL() << "no exception";
  } catch (const fly::BadArguments& e) {
    EXPECT_EQ(e.detail(),
              "argument 1: expected int (64-bit signed: "
              "-9223372036854775808..9223372036854775807), got the integer 18446744073709551615, "
              "which does not fit");
  }
  try {
    invoke("I32.id", std::int64_t{5'000'000'000});
    FAIL() << "no exception";
  } catch (const fly::BadArguments& e) {
    EXPECT_EQ(e.detail(),
              "argument 1: expected int (32-bit signed: -2147483648..2147483647), got the integer "
              "5000000000, which does not fit");
  }
  try {
    invoke("U64.id", -1);
    FAIL() << "no exception";
  } catch (const fly::BadArguments& e) {
    EXPECT_EQ(e.detail(),
              "argument 1: expected uint (64-bit unsigned: 0..18446744073709551615), got the "
              "integer -1, which does not fit");
  }
  // The largest value that fits still does; a non-integer keeps the short form.
  EXPECT_EQ(decode<std::int64_t>(invoke("I64.id", std::numeric_limits<std::int64_t>::max())),
            std::numeric_limits<std::int64_t>::max());
  try {
    invoke("I64.id", std::string("1"));
    FAIL() << "no exception";
  } catch (const fly::BadArguments& e) {
    EXPECT_EQ(e.detail(), "argument 1: expected int, got string");
  }
}

// BadArguments found by the caller (arguments over the frame size) has no
// signature to quote: its message must not end in "(expected )".
TEST(BadArgumentsMessage, OmitsAnEmptySignature) {
  const fly::BadArguments caller_side("Echo.bytes", "", "the arguments are too big");
  EXPECT_STREQ(caller_side.what(), "bad arguments for Echo.bytes: the arguments are too big");
  const fly::BadArguments callee_side("Kernel.+", "Kernel.+(int, int) -> int", "expected 2");
  EXPECT_STREQ(callee_side.what(),
               "bad arguments for Kernel.+: expected 2 (expected Kernel.+(int, int) -> int)");
}

TEST_F(Registry, WrongArgumentTypeSaysWhichAndWhatArrived) {
  try {
    invoke("String.upcase", 42);
    FAIL() << "no exception";
  } catch (const fly::BadArguments& e) {
    EXPECT_EQ(e.expected_signature(), "String.upcase(string) -> string");
    EXPECT_EQ(e.detail(), "argument 1: expected string, got integer");
  }
  try {
    invoke("Map.keys", std::vector<int>{1});
    FAIL() << "no exception";
  } catch (const fly::BadArguments& e) {
    EXPECT_EQ(e.expected_signature(), "Map.keys({string: int}) -> [string]");
    EXPECT_EQ(e.detail(), "argument 1: expected {string: int}, got array of 1");
  }
}

TEST_F(Registry, ArgumentsThatAreNotAnArrayOrNotMsgpack) {
  Buffer in;
  msgpack::packer<Buffer>(in).pack(7);
  Buffer out;
  EXPECT_THROW(reg.invoke("Kernel.+", in.view(), out), fly::BadArguments);
  std::string garbage("\xc1\xc1", 2);  // 0xc1 is never used in msgpack
  EXPECT_THROW(reg.invoke("Kernel.+", {garbage.data(), garbage.size()}, out), fly::BadArguments);
}

TEST_F(Registry, ThrowingFunctionKeepsTypeAndMessage) {
  try {
    invoke("Kernel.raise", "boom");
    FAIL() << "no exception";
  } catch (const fly::RemoteError& e) {
    EXPECT_EQ(e.function(), "Kernel.raise");
    EXPECT_EQ(e.exception_type(), "std::invalid_argument");
    EXPECT_EQ(e.remote_message(), "boom");
    EXPECT_EQ(e.code(), fly::Errc::remote_error);
  }
  // The direct path reports the same way.
  try {
    reg.call<int>("Kernel.raise", "bang");
    FAIL() << "no exception";
  } catch (const fly::RemoteError& e) {
    EXPECT_EQ(e.exception_type(), "std::invalid_argument");
    EXPECT_EQ(e.remote_message(), "bang");
  }
}

TEST_F(Registry, ResultOfTheWrongTypeIsReportedNotMisread) {
  try {
    reg.call<int>("String.upcase", "fly");
    FAIL() << "no exception";
  } catch (const fly::BadArguments& e) {
    EXPECT_NE(e.detail().find("expects int"), std::string::npos) << e.detail();
    EXPECT_NE(e.detail().find("returned string"), std::string::npos) << e.detail();
  }
}

TEST_F(Registry, ListRemoveAndVersion) {
  const auto v0 = reg.version();
  auto names = reg.list();
  ASSERT_EQ(names.size(), 6u);
  EXPECT_EQ(names.front().name, "Counter.bump");
  EXPECT_EQ(names.front().signature, "Counter.bump() -> null");
  EXPECT_TRUE(reg.remove("Counter.bump"));
  EXPECT_FALSE(reg.remove("Counter.bump"));
  EXPECT_EQ(reg.find("Counter.bump"), nullptr);
  EXPECT_GT(reg.version(), v0);
}

TEST_F(Registry, PointerFromFindSurvivesReplacement) {
  const fly::detail::FunctionEntry* old = reg.find("Kernel.+");
  ASSERT_NE(old, nullptr);
  reg.expose("Kernel.+", [](int a, int b) { return a * b; });
  EXPECT_EQ(old->name(), "Kernel.+");  // still alive
  EXPECT_EQ(reg.call<int>("Kernel.+", 3, 4), 12);
}

TEST_F(Registry, InvalidNamesAreRefused) {
  EXPECT_THROW(reg.expose("", [] {}), fly::ConfigError);
  EXPECT_THROW(reg.expose("has space", [] {}), fly::ConfigError);
  EXPECT_THROW(reg.expose(std::string(256, 'a'), [] {}), fly::ConfigError);
}

TEST_F(Registry, BinaryAndOptionalTypesNameThemselves) {
  reg.expose("Echo.bytes", [](std::vector<unsigned char> b) { return b; });
  reg.expose("Maybe.int", [](std::optional<int> v) { return v.value_or(-1); });
  EXPECT_EQ(reg.find("Echo.bytes")->signature(), "Echo.bytes(binary) -> binary");
  EXPECT_EQ(reg.find("Maybe.int")->signature(), "Maybe.int(int?) -> int");
  std::vector<unsigned char> bytes{0, 1, 255};
  EXPECT_EQ(reg.call<std::vector<unsigned char>>("Echo.bytes", bytes), bytes);
}

}  // namespace
