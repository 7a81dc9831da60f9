// RFC 9112 request-line and header-field shapes, strictly: CRLF or bare LF
// line ends, single spaces in the request line, no obs-fold, no control
// characters.
#include "telemetry/http_request.hpp"

namespace fly::telemetry {

namespace {

constexpr std::size_t max_method = 16;
constexpr std::size_t max_target = 2048;

// RFC 9110 token characters.
bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return c != '\0' && std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_visible(char c) {
  return c >= 0x21 && c <= 0x7e;
}

// A line without its terminator (LF, and the CR before it if any).
std::string_view strip_cr(std::string_view line) {
  if (!line.empty() && line.back() == '\r') return line.substr(0, line.size() - 1);
  return line;
}

RequestParse bad(std::string why) {
  RequestParse r;
  r.status = RequestParse::bad;
  r.error = std::move(why);
  return r;
}

// Checks a request line (complete or a prefix); fills `head` when complete.
bool check_request_line(std::string_view line, bool complete, RequestHead& head,
                        std::string& error) {
  std::size_t i = 0;
  while (i < line.size() && is_tchar(line[i])) ++i;
  if (i == line.size() && !complete) {
    if (i > max_method) return error = "method too long", false;
    return true;
  }
  if (i == 0) return error = "request line does not start with a method", false;
  if (i > max_method) return error = "method too long", false;
  if (i == line.size() || line[i] != ' ') return error = "bad character in method", false;
  head.method = line.substr(0, i);
  const std::size_t t = ++i;
  while (i < line.size() && is_visible(line[i])) ++i;
  if (i - t > max_target) return error = "request target too long", false;
  if (i == line.size() && !complete) {
    if (i > t && line[t] != '/') {
      return error = "request target must be a path", false;
    }
    return true;
  }
  if (i == t) return error = "missing request target", false;
  if (i == line.size() || line[i] != ' ') return error = "bad character in request target", false;
  head.target = line.substr(t, i - t);
  const std::string_view version = line.substr(i + 1);
  const std::string_view v10 = "HTTP/1.0";
  const std::string_view v11 = "HTTP/1.1";
  if (!complete) {
    if (version.size() <= v11.size() &&
        (v10.substr(0, version.size()) == version || v11.substr(0, version.size()) == version)) {
      return true;
    }
    return error = "unsupported HTTP version", false;
  }
  if (version != v10 && version != v11) return error = "unsupported HTTP version", false;
  head.version = version;
  // Origin form ("/metrics") only; absolute and asterisk forms are not served.
  if (head.target.front() != '/') return error = "request target must be a path", false;
  return true;
}

bool check_header_line(std::string_view line, std::string& error) {
  std::size_t i = 0;
  while (i < line.size() && is_tchar(line[i])) ++i;
  if (i == 0) return error = "malformed header field", false;
  if (i == line.size() || line[i] != ':') return error = "malformed header field name", false;
  for (++i; i < line.size(); ++i) {
    const char c = line[i];
    if (c != '\t' && (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)) {
      return error = "control character in header field", false;
    }
  }
  return true;
}

}  // namespace

RequestParse parse_request_head(std::string_view buffer, std::size_t max_head_bytes) {
  RequestParse result;
  std::size_t pos = 0;
  bool first = true;
  while (true) {
    const std::size_t lf = buffer.find('\n', pos);
    if (lf == std::string_view::npos) {
      // An unfinished line: check what there is, so that garbage is refused
      // at once rather than after the time-out.
      const std::string_view partial = buffer.substr(pos);
      // A trailing CR can only be followed by LF: the line's content is final.
      const bool ends_in_cr = !partial.empty() && partial.back() == '\r';
      if (first && !check_request_line(strip_cr(partial), ends_in_cr, result.head, result.error)) {
        return bad(result.error);
      }
      result.head = {};  // only a complete head is reported
      for (char c : partial) {
        if (c != '\r' && c != '\t' && (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)) {
          return bad("control character in request head");
        }
      }
      if (buffer.size() >= max_head_bytes) {
        return bad("request head larger than " + std::to_string(max_head_bytes) + " bytes");
      }
      return result;  // incomplete
    }
    if (lf + 1 > max_head_bytes) {
      return bad("request head larger than " + std::to_string(max_head_bytes) + " bytes");
    }
    const std::string_view raw = buffer.substr(pos, lf - pos);
    const std::string_view line = strip_cr(raw);
    if (line.find('\r') != std::string_view::npos) return bad("bare CR in request head");
    if (first) {
      if (!check_request_line(line, true, result.head, result.error)) return bad(result.error);
      first = false;
    } else if (line.empty()) {
      result.status = RequestParse::complete;
      return result;
    } else {
      if (line.front() == ' ' || line.front() == '\t') return bad("obsolete line folding");
      if (!check_header_line(line, result.error)) return bad(result.error);
    }
    pos = lf + 1;
  }
}

}  // namespace fly::telemetry
