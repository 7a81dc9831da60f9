// The head of an HTTP/1.x request, parsed strictly and without I/O, for the
// metrics endpoint. Only what the endpoint needs: the request line is checked
// in full; header lines are checked for shape and otherwise ignored (the
// endpoint serves a body-less GET and closes the connection).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace fly::telemetry {

struct RequestHead {
  std::string_view method;   ///< e.g. "GET"
  std::string_view target;   ///< e.g. "/metrics?x=1"
  std::string_view version;  ///< "HTTP/1.0" or "HTTP/1.1"

  /// The target without its query string.
  std::string_view path() const { return target.substr(0, target.find('?')); }
};

struct RequestParse {
  enum Status { incomplete, complete, bad };
  Status status = incomplete;
  RequestHead head;   ///< views into the parsed buffer; valid when complete
  std::string error;  ///< why it is bad
};

/// Parses the request head at the start of `buffer`. `incomplete` means more
/// bytes are needed (and none seen so far is wrong); `bad` is returned as soon
/// as a wrong byte is seen, or when the head would exceed `max_head_bytes`.
RequestParse parse_request_head(std::string_view buffer, std::size_t max_head_bytes);

}  // namespace fly::telemetry
