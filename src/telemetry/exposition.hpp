// Pieces of the Prometheus text exposition format 0.0.4: escaping, numbers,
// HELP/TYPE lines. Pure functions on strings, used by NodeMetrics at render
// time (not on the call path).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace fly::telemetry {

/// The Content-Type of the text format.
inline constexpr std::string_view exposition_content_type =
    "text/plain; version=0.0.4; charset=utf-8";

/// Appends `value` escaped as a label value (without quotes): backslash,
/// double quote and line feed become \\, \" and \n.
void append_label_value(std::string& out, std::string_view value);

/// Appends `text` escaped as HELP text: backslash and line feed become \\, \n.
void append_help_text(std::string& out, std::string_view text);

/// `value` with every byte sequence that is not valid UTF-8 replaced by U+FFFD,
/// because Prometheus rejects a whole scrape over one invalid label value.
std::string valid_utf8(std::string_view value);

/// A sample value as Prometheus parses it: shortest round-trip decimal,
/// "+Inf", "-Inf" or "NaN".
std::string format_value(double value);

/// "# HELP name help\n# TYPE name type\n".
void append_family_header(std::string& out, std::string_view name, std::string_view help,
                          std::string_view type);

}  // namespace fly::telemetry
