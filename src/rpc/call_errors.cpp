// Turning a REPLY's error status (or a local failure) into the typed
// exception the caller sees.
#include <string>
#include <vector>

#include "fly/detail/pending_call.hpp"
#include "wire/frames.hpp"

namespace fly::detail {

std::exception_ptr make_call_error(Errc status, std::span<const char> body, std::string_view node,
                                   std::string_view function,
                                   std::chrono::milliseconds timeout) noexcept {
  try {
    const std::string fn(function);
    const std::string who(node);
    std::vector<std::string> s;
    std::string error;
    auto strings = [&](std::size_t n) {
      if (!wire::decode_reply_strings({body.data(), body.size()}, s, error) || s.size() < n) {
        throw ProtocolError("malformed " + std::string(to_string(status)) + " reply from " + who +
                            (error.empty() ? "" : ": " + error));
      }
    };
    switch (status) {
      case Errc::unknown_function:
        throw UnknownFunction(fn, "node " + who);
      case Errc::bad_arguments:
        strings(2);
        throw BadArguments(fn, s[0], s[1]);
      case Errc::remote_error:
        strings(2);
        throw RemoteError(who, fn, s[0], s[1]);
      case Errc::unavailable:
        strings(1);
        throw Unavailable(who, fn, s[0]);
      case Errc::node_down:
        throw NodeDown(who, fn, std::string(body.data(), body.size()));
      case Errc::cancelled:
        throw Cancelled(fn);
      case Errc::timeout:
        throw Timeout(fn, who, timeout);
      default:
        throw ProtocolError("unexpected reply status " + std::string(to_string(status)) + " from " +
                            who);
    }
  } catch (...) {
    return std::current_exception();
  }
}

}  // namespace fly::detail
