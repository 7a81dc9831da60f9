// The hot path does not allocate: CALL/REPLY/CANCEL encoding into a warmed
// Buffer and their decoding. Counted by support/alloc_counter.hpp, which
// replaces the global operator new in this test binary (this file is the one
// translation unit of wire_tests that includes it).
#include <gtest/gtest.h>

#include "support/alloc_counter.hpp"
#include "wire/frames.hpp"
#include "wire_test_util.hpp"

namespace {

using namespace fly::wire;

TEST(HotPath, CallReplyCancelDoNotAllocate) {
  Buffer out(4096);
  std::string error;
  error.reserve(256);
  const std::size_t before = flytest::allocations();

  const std::size_t call_start = begin_call(out, 7, 250, "String.upcase");
  fly::detail::encode_args(out, "fly", 42);
  end_frame(out, call_start);
  const std::size_t reply_start = begin_reply(out, 7, fly::Errc::ok);
  msgpack::packer<Buffer>(out).pack_int(3);
  end_frame(out, reply_start);
  encode_cancel(out, 7);

  Bytes data = out.view();
  FrameView frame;
  int decoded = 0;
  while (!data.empty() &&
         parse_frame(data, kDefaultMaxFrameSize, frame, error) == ParseStatus::frame) {
    if (frame.type == FrameType::call) {
      CallView call;
      decoded += decode_call(frame.payload, call, error) && call.function == "String.upcase";
    } else if (frame.type == FrameType::reply) {
      ReplyView reply;
      decoded += decode_reply(frame.payload, reply, error) && reply.request_id == 7;
    } else if (frame.type == FrameType::cancel) {
      std::uint64_t id = 0;
      decoded += decode_cancel(frame.payload, id, error) && id == 7;
    }
    data = data.subspan(frame.total_size);
  }
  const std::size_t after = flytest::allocations();
  EXPECT_EQ(decoded, 3) << error;
  EXPECT_EQ(after - before, 0u) << "the hot path allocated";
}

TEST(HotPath, TheCounterCountsOtherwise) {
  const std::size_t before = flytest::allocations();
  auto* s = new std::string(100, 'x');
  delete s;
  EXPECT_GE(flytest::allocations() - before, 1u);
}

}  // namespace
