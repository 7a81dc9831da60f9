// How much memory a Peer's read and write buffers take and keep: the net
// layer's tunables for them (frame-layout numbers are wire's, wire/frames.hpp).
#pragma once

#include <cstddef>

namespace fly::net {

/// The free space a read asks for at least: one recv(2) takes up to this
/// much, or more if a large frame's header made room for it. A connection
/// starts at kFirstReadChunk and doubles up to kReadChunk each time a read
/// fills the space it had: an idle connection (heartbeats, gossip) keeps a
/// 4 KiB buffer, not 64 KiB — at 127 peers the difference is about half a
/// MiB of resident memory, the large blocks scattering the small objects —
/// while a busy one reaches 64 KiB after a few reads.
inline constexpr std::size_t kFirstReadChunk = 4 * 1024;
inline constexpr std::size_t kReadChunk = 64 * 1024;
/// Buffer memory kept between frames; a larger buffer (after a large frame)
/// is released once drained.
inline constexpr std::size_t kKeepBuffer = 1024 * 1024;

}  // namespace fly::net
