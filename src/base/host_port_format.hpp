// "host:port" as every part of flyrpc writes an address: an IPv6 literal in
// brackets ("[::1]:4370"), anything else as it is ("10.0.0.1:4370").
// The one formatter, so that the dialer, the connection, the metrics endpoint
// and the DNS discovery agree byte for byte (cluster compares addresses).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace fly::detail {

/// A host containing ':' is an IPv6 literal and gets brackets. Allocates once.
std::string join_host_port(std::string_view host, std::uint16_t port);

}  // namespace fly::detail
