// The address of the metrics endpoint, as given by FLY_RPC_METRICS,
// `flyrpc node --metrics` or NodeOptions::metrics_address.
#pragma once

// Standard headers first (see metrics_server.hpp).
#include <string>
#include <string_view>

#include <asio/ip/tcp.hpp>

namespace fly::telemetry {

/// Parses "HOST:PORT" where HOST is an IPv4 address ("0.0.0.0", "127.0.0.1"),
/// an IPv6 address in brackets ("[::]", "[fdaa::3]", "[fe80::1%eth0]") or
/// "localhost" (127.0.0.1), and PORT is 0-65535 (0: any free port). Names are
/// not resolved: a listen address must be unambiguous.
///
/// Throws fly::ConfigError naming `setting` and the value, saying what is
/// wrong, e.g. `invalid FLY_RPC_METRICS="9091": expected HOST:PORT, e.g.
/// 0.0.0.0:9091 or [::]:9091`.
asio::ip::tcp::endpoint parse_metrics_address(std::string_view value,
                                              std::string_view setting = "FLY_RPC_METRICS");

/// "1.2.3.4:9091" or "[::1]:9091": the form parse_metrics_address reads.
std::string to_string(const asio::ip::tcp::endpoint& endpoint);

}  // namespace fly::telemetry
