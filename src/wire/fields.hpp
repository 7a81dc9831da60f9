// Reading the fields of a decoded msgpack message with full checking, and
// the text rules shared by the decoders. Internal to the wire layer.
//
// Every check that fails writes one error of the form
//   "<where>: field '<field>': <problem>"      e.g.
//   "HELLO: field 'region': \"SYD\" is not a region code"
// and returns false; nothing here throws except std::bad_alloc.
#pragma once

#include "fly/detail/msgpack_buffer.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "wire/frames.hpp"

namespace fly::wire::fields {

/// `s` in double quotes for an error message: control and non-ASCII bytes
/// escaped as \xNN, cut after 64 characters, so hostile input stays one
/// readable line.
std::string quote(std::string_view s);

/// Free text for a peer's log (REFUSE message, GOODBYE reason, signatures,
/// error strings): any bytes except control characters (< 0x20, 0x7f).
bool is_log_text(std::string_view s) noexcept;

/// `s` made acceptable as log text of at most `max` bytes: control characters
/// become spaces, and it is cut at a UTF-8 character boundary.
std::string to_log_text(std::string_view s, std::size_t max);

/// Decodes `payload` as exactly one msgpack value into `zone` (strings point
/// into `payload`). On failure: "<where>: <why>".
bool decode_payload(msgpack::zone& zone, Bytes payload, std::string_view where,
                    msgpack::object& out, std::string& error) noexcept;

/// Checked access to the fields of one message (or one element of a list).
class Reader {
 public:
  Reader(std::string where, std::string& error) : where_(std::move(where)), error_(error) {}

  /// `o` is an array of `min`..`max` elements (`what`: "fields", "functions").
  bool array(const msgpack::object& o, std::size_t min, std::size_t max, const char* what);
  /// Field `field` (the array `o` named `field`) is an array of at most `max`.
  bool list(const msgpack::object& o, const char* field, std::size_t max, const char* what);
  bool uint(const msgpack::object& o, const char* field, std::uint64_t max, std::uint64_t& out);
  bool boolean(const msgpack::object& o, const char* field, bool& out);
  /// A msgpack str of at most `max` bytes.
  bool str(const msgpack::object& o, const char* field, std::size_t max, std::string_view& out);
  /// A msgpack bin of exactly `size` bytes.
  bool bin(const msgpack::object& o, const char* field, std::size_t size, const char*& out);

  /// str() and then is_valid_name.
  bool name(const msgpack::object& o, const char* field, std::string& out);
  /// str() and then fly::is_valid_region.
  bool region(const msgpack::object& o, const char* field, std::string& out);
  /// str() and then is_valid_address (or empty, if `allow_empty`).
  bool address(const msgpack::object& o, const char* field, bool allow_empty, std::string& out);
  /// str() of at most `max` bytes and then is_log_text.
  bool text(const msgpack::object& o, const char* field, std::size_t max, std::string& out);

  /// Records "<where>: field '<field>': <problem>"; returns false.
  bool fail(const char* field, std::string_view problem);
  /// Records "<where>: <problem>"; returns false.
  bool fail(std::string_view problem);

 private:
  std::string where_;
  std::string& error_;
};

}  // namespace fly::wire::fields
