// Peer::send_call: a CALL frame from a caller's thread. The frame layout is
// wire's (begin_call / end_frame); this file adds the connection's part:
// registering the call (and its deadline, for async calls: see
// peer_deadlines.cpp), the max_frame_size check, the verbose SEND line.
#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>

#include "base/log.hpp"
#include "fly/errors.hpp"
#include "net/peer.hpp"

namespace fly::net {

namespace {

// The number of elements of the msgpack array at `p` (the CALL's arguments),
// for verbose logs only.
std::size_t args_arity(const char* p) {
  const auto b = static_cast<unsigned char>(p[0]);
  if ((b & 0xf0) == 0x90) return b & 0x0f;
  if (b == 0xdc)
    return (static_cast<std::size_t>(static_cast<unsigned char>(p[1])) << 8) |
           static_cast<unsigned char>(p[2]);
  return 0;
}

}  // namespace

void Peer::send_call(detail::PendingCall& call, std::string_view function,
                     std::chrono::milliseconds timeout,
                     detail::FunctionRef<void(detail::Buffer&)> encode_args) {
  if (call.sent_at == Clock::time_point{}) call.sent_at = Clock::now();
  call.function_name = function;
  // Read before add(): from then on a reply may complete (and free) the call.
  const Clock::time_point deadline = call.deadline;
  if (!calls_.add(call)) {
    call.fail(Errc::node_down, "the connection is closed");
    return;
  }
  if (deadline != Clock::time_point::max()) watch_deadline(deadline);
  const auto timeout_ms = static_cast<std::uint32_t>(
      std::min<std::int64_t>(timeout.count(), std::numeric_limits<std::uint32_t>::max()));
  const std::size_t max_frame = settings_.max_frame_size;
  bool sent = false;
  try {
    sent = send([&](detail::Buffer& out) {
      const std::size_t start = wire::begin_call(out, call.request_id, timeout_ms, function);
      const std::size_t args_at = out.size();
      encode_args(out);
      // The CALL's length field is what max_frame_size bounds, exactly.
      const std::size_t length = out.size() - start - wire::kLengthFieldSize;
      if (length > max_frame) {
        const std::size_t args = out.size() - args_at;
        throw BadArguments(
            std::string(function), "",
            fmt::format("the arguments are {} bytes, which makes a CALL frame of {} bytes, over "
                        "the maximum frame size of {} bytes (the arguments of {} may be at most "
                        "{} bytes)",
                        args, length, max_frame, function, max_frame - (length - args)));
      }
      wire::end_frame(out, start);
      if (settings_.verbose) {
        const auto& to = peer_hello();
        fly::log::get().info("flyrpc SEND {}/{} to {} ({}) from {} ({})", function,
                             args_arity(out.data() + args_at), to.name, to.region,
                             settings_.hello.name, settings_.hello.region);
      }
    });
  } catch (...) {
    calls_.take(call.request_id);
    throw;
  }
  if (!sent && calls_.take(call.request_id) != nullptr) {
    call.fail(Errc::node_down, "the connection is closed");
  }
}

}  // namespace fly::net
