// Host/port settings of the discovery layer: static seeds (FLY_RPC_SEEDS,
// NodeOptions::seeds), the DNS resolver (FLY_RPC_DNS_SERVER) and the DNS name
// to poll (FLY_RPC_DNS_NAME). Pure functions: no I/O, no DNS lookups.
//
// Every parser throws fly::ConfigError naming the setting, the text given and
// what to write instead, because these texts come from environment variables
// and options a user typed.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fly::discovery {

/// Where a peer (or a resolver) listens. Parsed values are canonical: IP
/// literals in their standard form (asio's to_string: "fdaa::1", not
/// "FDAA:0::1"), DNS names lower-cased without a trailing dot, so equal
/// endpoints compare equal.
struct HostPort {
  std::string host;  ///< IPv4/IPv6 literal or DNS name, without brackets
  std::uint16_t port = 0;
  /// "host:port", or "[v6]:port" for an IPv6 literal.
  std::string to_string() const;
  bool operator==(const HostPort&) const = default;
};

/// Parses "host:port", "[v6]:port", or a bare host, IPv4 or "[v6]" which
/// takes `default_port` (0: a port is required). Surrounding blanks are
/// ignored. An unbracketed IPv6 literal is accepted as a bare host only when
/// it cannot be misread as "address:port" ("fdaa::3" is fine, "fdaa::1:4369"
/// is refused as ambiguous). Throws fly::ConfigError(setting, text, why).
HostPort parse_host_port(std::string_view setting, std::string_view text,
                         std::uint16_t default_port);

/// A comma-separated list of parse_host_port entries. Blanks around entries
/// are allowed; an empty list or an empty entry ("a:1,,b:2") is refused;
/// duplicates are removed, keeping the first. Errors name the entry.
std::vector<HostPort> parse_host_list(std::string_view setting, std::string_view list,
                                      std::uint16_t default_port);

/// A DNS resolver address: an IPv4 or IPv6 literal (a resolver cannot be
/// found by name), port 53 unless given: "fdaa::3", "[fdaa::3]:53",
/// "127.0.0.1:5353".
HostPort parse_dns_server(std::string_view setting, std::string_view text);

/// Whether `name` is a DNS name we can query: dot-separated labels of 1-63
/// letters, digits, '-' or '_' (not starting or ending with '-'), at most 253
/// characters, an optional trailing dot.
bool is_valid_dns_name(std::string_view name) noexcept;

/// Checks a DNS name to poll (e.g. "myapp.internal") and returns it
/// lower-cased without a trailing dot; throws fly::ConfigError otherwise.
std::string parse_dns_name(std::string_view setting, std::string_view text);

}  // namespace fly::discovery
