#include "telemetry/metrics_address.hpp"

#include <asio/ip/address.hpp>
#include <charconv>

#include "base/host_port_format.hpp"
#include "fly/errors.hpp"

namespace fly::telemetry {

namespace {

constexpr const char* expected_form = "expected HOST:PORT, e.g. 0.0.0.0:9091 or [::]:9091";

std::uint16_t parse_port(std::string_view port, const std::string& setting,
                         std::string_view value) {
  if (port.empty())
    throw ConfigError(setting, std::string(value), "missing port; " + std::string(expected_form));
  unsigned long n = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
  if (ec != std::errc() || end != port.data() + port.size() || port.size() > 5 || n > 65535) {
    throw ConfigError(setting, std::string(value),
                      "port \"" + std::string(port) + "\" is not a number from 0 to 65535");
  }
  return static_cast<std::uint16_t>(n);
}

}  // namespace

asio::ip::tcp::endpoint parse_metrics_address(std::string_view value,
                                              std::string_view setting_view) {
  const std::string setting(setting_view);
  const std::string v(value);
  if (value.empty()) throw ConfigError(setting, v, std::string("empty; ") + expected_form);
  for (char c : value) {
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      throw ConfigError(setting, v, "contains a space or a non-printable character");
    }
  }

  std::string_view host;
  std::string_view port;
  bool bracketed = false;
  if (value.front() == '[') {
    const auto close = value.find(']');
    if (close == std::string_view::npos)
      throw ConfigError(setting, v, "missing ']' after the IPv6 address");
    host = value.substr(1, close - 1);
    const std::string_view rest = value.substr(close + 1);
    if (rest.empty() || rest.front() != ':') {
      throw ConfigError(setting, v, std::string("missing \":PORT\" after ']'; ") + expected_form);
    }
    port = rest.substr(1);
    bracketed = true;
  } else {
    const auto colon = value.rfind(':');
    if (colon == std::string_view::npos) throw ConfigError(setting, v, expected_form);
    host = value.substr(0, colon);
    port = value.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      throw ConfigError(setting, v, "an IPv6 address must be in brackets, e.g. [::]:9091");
    }
  }
  if (host.empty()) {
    throw ConfigError(setting, v, "missing host (use 0.0.0.0 or [::] for every interface)");
  }
  const std::uint16_t port_number = parse_port(port, setting, value);

  asio::error_code ec;
  asio::ip::address address;
  if (bracketed) {
    address = asio::ip::make_address_v6(std::string(host), ec);
    if (ec) throw ConfigError(setting, v, "\"" + std::string(host) + "\" is not an IPv6 address");
  } else if (host == "localhost") {
    address = asio::ip::address_v4::loopback();
  } else {
    address = asio::ip::make_address_v4(std::string(host), ec);
    if (ec) {
      throw ConfigError(setting, v,
                        "\"" + std::string(host) +
                            "\" is not an IPv4 address (host names are not resolved; "
                            "use 0.0.0.0, 127.0.0.1 or [::])");
    }
  }
  return {address, port_number};
}

std::string to_string(const asio::ip::tcp::endpoint& endpoint) {
  const auto address = endpoint.address();
  return detail::join_host_port(address.to_string(), endpoint.port());
}

}  // namespace fly::telemetry
