// A hand-driven peer for hostile-input tests: it runs the real handshake
// (src/wire's machine, over a RawConnection) as a hidden node, and then sends
// CALL frames whose argument bytes the test chooses freely: what no
// well-behaved fly::Node would ever send. The test owns every byte on the
// wire; the node under test is a real `flyrpc node` process.
//
// One thread uses a WirePeer. It never answers PINGs: keep each test shorter
// than the node's heartbeat timeout (4 s by default), or send traffic.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fly/errors.hpp"
#include "raw_connection.hpp"

namespace flytest {

struct WireReply {
  fly::Errc status = fly::Errc::ok;
  std::string body;                  ///< the REPLY body as sent (ok: one msgpack value)
  std::vector<std::string> strings;  ///< an error status's [strings...], decoded
};

class WirePeer {
 public:
  /// Connects to `address`; nothing is sent until authenticate().
  WirePeer(const std::string& address, std::string cookie, std::string name);

  /// Sends HELLO, answers the node's HELLO with AUTH (followed, in the same
  /// write, by `after_auth`: frames pipelined before the node could verify
  /// us) and waits for the node's AUTH. True once both proofs verified;
  /// false if the node refused or `timeout` passed (see raw()).
  bool authenticate(std::chrono::milliseconds timeout, std::string_view after_auth = {});

  /// A whole CALL frame: request `id`, no timeout, `function`, and `args` as
  /// the raw bytes of the args field (normally one msgpack array).
  static std::string call_frame(std::uint64_t id, std::string_view function, std::string_view args);
  /// Sends call_frame(...) with a fresh request id; returns the id.
  std::uint64_t call(std::string_view function, std::string_view args);
  /// The REPLY to `id` (other frames are skipped), or nullopt if the
  /// connection closed or `timeout` passed first.
  std::optional<WireReply> reply(std::uint64_t id, std::chrono::milliseconds timeout);

  RawConnection& raw() { return raw_; }

 private:
  RawConnection raw_;
  std::string cookie_;
  std::string name_;
  std::uint64_t next_id_ = 1;
};

}  // namespace flytest
