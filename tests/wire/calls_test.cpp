// CALL, REPLY, CANCEL: the fixed binary layouts and their validation.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "wire/frames.hpp"
#include "wire_test_util.hpp"

namespace {

using namespace fly::wire;
using fly::Errc;
using wiretest::bytes;
using wiretest::payload_of;

std::string call_payload(std::uint64_t id, std::uint32_t timeout, const std::string& name,
                         const std::string& args) {
  std::string p;
  for (int i = 7; i >= 0; --i) p += static_cast<char>((id >> (8 * i)) & 0xff);
  for (int i = 3; i >= 0; --i) p += static_cast<char>((timeout >> (8 * i)) & 0xff);
  p += static_cast<char>(name.size());
  return p + name + args;
}

TEST(Call, RoundTripAndLayout) {
  Buffer b;
  const std::size_t start = begin_call(b, 0x0102030405060708ULL, 5000, "String.upcase");
  fly::detail::encode_args(b, "fly");
  end_frame(b, start);
  const std::string payload = payload_of(b);
  EXPECT_EQ(payload,
            call_payload(0x0102030405060708ULL, 5000, "String.upcase", wiretest::array("fly")));
  CallView call;
  std::string error;
  ASSERT_TRUE(decode_call(bytes(payload), call, error)) << error;
  EXPECT_EQ(call.request_id, 0x0102030405060708ULL);
  EXPECT_EQ(call.timeout_ms, 5000u);
  EXPECT_EQ(call.function, "String.upcase");
  EXPECT_EQ(std::string(call.args.data(), call.args.size()), wiretest::array("fly"));
  EXPECT_EQ(call.function.data(), payload.data() + 13);  // a view into the payload
}

TEST(Call, AppendsAfterOtherFrames) {
  Buffer b;
  encode_ping(b);
  const std::size_t start = begin_call(b, 1, 0, std::string(255, 'f'));
  EXPECT_EQ(start, kHeaderSize);
  fly::detail::encode_args(b);
  end_frame(b, start);
  const auto frames = wiretest::split_frames(b.view());
  ASSERT_EQ(frames.size(), 2u);
  CallView call;
  std::string error;
  ASSERT_TRUE(decode_call(bytes(frames[1].payload), call, error)) << error;
  EXPECT_EQ(call.function.size(), 255u);
  EXPECT_EQ(call.timeout_ms, 0u);
}

TEST(Call, EncoderRefusesANameTheLengthByteCannotCarry) {
  Buffer b;
  EXPECT_THROW(begin_call(b, 1, 0, ""), std::invalid_argument);
  EXPECT_THROW(begin_call(b, 1, 0, std::string(256, 'f')), std::invalid_argument);
  EXPECT_EQ(b.size(), 0u);
}

TEST(Call, Validation) {
  CallView call;
  std::string error;
  EXPECT_FALSE(decode_call(bytes(std::string(12, '\0')), call, error));
  EXPECT_EQ(error, "CALL: payload of 12 bytes is shorter than its fixed part (13 bytes)");
  EXPECT_FALSE(decode_call(bytes(call_payload(1, 0, "", "\x90")), call, error));
  EXPECT_EQ(error, "CALL: field 'function': empty name");
  std::string cut = call_payload(1, 0, "Kernel.+", "");
  cut.pop_back();
  EXPECT_FALSE(decode_call(bytes(cut), call, error));
  EXPECT_EQ(error, "CALL: field 'function': 8 bytes run past the end of the payload");
  EXPECT_FALSE(decode_call(bytes(call_payload(1, 0, "a b", "\x90")), call, error));
  EXPECT_EQ(error,
            "CALL: field 'function': \"a b\" is not a name (1-255 printable ASCII "
            "characters, no space)");
  EXPECT_FALSE(decode_call(bytes(call_payload(1, 0, "Kernel.+", "")), call, error));
  EXPECT_EQ(error, "CALL: field 'args': missing (expected a msgpack array after the name)");
}

TEST(Reply, RoundTripEveryStatus) {
  struct Case {
    Errc status;
    std::string body;
  };
  Buffer strings;
  encode_reply_strings(strings, {"std::runtime_error", "boom"});
  const std::vector<Case> cases = {
      {Errc::ok, wiretest::value(42)},
      {Errc::unknown_function, ""},
      {Errc::bad_arguments, std::string(strings.data(), strings.size())},
      {Errc::remote_error, std::string(strings.data(), strings.size())},
      {Errc::unavailable, wiretest::array("stopping")},
  };
  for (const Case& c : cases) {
    Buffer b;
    const std::size_t start = begin_reply(b, 99, c.status);
    b.write(c.body.data(), c.body.size());
    end_frame(b, start);
    const std::string payload = payload_of(b);
    EXPECT_EQ(payload.substr(0, 9),
              std::string("\0\0\0\0\0\0\0\x63", 8) + static_cast<char>(c.status));
    ReplyView reply;
    std::string error;
    ASSERT_TRUE(decode_reply(bytes(payload), reply, error)) << error;
    EXPECT_EQ(reply.request_id, 99u);
    EXPECT_EQ(reply.status, c.status);
    EXPECT_EQ(std::string(reply.body.data(), reply.body.size()), c.body);
  }
}

TEST(Reply, Validation) {
  ReplyView reply;
  std::string error;
  const std::string id(8, '\x01');
  EXPECT_FALSE(decode_reply(bytes(id), reply, error));
  EXPECT_EQ(error, "REPLY: payload of 8 bytes is shorter than its fixed part (9 bytes)");
  EXPECT_FALSE(decode_reply(bytes(id + "\x05" + "\xc0"), reply, error));
  EXPECT_EQ(error, "REPLY: field 'status': 5 (timeout) is not a reply status");
  EXPECT_FALSE(decode_reply(bytes(id + "\xc8" + "\xc0"), reply, error));
  EXPECT_EQ(error, "REPLY: field 'status': 200 (unknown) is not a reply status");
  EXPECT_FALSE(decode_reply(bytes(id + "\x02" + "\xc0"), reply, error));
  EXPECT_EQ(error, "REPLY: field 'body': 1 bytes, expected none for unknown_function");
  EXPECT_FALSE(decode_reply(bytes(id + std::string(1, '\0')), reply, error));
  EXPECT_EQ(error, "REPLY: field 'body': missing for status ok");
  EXPECT_FALSE(decode_reply(bytes(id + "\x04"), reply, error));
  EXPECT_EQ(error, "REPLY: field 'body': missing for status remote_error");
}

TEST(ReplyStrings, RoundTripAndValidation) {
  Buffer b;
  encode_reply_strings(b, {"Kernel.+(int, int) -> int", "argument 1: expected int, got string"});
  std::vector<std::string> out;
  std::string error;
  ASSERT_TRUE(decode_reply_strings(b.view(), out, error)) << error;
  EXPECT_EQ(out, (std::vector<std::string>{"Kernel.+(int, int) -> int",
                                           "argument 1: expected int, got string"}));
  // Exception messages may span lines: kept as they are.
  b.clear();
  encode_reply_strings(b, {"line 1\nline 2"});
  ASSERT_TRUE(decode_reply_strings(b.view(), out, error)) << error;
  EXPECT_EQ(out, std::vector<std::string>{"line 1\nline 2"});

  EXPECT_FALSE(decode_reply_strings(bytes(wiretest::array("a", 1)), out, error));
  EXPECT_EQ(error, "REPLY body: field 'string 1': expected string, got integer");
  EXPECT_FALSE(decode_reply_strings(bytes(wiretest::value(std::vector<int>{})), out, error));
  EXPECT_EQ(error, "REPLY body: expected an array of 1 to 16 strings, got array of 0");
  EXPECT_FALSE(
      decode_reply_strings(bytes(wiretest::value(std::vector<std::string>(17, "s"))), out, error));
  EXPECT_EQ(error, "REPLY body: expected an array of 1 to 16 strings, got array of 17");
  EXPECT_FALSE(decode_reply_strings(bytes("\x91"), out, error));
  EXPECT_EQ(error, "REPLY body: truncated msgpack value");
  EXPECT_EQ(out, std::vector<std::string>{"line 1\nline 2"});  // untouched on failure
}

TEST(ReplyStrings, HugeStringIsCutAtACharacterBoundary) {
  std::string huge = "x";
  while (huge.size() < kMaxReplyStringSize + 10) huge += "\xe2\x82\xac";  // €
  Buffer b;
  encode_reply_strings(b, {huge});
  std::vector<std::string> out;
  std::string error;
  ASSERT_TRUE(decode_reply_strings(b.view(), out, error)) << error;
  ASSERT_EQ(out.size(), 1u);
  EXPECT_LE(out[0].size(), kMaxReplyStringSize);
  EXPECT_EQ((out[0].size() - 1) % 3, 0u) << "a character was split";
}

TEST(Cancel, RoundTripAndValidation) {
  Buffer b;
  encode_cancel(b, 0xffffffffffffffffULL);
  EXPECT_EQ(std::string(b.data(), b.size()),
            std::string("\x00\x00\x00\x09\x12", 5) + std::string(8, '\xff'));
  std::uint64_t id = 0;
  std::string error;
  ASSERT_TRUE(decode_cancel(bytes(payload_of(b)), id, error)) << error;
  EXPECT_EQ(id, 0xffffffffffffffffULL);
  EXPECT_FALSE(decode_cancel(bytes(std::string(7, '\0')), id, error));
  EXPECT_EQ(error, "CANCEL: payload of 7 bytes, expected exactly 8");
  EXPECT_FALSE(decode_cancel(bytes(std::string(9, '\0')), id, error));
  EXPECT_EQ(error, "CANCEL: payload of 9 bytes, expected exactly 8");
}

}  // namespace
