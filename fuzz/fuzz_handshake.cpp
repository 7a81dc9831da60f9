// Arbitrary frame sequences into the handshake machine.
//
// Input byte 0 picks the mode:
//   even: the rest is a stream of frames fed to one machine, in any state;
//   odd:  two machines with the same cookie talk, and the rest is a script of
//         what the network does to each frame in flight (pass, drop, corrupt
//         a byte, inject a frame from the input, duplicate).
// Invariants: no crash or throw; a finished machine never changes state;
// everything a machine sends is whole, well-formed frames; a REFUSE it sends
// decodes; and an unmolested conversation authenticates both sides.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "wire/handshake.hpp"

using namespace fly::wire;
using Step = Handshake::Step;

namespace {

class Input {
 public:
  Input(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  bool empty() const { return pos_ >= size_; }
  std::uint8_t byte() { return empty() ? 0 : data_[pos_++]; }
  /// The next frame-shaped chunk: u8 length, type, payload.
  std::string chunk() {
    const std::size_t n = byte();
    std::string s;
    while (s.size() < n && !empty()) s += static_cast<char>(byte());
    return s;
  }
  Bytes rest() const {
    return empty() ? Bytes() : Bytes(reinterpret_cast<const char*>(data_ + pos_), size_ - pos_);
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

Hello hello(const char* name) {
  Hello h;
  h.name = name;
  h.region = "syd";
  h.incarnation = 7;
  h.listen_address = "127.0.0.1:4370";
  return h;
}

// Everything in `out` must be whole frames; REFUSE payloads must decode.
void check_output(const Buffer& out) {
  Bytes rest = out.view();
  while (!rest.empty()) {
    FrameView frame;
    std::string error;
    if (parse_frame(rest, kDefaultMaxFrameSize, frame, error) != ParseStatus::frame) std::abort();
    if (frame.type == FrameType::refuse) {
      Refuse refuse;
      if (!decode_refuse(frame.payload, refuse, error)) std::abort();
    } else if (frame.type != FrameType::hello && frame.type != FrameType::auth) {
      std::abort();
    }
    rest = rest.subspan(frame.total_size);
  }
}

void feed(Handshake& hs, const FrameView& frame, Buffer& out) {
  const Step before = hs.step();
  const Step after = hs.on_frame(frame, out);
  if (after != hs.step()) std::abort();
  if (before == Step::failed && after != Step::failed) std::abort();
  if (before == Step::authenticated && after == Step::in_progress) std::abort();
}

void one_machine(Input& in) {
  Handshake hs("cookie", hello("me"));
  Buffer out;
  hs.start(out);
  Bytes rest = in.rest();
  while (!rest.empty()) {
    FrameView frame;
    std::string error;
    if (parse_frame(rest, kMinMaxFrameSize, frame, error) != ParseStatus::frame) break;
    feed(hs, frame, out);
    rest = rest.subspan(frame.total_size);
  }
  check_output(out);
}

// Moves the frames `from` queued to `to`, applying the script.
bool deliver(Buffer& from_out, Handshake& to, Buffer& to_out, Input& in) {
  Buffer queued;
  queued.swap(from_out);
  check_output(queued);
  bool molested = false;
  Bytes rest = queued.view();
  while (!rest.empty()) {
    FrameView frame;
    std::string error;
    parse_frame(rest, kDefaultMaxFrameSize, frame, error);
    rest = rest.subspan(frame.total_size);
    std::string payload(frame.payload.data(), frame.payload.size());
    switch (in.byte() % 5) {
      case 0:
        break;
      case 1:
        molested = true;
        continue;  // dropped
      case 2:
        if (!payload.empty())
          payload[in.byte() % payload.size()] ^= static_cast<char>(in.byte() | 1);
        molested = true;
        break;
      case 3: {
        const std::string chunk = in.chunk();
        if (!chunk.empty()) {
          const std::string body = chunk.substr(1);
          FrameView injected{static_cast<FrameType>(chunk[0]), Bytes(body.data(), body.size()),
                             kHeaderSize + body.size()};
          if (is_known_frame_type(static_cast<std::uint8_t>(chunk[0]))) feed(to, injected, to_out);
          molested = true;
        }
        break;
      }
      case 4: {
        FrameView copy{frame.type, Bytes(payload.data(), payload.size()), frame.total_size};
        feed(to, copy, to_out);
        molested = true;
        break;
      }
    }
    FrameView view{frame.type, Bytes(payload.data(), payload.size()), frame.total_size};
    feed(to, view, to_out);
  }
  return molested;
}

void two_machines(Input& in) {
  Handshake a("cookie", hello("a"));
  Handshake b("cookie", hello("b"));
  Buffer a_out, b_out;
  a.start(a_out);
  b.start(b_out);
  bool molested = false;
  for (int round = 0; round < 8 && (!a_out.empty() || !b_out.empty()); ++round) {
    molested |= deliver(a_out, b, b_out, in);
    molested |= deliver(b_out, a, a_out, in);
  }
  if (!molested && (a.step() != Step::authenticated || b.step() != Step::authenticated)) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Input in(data, size);
  if (in.byte() % 2 == 0) {
    one_machine(in);
  } else {
    two_machines(in);
  }
  return 0;
}
