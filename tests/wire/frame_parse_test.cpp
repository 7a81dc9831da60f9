// Framing: parse_frame on partial, oversized, empty, unknown and back-to-back
// frames; begin_frame/end_frame; type names.
#include <gtest/gtest.h>

#include "wire/frames.hpp"
#include "wire_test_util.hpp"

namespace {

using namespace fly::wire;
using wiretest::frame;

ParseStatus parse(const std::string& data, FrameView& view, std::string& error,
                  std::size_t max = kDefaultMaxFrameSize) {
  return parse_frame(Bytes(data.data(), data.size()), max, view, error);
}

TEST(ParseFrame, EveryPrefixOfAValidFrameNeedsMore) {
  const std::string whole = frame(FrameType::goodbye, wiretest::array("bye now"));
  for (std::size_t n = 0; n < whole.size(); ++n) {
    FrameView view;
    std::string error;
    EXPECT_EQ(parse(whole.substr(0, n), view, error), ParseStatus::need_more) << "prefix " << n;
    EXPECT_EQ(error, "");
  }
  FrameView view;
  std::string error;
  ASSERT_EQ(parse(whole, view, error), ParseStatus::frame) << error;
  EXPECT_EQ(view.type, FrameType::goodbye);
  EXPECT_EQ(view.total_size, whole.size());
  EXPECT_EQ(std::string(view.payload.data(), view.payload.size()), wiretest::array("bye now"));
  EXPECT_EQ(view.payload.data(), whole.data() + kHeaderSize);  // points into the input
}

TEST(ParseFrame, HeaderIsBigEndianLengthThenType) {
  const std::string f = frame(FrameType::cancel, std::string(8, '\0'));
  ASSERT_EQ(f.size(), 13u);
  EXPECT_EQ(f.substr(0, 5), std::string("\x00\x00\x00\x09\x12", 5));
}

TEST(ParseFrame, OversizedLengthIsRefusedFromTheLengthAlone) {
  // Only the 4 length bytes are present: no need to wait for (or buffer) more.
  const std::string header("\x00\x01\x00\x01", 4);  // 65537
  FrameView view;
  std::string error;
  EXPECT_EQ(parse(header, view, error, 65536), ParseStatus::error);
  EXPECT_EQ(error, "frame length 65537 exceeds max_frame_size 65536");
  // A huge length in a full header is refused the same way.
  EXPECT_EQ(parse(std::string("\xff\xff\xff\xff\x10", 5), view, error), ParseStatus::error);
  EXPECT_EQ(error, "frame length 4294967295 exceeds max_frame_size 16777216");
}

TEST(ParseFrame, LengthEqualToTheMaximumIsAccepted) {
  const std::string f = frame(FrameType::call, std::string(99, 'a'));  // length 100
  FrameView view;
  std::string error;
  EXPECT_EQ(parse(f, view, error, 100), ParseStatus::frame) << error;
  EXPECT_EQ(parse(f, view, error, 99), ParseStatus::error);
}

TEST(ParseFrame, ZeroLengthIsRefused) {
  FrameView view;
  std::string error;
  EXPECT_EQ(parse(std::string("\x00\x00\x00\x00", 4), view, error), ParseStatus::error);
  EXPECT_EQ(error, "frame length 0 is invalid (a frame holds at least its type byte)");
}

TEST(ParseFrame, UnknownTypeIsRefusedFromTheHeader) {
  for (unsigned char type : {0x00, 0x09, 0x0f, 0x13, 0x7f, 0xff}) {
    // Header only: the 1000-byte payload has not arrived and need not.
    std::string header("\x00\x00\x03\xe9", 4);
    header += static_cast<char>(type);
    FrameView view;
    std::string error;
    EXPECT_EQ(parse(header, view, error), ParseStatus::error) << int(type);
    char expected[64];
    std::snprintf(expected, sizeof expected, "unknown frame type 0x%02x", type);
    EXPECT_EQ(error, expected);
  }
}

TEST(ParseFrame, SeveralFramesBackToBack) {
  fly::detail::Buffer b;
  encode_ping(b);
  encode_goodbye(b, "leaving");
  encode_cancel(b, 42);
  encode_activate(b);
  const std::vector<wiretest::Frame> frames = wiretest::split_frames(b.view());
  ASSERT_EQ(frames.size(), 4u);
  EXPECT_EQ(frames[0].type, FrameType::ping);
  EXPECT_EQ(frames[0].payload, "");
  EXPECT_EQ(frames[1].type, FrameType::goodbye);
  EXPECT_EQ(frames[2].type, FrameType::cancel);
  EXPECT_EQ(frames[3].type, FrameType::activate);
  std::string reason, error;
  EXPECT_TRUE(decode_goodbye(wiretest::bytes(frames[1].payload), reason, error)) << error;
  EXPECT_EQ(reason, "leaving");
  std::uint64_t id = 0;
  EXPECT_TRUE(decode_cancel(wiretest::bytes(frames[2].payload), id, error)) << error;
  EXPECT_EQ(id, 42u);
}

TEST(ParseFrame, ASecondFrameCutShortNeedsMore) {
  fly::detail::Buffer b;
  encode_ping(b);
  encode_cancel(b, 7);
  const std::string all(b.data(), b.size() - 1);
  FrameView view;
  std::string error;
  ASSERT_EQ(parse(all, view, error), ParseStatus::frame);
  EXPECT_EQ(parse(all.substr(view.total_size), view, error), ParseStatus::need_more);
}

TEST(FrameTypes, NamesAndKnownTypes) {
  EXPECT_STREQ(to_string(FrameType::hello), "hello");
  EXPECT_STREQ(to_string(FrameType::cancel), "cancel");
  EXPECT_STREQ(to_string(static_cast<FrameType>(0x42)), "unknown");
  int known = 0;
  for (int t = 0; t < 256; ++t) known += is_known_frame_type(static_cast<std::uint8_t>(t));
  EXPECT_EQ(known, 11);
  EXPECT_TRUE(is_known_frame_type(0x10));
  EXPECT_FALSE(is_known_frame_type(0x09));
  EXPECT_STREQ(to_string(RefuseReason::busy), "busy");
  EXPECT_STREQ(to_string(RefuseReason::replaced), "replaced");
  EXPECT_STREQ(to_string(static_cast<RefuseReason>(0)), "unknown");
}

TEST(FrameTypes, BeginAndEndFrameAppendToExistingContent) {
  fly::detail::Buffer b;
  b.write("junk", 4);
  const std::size_t start = begin_frame(b, FrameType::peers);
  EXPECT_EQ(start, 4u);
  b.write("\x90", 1);
  end_frame(b, start);
  EXPECT_EQ(std::string(b.data() + 4, b.size() - 4), std::string("\x00\x00\x00\x02\x06\x90", 6));
}

}  // namespace
