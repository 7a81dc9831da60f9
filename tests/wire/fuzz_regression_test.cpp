// Inputs the fuzzers (fuzz/, scripts/fuzz.sh) found or that stress the same
// edges: each must be refused cleanly, never crash or throw.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "wire/frames.hpp"
#include "wire/handshake.hpp"
#include "wire_test_util.hpp"

namespace {

using namespace fly::wire;
using wiretest::bytes;

// Every decoder on the same bytes: none may throw; all report failure or
// success consistently.
void every_decoder(const std::string& payload) {
  std::string error;
  Hello h;
  Auth a;
  Refuse r;
  Announce an;
  std::vector<PeerInfo> peers;
  std::string reason;
  CallView call;
  ReplyView reply;
  std::uint64_t id = 0;
  std::vector<std::string> strings;
  EXPECT_NO_THROW({
    decode_hello(bytes(payload), h, error);
    decode_auth(bytes(payload), a, error);
    decode_refuse(bytes(payload), r, error);
    decode_announce(bytes(payload), an, error);
    decode_peers(bytes(payload), peers, error);
    decode_goodbye(bytes(payload), reason, error);
    decode_activate(bytes(payload), error);
    decode_ping(bytes(payload), error);
    decode_call(bytes(payload), call, error);
    decode_reply(bytes(payload), reply, error);
    decode_cancel(bytes(payload), id, error);
    decode_reply_strings(bytes(payload), strings, error);
  });
}

TEST(FuzzRegression, HostileMsgpackHeaders) {
  const std::vector<std::string> inputs = {
      std::string("\xdd\xff\xff\xff\xff", 5),             // array of 2^32-1, no elements
      std::string("\xdf\xff\xff\xff\xff", 5),             // map of 2^32-1
      std::string("\xdb\xff\xff\xff\xff", 5),             // str of 2^32-1
      std::string("\xc6\xff\xff\xff\xff", 5),             // bin of 2^32-1
      std::string("\xc9\xff\xff\xff\xff\x01", 6),         // ext of 2^32-1
      std::string(100, '\x91') + std::string(1, '\xc0'),  // nested 100 deep
      std::string("\x98") + std::string(8, '\xc1'),       // 0xc1 is never used
      std::string("\x92\xcf\xff\xff\xff\xff\xff\xff\xff\xff\xc4\x20", 12),
      std::string(""),
  };
  for (const std::string& in : inputs) every_decoder(in);
}

TEST(FuzzRegression, HandshakeSurvivesGarbageInEveryState) {
  Hello mine;
  mine.name = "me";
  mine.region = "syd";
  for (int type = 0; type < 256; ++type) {
    if (!is_known_frame_type(static_cast<std::uint8_t>(type))) continue;
    Handshake hs("c", mine);
    Buffer out;
    hs.start(out);
    const std::string junk("\x93\x01\x02\xa1x", 5);
    FrameView view{static_cast<FrameType>(type), bytes(junk), kHeaderSize + junk.size()};
    EXPECT_NO_THROW(hs.on_frame(view, out));
    EXPECT_EQ(hs.step(), Handshake::Step::failed) << type;
  }
}

}  // namespace
