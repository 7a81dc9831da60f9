// A raw TCP client for hostile-input tests: it sends whatever bytes a test
// makes (garbage, half a frame, a replayed recording) to a real node, and
// reads back the frames the node answers with, until the node closes the
// connection. It speaks no protocol itself: framing is parsed only to tell
// the test what came back (a HELLO, a REFUSE and its reason).
//
// One thread uses a RawConnection; every wait has a deadline.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace flytest {

/// One frame as received: the type byte and the payload after it.
struct RawFrame {
  std::uint8_t type = 0;
  std::string payload;
};

/// Frame types the tests look for (docs/PROTOCOL.md, section 1).
inline constexpr std::uint8_t kHello = 0x01;
inline constexpr std::uint8_t kAuth = 0x02;
inline constexpr std::uint8_t kRefuse = 0x03;
inline constexpr std::uint8_t kCall = 0x10;
inline constexpr std::uint8_t kReply = 0x11;

/// The 5-byte frame header: u32 big-endian length (type + payload), type.
std::string frame_header(std::uint32_t length, std::uint8_t type);
/// A whole frame: header, then `payload` as given.
std::string raw_frame(std::uint8_t type, std::string_view payload);

class RawConnection {
 public:
  /// Connects (blocking, loopback) to "127.0.0.1:port".
  explicit RawConnection(const std::string& address);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return connected_; }
  /// The local port of this connection: how the node's log names it.
  int local_port() const;
  /// "127.0.0.1:<local port>", as the node logs the remote address.
  std::string local_address() const;

  /// Sends every byte (errors ignored: the node may already have closed).
  void send(std::string_view bytes);
  /// Closes our side now (the node sees EOF).
  void close();

  /// Reads what arrives within `timeout` (0: only what is already there),
  /// parsing whole frames into frames(). Returns once something arrived, the
  /// node closed, or the time is up.
  void pump(std::chrono::milliseconds timeout);
  /// The next frame not yet returned, waiting up to `timeout`; nullopt if the
  /// node closed first or the time ran out.
  std::optional<RawFrame> read_frame(std::chrono::milliseconds timeout);
  /// Reads (keeping every frame in frames()) until the node closes the
  /// connection; false if it is still open after `timeout`.
  bool closed_by_peer_within(std::chrono::milliseconds timeout);

  /// The node closed (EOF or reset).
  bool closed() const { return closed_; }
  /// Every whole frame received so far, in order.
  const std::vector<RawFrame>& frames() const { return frames_; }
  /// True if a frame of `type` was received.
  bool received(std::uint8_t type) const;
  /// The reason number of the first REFUSE received (docs/PROTOCOL.md 3.3),
  /// or nullopt if none came (or it was malformed).
  std::optional<unsigned> refuse_reason() const;
  /// Bytes left over that do not make a whole frame (or follow a bad header).
  std::size_t unparsed_bytes() const { return buffer_.size(); }

 private:
  void parse();

  int fd_ = -1;
  int local_port_ = 0;  ///< kept: the socket may be closed before a test asks
  bool connected_ = false;
  bool closed_ = false;
  std::string buffer_;
  std::vector<RawFrame> frames_;
  std::size_t next_ = 0;  ///< frames_[next_] is what read_frame returns next
};

}  // namespace flytest
