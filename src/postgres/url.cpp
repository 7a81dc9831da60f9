#include "fly/postgres/url.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <string>

#include "fly/errors.hpp"

namespace fly::postgres {

namespace {

constexpr std::string_view kTop1 = "top1.nearest.of.";
constexpr std::string_view kTop2 = "top2.nearest.of.";

struct Parts {
  std::string_view scheme;    // "postgres://" or "postgresql://"
  std::string_view userinfo;  // "user:pass@" (with the @) or ""
  std::string_view host;      // "db.internal" or "[fdaa::1]"
  std::string_view port;      // digits or ""
  std::string_view rest;      // "/db?x=y" or ""
};

// The URL with any password replaced, for error messages.
std::string redact(std::string_view url) {
  const auto s = url.find("://");
  if (s == std::string_view::npos) return std::string(url);
  const auto end = url.find_first_of("/?#", s + 3);
  const auto auth = url.substr(s + 3, end == std::string_view::npos ? url.npos : end - s - 3);
  const auto at = auth.rfind('@');
  if (at == std::string_view::npos) return std::string(url);
  const auto colon = auth.substr(0, at).find(':');
  if (colon == std::string_view::npos) return std::string(url);
  std::string out(url.substr(0, s + 3 + colon + 1));
  out += "***";
  out += url.substr(s + 3 + at);
  return out;
}

bool is_ip_literal(std::string_view host) {
  if (!host.empty() && host.front() == '[') return true;
  in_addr a{};
  return inet_pton(AF_INET, std::string(host).c_str(), &a) == 1;
}

Parts split(std::string_view url, std::string_view setting) {
  auto fail = [&](const std::string& why) -> Parts {
    throw ConfigError(std::string(setting), redact(url), why);
  };
  Parts p;
  for (std::string_view scheme : {"postgres://", "postgresql://"}) {
    if (url.substr(0, scheme.size()) == scheme) p.scheme = url.substr(0, scheme.size());
  }
  if (p.scheme.empty()) return fail("expected a postgres:// or postgresql:// URL");
  const auto after = url.substr(p.scheme.size());
  const auto end = after.find_first_of("/?#");
  const auto authority = after.substr(0, end);
  p.rest = end == std::string_view::npos ? std::string_view() : after.substr(end);
  const auto at = authority.rfind('@');
  std::string_view hostport = authority;
  if (at != std::string_view::npos) {
    p.userinfo = authority.substr(0, at + 1);
    hostport = authority.substr(at + 1);
  }
  if (hostport.find(',') != std::string_view::npos) {
    return fail("several hosts cannot be rewritten; give one host");
  }
  std::string_view port_part;
  if (!hostport.empty() && hostport.front() == '[') {
    const auto close = hostport.find(']');
    if (close == std::string_view::npos) return fail("unterminated [IPv6] host");
    p.host = hostport.substr(0, close + 1);
    port_part = hostport.substr(close + 1);
  } else {
    const auto colon = hostport.find(':');
    p.host = hostport.substr(0, colon);
    port_part = colon == std::string_view::npos ? std::string_view() : hostport.substr(colon);
  }
  if (p.host.empty() || p.host == "[]") return fail("the URL names no host");
  if (!port_part.empty()) {
    if (port_part.front() != ':') return fail("unexpected characters after the host");
    p.port = port_part.substr(1);
    int port = 0;
    auto [ptr, ec] = std::from_chars(p.port.data(), p.port.data() + p.port.size(), port);
    if (p.port.empty() || ec != std::errc() || ptr != p.port.data() + p.port.size() || port < 1 ||
        port > 65535) {
      return fail("the port must be a number from 1 to 65535");
    }
  }
  return p;
}

}  // namespace

std::string rewrite_database_url(std::string_view url, const UrlContext& ctx,
                                 std::string_view setting) {
  if (!ctx.production) return std::string(url);
  const Parts p = split(url, setting);

  std::string host;
  if (p.host.find(".flycast") != std::string_view::npos || is_ip_literal(p.host) ||
      p.host.substr(0, kTop1.size()) == kTop1) {
    host = p.host;
  } else if (p.host.substr(0, kTop2.size()) == kTop2) {
    host = std::string(kTop1) + std::string(p.host.substr(kTop2.size()));
  } else {
    host = std::string(kTop1) + std::string(p.host);
  }
  const std::string port = ctx.primary ? std::string(p.port) : std::to_string(kReplicaPort);

  std::string out(p.scheme);
  out += p.userinfo;
  out += host;
  if (!port.empty()) out += ":" + port;
  out += p.rest;
  return out;
}

}  // namespace fly::postgres
