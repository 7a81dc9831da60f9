// Helpers for the wire tests: build frames from arbitrary msgpack values and
// parse frames out of a buffer.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fly/detail/codec.hpp"
#include "wire/frames.hpp"

namespace wiretest {

using fly::detail::Buffer;
using fly::wire::Bytes;
using fly::wire::FrameType;
using fly::wire::FrameView;

/// A msgpack bin of n bytes (std::vector<char> packs as bin).
inline std::vector<char> bin(std::size_t n, char fill = 'x') {
  return std::vector<char>(n, fill);
}

/// The msgpack array [args...] as bytes (a hand-made payload).
template <class... Ts>
std::string array(const Ts&... args) {
  Buffer b;
  fly::detail::encode_args(b, args...);
  return std::string(b.data(), b.size());
}

/// One msgpack value as bytes.
template <class T>
std::string value(const T& v) {
  Buffer b;
  msgpack::packer<Buffer> pk(b);
  pk.pack(v);
  return std::string(b.data(), b.size());
}

inline Bytes bytes(const std::string& s) {
  return Bytes(s.data(), s.size());
}

/// The payload of the single frame in `frame` (asserts it is one whole frame).
inline std::string payload_of(const Buffer& frame) {
  FrameView view;
  std::string error;
  EXPECT_EQ(fly::wire::parse_frame(frame.view(), fly::wire::kDefaultMaxFrameSize, view, error),
            fly::wire::ParseStatus::frame)
      << error;
  EXPECT_EQ(view.total_size, frame.size());
  return std::string(view.payload.data(), view.payload.size());
}

/// Every whole frame in `data`, as (type, payload) pairs; fails the test on a
/// framing error or a partial frame at the end.
struct Frame {
  FrameType type;
  std::string payload;
};
inline std::vector<Frame> split_frames(Bytes data) {
  std::vector<Frame> frames;
  while (!data.empty()) {
    FrameView view;
    std::string error;
    auto status = fly::wire::parse_frame(data, fly::wire::kDefaultMaxFrameSize, view, error);
    EXPECT_EQ(status, fly::wire::ParseStatus::frame) << error;
    if (status != fly::wire::ParseStatus::frame) break;
    frames.push_back({view.type, std::string(view.payload.data(), view.payload.size())});
    data = data.subspan(view.total_size);
  }
  return frames;
}

/// A whole frame of `type` around `payload`.
inline std::string frame(FrameType type, const std::string& payload) {
  Buffer b;
  const std::size_t start = fly::wire::begin_frame(b, type);
  b.write(payload.data(), payload.size());
  fly::wire::end_frame(b, start);
  return std::string(b.data(), b.size());
}

}  // namespace wiretest
