// parse_frame on arbitrary bytes; every decoder on each whole frame's
// payload. A decoder must never crash, throw, or accept what its encoder
// would not produce again identically.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "wire/frames.hpp"

using namespace fly::wire;

namespace {

// A decoded HELLO re-encodes to a frame that decodes to the same values.
void check_hello_round_trip(const Hello& h) {
  Buffer b;
  encode_hello(b, h);
  Hello again;
  std::string error;
  if (!decode_hello(b.view().subspan(kHeaderSize), again, error)) std::abort();
  if (again.name != h.name || again.nonce != h.nonce || again.incarnation != h.incarnation ||
      again.listen_address != h.listen_address) {
    std::abort();
  }
}

void every_decoder(Bytes payload) {
  std::string error;
  Hello hello;
  if (decode_hello(payload, hello, error)) check_hello_round_trip(hello);
  Auth auth;
  decode_auth(payload, auth, error);
  Refuse refuse;
  if (decode_refuse(payload, refuse, error)) {
    Buffer b;
    encode_refuse(b, refuse);
    Refuse again;
    if (!decode_refuse(b.view().subspan(kHeaderSize), again, error)) std::abort();
    if (again.message != refuse.message) std::abort();
  }
  Announce announce;
  if (decode_announce(payload, announce, error)) {
    Buffer b;
    encode_announce(b, announce);
    Announce again;
    if (!decode_announce(b.view().subspan(kHeaderSize), again, error)) std::abort();
    if (again.functions.size() != announce.functions.size()) std::abort();
  }
  std::vector<PeerInfo> peers;
  if (decode_peers(payload, peers, error)) {
    Buffer b;
    encode_peers(b, peers);
    std::vector<PeerInfo> again;
    if (!decode_peers(b.view().subspan(kHeaderSize), again, error)) std::abort();
  }
  std::string reason;
  decode_goodbye(payload, reason, error);
  decode_activate(payload, error);
  decode_ping(payload, error);
  CallView call;
  if (decode_call(payload, call, error)) {
    if (call.function.empty() || call.args.empty()) std::abort();
  }
  ReplyView reply;
  if (decode_reply(payload, reply, error)) {
    std::vector<std::string> strings;
    decode_reply_strings(reply.body, strings, error);
  }
  std::uint64_t id = 0;
  decode_cancel(payload, id, error);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // Copy so that ASan catches any read past the input's end.
  std::vector<char> copy(data, data + size);
  Bytes rest(copy.data(), copy.size());
  // A small limit too, so the oversize path is reachable with small inputs.
  const std::size_t max_frame = size > 0 && (data[0] & 1) ? 64 : kMinMaxFrameSize;
  while (!rest.empty()) {
    FrameView frame;
    std::string error;
    const ParseStatus status = parse_frame(rest, max_frame, frame, error);
    if (status == ParseStatus::error) {
      if (error.empty()) std::abort();  // every refusal says why
      break;
    }
    if (status == ParseStatus::need_more) break;
    if (frame.total_size < kHeaderSize || frame.total_size > rest.size()) std::abort();
    every_decoder(frame.payload);
    rest = rest.subspan(frame.total_size);
  }
  // Every decoder on the raw input too, whatever the framing said.
  every_decoder(Bytes(copy.data(), copy.size()));
  return 0;
}
