// Parsing of host/port settings (host_port.hpp has the rules). Errors say what
// was wrong and show a correct example, because users read them at start-up.
#include "discovery/host_port.hpp"

#include <fmt/format.h>
#include <asio/ip/address.hpp>

#include <algorithm>
#include <cctype>

#include "fly/errors.hpp"

namespace fly::discovery {

namespace {

// What is wrong with one host/port text; the public functions turn it into a
// ConfigError naming the setting (and, for a list, the entry).
struct Invalid {
  std::string why;
};

[[noreturn]] void fail(std::string why) {
  throw Invalid{std::move(why)};
}

bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The canonical text of an IPv6 literal, or "" if `s` is not one. Zones
// ("%eth0") are refused by the callers before this: asio would drop an
// unknown zone silently.
std::string canonical_v6(std::string_view s) {
  if (s.find('%') != std::string_view::npos) return {};
  asio::error_code ec;
  auto a = asio::ip::make_address_v6(std::string(s), ec);
  return ec ? std::string() : a.to_string();
}

std::string canonical_v4(std::string_view s) {
  asio::error_code ec;
  auto a = asio::ip::make_address_v4(std::string(s), ec);
  return ec ? std::string() : a.to_string();
}

std::uint16_t parse_port(std::string_view port) {
  if (port.empty()) fail("missing port after ':' (e.g. \"10.0.0.1:4369\")");
  if (!all_digits(port) || port.size() > 5) {
    fail(fmt::format("port \"{}\" is not a number from 1 to 65535", port));
  }
  unsigned long value = std::stoul(std::string(port));
  if (value == 0 || value > 65535) {
    fail(fmt::format("port {} is out of range (1-65535)", value));
  }
  return static_cast<std::uint16_t>(value);
}

// Validates an unbracketed host that is not an IPv6 literal: an IPv4 literal
// or a DNS name. A name whose last label is all digits can only be a
// mistyped IPv4 address ("10.0.0.256"), so it is reported as such.
std::string check_host(std::string_view host) {
  if (host.empty()) fail("missing host before ':' (e.g. \"10.0.0.1:4369\")");
  std::string_view last = host;
  if (auto dot = host.rfind('.'); dot != std::string_view::npos) last = host.substr(dot + 1);
  if (all_digits(last)) {
    std::string v4 = canonical_v4(host);
    if (v4.empty()) fail(fmt::format("\"{}\" is not a valid IPv4 address", host));
    return v4;
  }
  if (!is_valid_dns_name(host)) {
    fail(
        fmt::format("\"{}\" is neither an IP address nor a valid DNS name (letters, digits, "
                    "'-', '_' and dots)",
                    host));
  }
  std::string name = lower(host);
  if (name.back() == '.') name.pop_back();
  return name;
}

std::uint16_t port_or_default(std::uint16_t default_port, std::string_view example) {
  if (default_port == 0) {
    fail(fmt::format("a port is required (e.g. \"{}\")", example));
  }
  return default_port;
}

HostPort parse_bracketed(std::string_view s, std::uint16_t default_port) {
  auto close = s.find(']');
  if (close == std::string_view::npos) {
    fail("unbalanced '[': an IPv6 address is written \"[fdaa::1]:4369\"");
  }
  std::string_view inside = s.substr(1, close - 1);
  std::string_view rest = s.substr(close + 1);
  if (inside.find('%') != std::string_view::npos) {
    fail("IPv6 zone ids ('%') are not supported; use a routable address");
  }
  std::string v6 = canonical_v6(inside);
  if (v6.empty()) {
    fail(fmt::format("\"{}\" in brackets is not a valid IPv6 address", inside));
  }
  if (rest.empty()) {
    return {v6, port_or_default(default_port, fmt::format("[{}]:4369", v6))};
  }
  if (rest.front() != ':') {
    fail(fmt::format("unexpected \"{}\" after ']' (expected \":port\" or nothing)", rest));
  }
  return {v6, parse_port(rest.substr(1))};
}

// Two or more colons without brackets: an IPv6 literal. It is taken as a bare
// host only if dropping a final ":digits" would not also leave a valid
// address; otherwise "fdaa::1:4369" could mean either, and guessing wrong
// dials the wrong place.
HostPort parse_unbracketed_v6(std::string_view s, std::uint16_t default_port) {
  if (s.find('%') != std::string_view::npos) {
    fail("IPv6 zone ids ('%') are not supported; use a routable address");
  }
  std::string v6 = canonical_v6(s);
  auto colon = s.rfind(':');
  std::string_view head = s.substr(0, colon);
  std::string_view tail = s.substr(colon + 1);
  bool could_be_port = all_digits(tail) && !canonical_v6(head).empty();
  if (could_be_port) {
    fail(
        fmt::format("ambiguous IPv6 address: write \"[{}]:{}\" for a port, or \"[{}]\" for the "
                    "address alone",
                    head, tail, s));
  }
  if (v6.empty()) {
    fail("not a valid host:port; an IPv6 address with a port is written \"[fdaa::1]:4369\"");
  }
  return {v6, port_or_default(default_port, fmt::format("[{}]:4369", v6))};
}

// The text of one host/port, already trimmed and non-empty.
HostPort parse_one(std::string_view s, std::uint16_t default_port) {
  if (s.front() == '[') return parse_bracketed(s, default_port);
  if (s.find(']') != std::string_view::npos) {
    fail("unbalanced ']': an IPv6 address is written \"[fdaa::1]:4369\"");
  }
  auto colons = std::count(s.begin(), s.end(), ':');
  if (colons >= 2) return parse_unbracketed_v6(s, default_port);
  if (colons == 1) {
    auto colon = s.find(':');
    std::string host = check_host(s.substr(0, colon));
    return {host, parse_port(s.substr(colon + 1))};
  }
  std::string host = check_host(s);
  return {host, port_or_default(default_port, host + ":4369")};
}

}  // namespace

std::string HostPort::to_string() const {
  if (host.find(':') != std::string::npos) return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host, port);
}

bool is_valid_dns_name(std::string_view name) noexcept {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty() || name.size() > 253) return false;
  std::size_t start = 0;
  while (start <= name.size()) {
    std::size_t end = name.find('.', start);
    if (end == std::string_view::npos) end = name.size();
    std::string_view label = name.substr(start, end - start);
    if (label.empty() || label.size() > 63) return false;
    if (label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '_';
      if (!ok) return false;
    }
    start = end + 1;
  }
  return true;
}

HostPort parse_host_port(std::string_view setting, std::string_view text,
                         std::uint16_t default_port) {
  std::string_view s = trim(text);
  try {
    if (s.empty()) fail("is empty; expected host:port (e.g. \"10.0.0.1:4369\")");
    return parse_one(s, default_port);
  } catch (const Invalid& e) {
    throw ConfigError(std::string(setting), std::string(text), e.why);
  }
}

std::vector<HostPort> parse_host_list(std::string_view setting, std::string_view list,
                                      std::uint16_t default_port) {
  if (trim(list).empty()) {
    throw ConfigError(std::string(setting), std::string(list),
                      "is empty; expected host:port[,host:port...] (e.g. \"10.0.0.1:4369\")");
  }
  std::vector<HostPort> out;
  std::size_t start = 0;
  for (int index = 1;; ++index) {
    std::size_t comma = list.find(',', start);
    std::size_t length = comma == std::string_view::npos ? std::string_view::npos : comma - start;
    std::string_view entry = trim(list.substr(start, length));
    if (entry.empty()) {
      throw ConfigError(std::string(setting), std::string(list),
                        fmt::format("entry {} is empty (a stray comma?)", index));
    }
    try {
      HostPort hp = parse_one(entry, default_port);
      if (std::find(out.begin(), out.end(), hp) == out.end()) out.push_back(std::move(hp));
    } catch (const Invalid& e) {
      throw ConfigError(std::string(setting), std::string(list),
                        fmt::format("entry {} (\"{}\"): {}", index, entry, e.why));
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

HostPort parse_dns_server(std::string_view setting, std::string_view text) {
  HostPort hp = parse_host_port(setting, text, 53);
  asio::error_code ec;
  asio::ip::make_address(hp.host, ec);
  if (ec) {
    throw ConfigError(std::string(setting), std::string(text),
                      fmt::format("\"{}\" is not an IP address; a DNS resolver is given by "
                                  "address (e.g. \"fdaa::3\" or \"127.0.0.1:5353\")",
                                  hp.host));
  }
  return hp;
}

std::string parse_dns_name(std::string_view setting, std::string_view text) {
  std::string_view s = trim(text);
  if (!is_valid_dns_name(s)) {
    throw ConfigError(std::string(setting), std::string(text),
                      s.empty() ? "is empty; expected a DNS name (e.g. \"myapp.internal\")"
                                : "is not a valid DNS name: dot-separated labels of 1-63 "
                                  "letters, digits, '-' or '_' (e.g. \"myapp.internal\")");
  }
  std::string name = lower(s);
  if (name.back() == '.') name.pop_back();
  return name;
}

}  // namespace fly::discovery
