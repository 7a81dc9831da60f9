// How much memory a Peer's read and write buffers take and keep: the net
// layer's tunables for them (frame-layout numbers are wire's, wire/frames.hpp).
#pragma once

#include <cstddef>

namespace fly::net {

/// The free space a read asks for at least: one recv(2) (or one TLS read)
/// takes up to this much, or more if a large frame's header made room for it.
inline constexpr std::size_t kReadChunk = 64 * 1024;
/// Buffer memory kept between frames; a larger buffer (after a large frame)
/// is released once drained.
inline constexpr std::size_t kKeepBuffer = 1024 * 1024;

}  // namespace fly::net
