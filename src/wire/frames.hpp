// The wire protocol as pure functions: framing, every message's encoding and
// decoding, no I/O. Everything a peer sends passes through here first, so
// every decoder validates fully and reports one clear reason; none throws,
// none allocates in proportion to a length it has not yet checked.
// docs/PROTOCOL.md documents the bytes.
//
// Frame:  u32 length (big-endian, bytes after this field) | u8 type | payload
//         1 <= length <= max_frame_size
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fly/detail/buffer.hpp"
#include "fly/errors.hpp"

namespace fly::wire {

using detail::Buffer;
using Bytes = std::span<const char>;

/// Protocol versions this build speaks; peers agree on the highest common one.
inline constexpr std::uint16_t kMinVersion = 1;
inline constexpr std::uint16_t kMaxVersion = 2;
/// u32 length + u8 type.
inline constexpr std::size_t kHeaderSize = 5;
/// The u32 length field, which counts what follows it (type + payload):
/// that count is what max_frame_size bounds.
inline constexpr std::size_t kLengthFieldSize = 4;
/// The length field at the start of a frame header (`p`: kLengthFieldSize
/// bytes, big-endian): the frame's size after that field. Unchecked: it is
/// parse_frame that judges it against max_frame_size.
inline std::size_t peek_frame_length(const char* p) noexcept {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return (std::size_t{u[0]} << 24) | (std::size_t{u[1]} << 16) | (std::size_t{u[2]} << 8) |
         std::size_t{u[3]};
}
/// A REPLY's length field minus its body (type, request id, status): a
/// result of n bytes makes a REPLY frame of n + kReplyOverhead.
inline constexpr std::size_t kReplyOverhead = 1 + 8 + 1;
/// Default NodeOptions::max_frame_size.
inline constexpr std::size_t kDefaultMaxFrameSize = 16 * 1024 * 1024;
/// The smallest max_frame_size that still fits any handshake frame.
inline constexpr std::size_t kMinMaxFrameSize = 64 * 1024;
inline constexpr std::size_t kNonceSize = 32;
inline constexpr std::size_t kProofSize = 32;  // HMAC-SHA256
/// Longest node name, region, address, function name accepted on the wire.
inline constexpr std::size_t kMaxNameSize = 255;

// ---- limits and identity rules (added by the wire layer; docs/PROTOCOL.md) ----
/// Longest REFUSE message and GOODBYE reason; the encoders truncate to it.
inline constexpr std::size_t kMaxMessageSize = 1024;
/// Longest function signature in ANNOUNCE; encode_announce truncates to it.
inline constexpr std::size_t kMaxSignatureSize = 4096;
/// Longest string in a REPLY error body; encode_reply_strings truncates to it.
inline constexpr std::size_t kMaxReplyStringSize = 64 * 1024;
/// Most strings in a REPLY error body.
inline constexpr std::size_t kMaxReplyStrings = 16;
/// Most functions in one ANNOUNCE, most peers in one PEERS.
inline constexpr std::size_t kMaxFunctions = 10000;
inline constexpr std::size_t kMaxPeers = 10000;

/// A node or function name the wire accepts: 1..255 printable ASCII
/// characters, no space (0x21..0x7e). Validate NodeOptions with this so a bad
/// name fails at start-up, not at every peer's handshake.
bool is_valid_name(std::string_view name) noexcept;
/// A dialable address: "host:port" or "[ipv6]:port", port 1..65535 without
/// leading zeros, host of letters, digits, '.', '-', '_' (in brackets: hex
/// digits, ':', '.', and a "%zone"), at most 255 characters in all.
bool is_valid_address(std::string_view address) noexcept;

enum class FrameType : std::uint8_t {
  hello = 0x01,     // handshake: who I am, versions, nonce
  auth = 0x02,      // handshake: HMAC proof of the cookie
  refuse = 0x03,    // handshake or later: why I am closing
  announce = 0x04,  // exported functions (after auth; again on change)
  activate = 0x05,  // the pair's decider says: this connection is the one
  peers = 0x06,     // visible members I know, for the full mesh
  goodbye = 0x07,   // I am leaving; drop me now
  ping = 0x08,      // heartbeat on an idle connection
  call = 0x10,      // run a function
  reply = 0x11,     // the outcome of a call
  cancel = 0x12,    // the caller gave up on a call
};

/// "hello", "call", ... or "unknown".
const char* to_string(FrameType type) noexcept;
/// True for the types above.
bool is_known_frame_type(std::uint8_t type) noexcept;

// ---- framing -----------------------------------------------------------------

struct FrameView {
  FrameType type{};
  Bytes payload;               ///< points into the parsed input
  std::size_t total_size = 0;  ///< header + payload: how much to consume
};

enum class ParseStatus { frame, need_more, error };

/// Looks at the start of `data`. `frame`: a whole frame is there (`out` set).
/// `need_more`: not yet. `error`: `error` says why (length 0, length above
/// `max_frame_size`, unknown type); decided from the 5-byte header alone, so
/// an oversized frame is refused before any buffer is sized for it.
ParseStatus parse_frame(Bytes data, std::size_t max_frame_size, FrameView& out,
                        std::string& error) noexcept;

/// Appends a frame header with a placeholder length; returns the offset of
/// the frame's start, to pass to end_frame after appending the payload.
std::size_t begin_frame(Buffer& out, FrameType type);
/// Patches the length of the frame begun at `start`.
void end_frame(Buffer& out, std::size_t start) noexcept;

// ---- handshake messages (msgpack arrays) -------------------------------------

struct Hello {
  std::uint16_t min_version = kMinVersion;
  std::uint16_t max_version = kMaxVersion;
  std::string name;               ///< unique node name, 1..255 printable ASCII
  std::string region;             ///< a valid region code (fly::is_valid_region)
  bool hidden = false;            ///< tools and shells: connected, never routed to
  std::uint64_t incarnation = 0;  ///< random per process start; tells a restart from a duplicate
  std::array<std::uint8_t, kNonceSize> nonce{};
  std::string listen_address;  ///< "host:port" peers can dial, "" if none (hidden tools)
};
void encode_hello(Buffer& out, const Hello& hello);  // whole frame
bool decode_hello(Bytes payload, Hello& out, std::string& error);

/// Why a connection is refused. Stable numbers (on the wire).
enum class RefuseReason : std::uint8_t {
  bad_cookie = 1,
  version = 2,            ///< no common protocol version
  duplicate_name = 3,     ///< another live node has this name (or it is mine)
  already_connected = 4,  ///< a connection between the pair exists / simultaneous dial lost
  handshake_timeout = 5,
  protocol = 6,  ///< malformed or unexpected frame
  stopping = 7,  ///< the node is shutting down
  busy = 8,      ///< too many pending handshakes
  /// Version 2: a newer incarnation of the receiver's name is in the cluster;
  /// the receiver has been replaced and must stop dialling (final).
  replaced = 9,
};
const char* to_string(RefuseReason reason) noexcept;

struct Auth {
  std::uint16_t version = 0;  ///< the version the sender agreed on
  std::array<std::uint8_t, kProofSize> proof{};
};
void encode_auth(Buffer& out, const Auth& auth);
bool decode_auth(Bytes payload, Auth& out, std::string& error);

struct Refuse {
  RefuseReason reason = RefuseReason::protocol;
  std::string message;  ///< one line for the peer's log, <= 1024 bytes
};
void encode_refuse(Buffer& out, const Refuse& refuse);
bool decode_refuse(Bytes payload, Refuse& out, std::string& error);

// ---- membership messages (msgpack arrays) ------------------------------------

struct ExportedFunction {
  std::string name;       ///< "String.upcase"
  std::string signature;  ///< "String.upcase(string) -> string" (informational)
};
struct Announce {
  std::uint64_t generation = 0;  ///< increases with each re-announce from this node
  std::vector<ExportedFunction> functions;
};
void encode_announce(Buffer& out, const Announce& announce);
bool decode_announce(Bytes payload, Announce& out, std::string& error);

void encode_activate(Buffer& out);  // empty payload
bool decode_activate(Bytes payload, std::string& error);

struct PeerInfo {
  std::string name;
  std::string region;
  std::string address;  ///< "host:port"
};
void encode_peers(Buffer& out, const std::vector<PeerInfo>& peers);
bool decode_peers(Bytes payload, std::vector<PeerInfo>& out, std::string& error);

/// The GOODBYE reason of a connection closed for idleness (lazy connections,
/// PROTOCOL.md 4.4): its sender is not leaving the cluster.
inline constexpr std::string_view kIdleGoodbye = "idle";
void encode_goodbye(Buffer& out, std::string_view reason);
bool decode_goodbye(Bytes payload, std::string& reason, std::string& error);

void encode_ping(Buffer& out);  // empty payload
bool decode_ping(Bytes payload, std::string& error);

// ---- calls (fixed binary layout, big-endian; the hot path) -------------------
//
// CALL payload:   u64 request_id | u32 timeout_ms | u8 name_len | name | args
//                 args: one msgpack array, the rest of the payload (not decoded here)
// REPLY payload:  u64 request_id | u8 status (fly::Errc) | body
//                 ok:               body = one msgpack value (the result)
//                 bad_arguments:    body = msgpack [signature, detail]
//                 remote_error:     body = msgpack [exception_type, message]
//                 unknown_function: body = empty
//                 unavailable:      body = msgpack [reason]
//                 other statuses are a protocol error
// CANCEL payload: u64 request_id

struct CallView {
  std::uint64_t request_id = 0;
  std::uint32_t timeout_ms = 0;  ///< the caller's remaining time; 0 = none given
  std::string_view function;     ///< points into the payload
  Bytes args;                    ///< points into the payload
};
/// Appends a CALL frame's header and fixed fields; the caller appends the
/// msgpack args and then calls end_frame(out, returned start).
std::size_t begin_call(Buffer& out, std::uint64_t request_id, std::uint32_t timeout_ms,
                       std::string_view function);
bool decode_call(Bytes payload, CallView& out, std::string& error) noexcept;

struct ReplyView {
  std::uint64_t request_id = 0;
  Errc status = Errc::ok;
  Bytes body;  ///< points into the payload
};
/// Appends a REPLY frame's header and fixed fields; the caller appends the
/// body and then calls end_frame(out, returned start).
std::size_t begin_reply(Buffer& out, std::uint64_t request_id, Errc status);
bool decode_reply(Bytes payload, ReplyView& out, std::string& error) noexcept;
/// Decodes a REPLY body of the error statuses that carry strings.
bool decode_reply_strings(Bytes body, std::vector<std::string>& out, std::string& error);
/// Appends a msgpack array of strings (a REPLY error body).
void encode_reply_strings(Buffer& out, std::initializer_list<std::string_view> strings);

void encode_cancel(Buffer& out, std::uint64_t request_id);
bool decode_cancel(Bytes payload, std::uint64_t& request_id, std::string& error) noexcept;

}  // namespace fly::wire
