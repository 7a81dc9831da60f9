// NodeOptions::from_env and the validation of every option.
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "base/log.hpp"
#include "discovery/host_port.hpp"
#include "fly/node.hpp"
#include "net/tls.hpp"
#include "node/cookie.hpp"
#include "node/resolve_options.hpp"
#include "telemetry/metrics_address.hpp"

namespace fly {

namespace {
const char* env(const char* name) {
  const char* v = std::getenv(name);
  return (v != nullptr && *v != '\0') ? v : nullptr;
}

std::uint16_t parse_port(const char* setting, const std::string& text) {
  if (text.empty() || text.size() > 5 ||
      text.find_first_not_of("0123456789") != std::string::npos) {
    throw ConfigError(setting, text, "a port is a number from 1 to 65535");
  }
  const unsigned long v = std::stoul(text);
  if (v == 0 || v > 65535) throw ConfigError(setting, text, "a port is a number from 1 to 65535");
  return static_cast<std::uint16_t>(v);
}

// A yes/no variable where a typo must not silently mean "no" (security).
bool parse_switch(const char* setting, const std::string& text) {
  if (text == "1" || text == "true" || text == "yes") return true;
  if (text == "0" || text == "false" || text == "no") return false;
  throw ConfigError(setting, text, "expected 1, true or yes (on), or 0, false or no (off)");
}

// TLS options that belong together (the files themselves are read and
// checked when the node builds its TLS context: net::TlsContext).
void check_tls(const NodeOptions& o) {
  const TlsOptions& t = o.tls;
  if (!t.private_key_file.empty() && t.certificate_file.empty()) {
    throw ConfigError(net::kTlsKeyOption, t.private_key_file,
                      "a private key without its certificate: set the certificate too");
  }
  if (!t.enabled()) {
    if (t.require_client_certificate) {
      throw ConfigError(net::kTlsMutualOption, "on",
                        "needs TLS on: set the certificate, its key and the CA file");
    }
    return;
  }
  if (t.ca_file.empty()) {
    throw ConfigError(net::kTlsCaOption, "",
                      "TLS needs the CA that signs the nodes' certificates, to verify peers");
  }
  if (!t.certificate_file.empty() && t.private_key_file.empty()) {
    throw ConfigError(net::kTlsKeyOption, "",
                      "required with the certificate " + t.certificate_file);
  }
  if (t.certificate_file.empty() && !o.listen_host.empty()) {
    throw ConfigError(net::kTlsCertOption, "",
                      "a node that accepts connections must present a certificate (only a "
                      "hidden node that does not listen may use TLS with just a CA file)");
  }
}

std::string default_name() {
  if (const char* id = env("FLY_MACHINE_ID")) return id;
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') std::strcpy(host, "node");
  return std::string(host) + "-" + std::to_string(::getpid());
}
}  // namespace

NodeOptions NodeOptions::from_env() {
  NodeOptions o;
  const RegionIdentity id = RegionIdentity::from_env();
  o.region = id.my_region;
  o.primary_region = id.primary_region;
  o.name = default_name();
  if (const char* ip = env("FLY_PRIVATE_IP")) o.listen_host = ip;
  if (const char* port = env("FLY_RPC_PORT")) o.port = parse_port("FLY_RPC_PORT", port);
  if (const char* cookie = env("FLY_RPC_COOKIE")) o.cookie = cookie;
  if (const char* seeds = env("FLY_RPC_SEEDS")) {
    for (const auto& hp : discovery::parse_host_list("FLY_RPC_SEEDS", seeds, o.port)) {
      o.seeds.push_back(hp.to_string());
    }
  }
  if (const char* name = env("FLY_RPC_DNS_NAME")) {
    o.dns_name = discovery::parse_dns_name("FLY_RPC_DNS_NAME", name);
  } else if (const char* app = env("FLY_APP_NAME")) {
    o.dns_name = discovery::parse_dns_name("FLY_APP_NAME", std::string(app) + ".internal");
  }
  if (const char* server = env("FLY_RPC_DNS_SERVER")) {
    o.dns_server = discovery::parse_dns_server("FLY_RPC_DNS_SERVER", server).to_string();
  }
  if (const char* lazy = env("FLY_RPC_LAZY_CONNECTIONS")) {
    o.lazy_connections = parse_switch("FLY_RPC_LAZY_CONNECTIONS", lazy);
  }
  if (const char* verbose = env("FLY_RPC_VERBOSE")) {
    o.verbose_logging = parse_switch("FLY_RPC_VERBOSE", verbose);
  }
  log::check_env_levels();  // FLY_RPC_LOG_LEVEL, SPDLOG_LEVEL: read by the logger itself
  if (const char* cert = env("FLY_RPC_TLS_CERT")) o.tls.certificate_file = cert;
  if (const char* key = env("FLY_RPC_TLS_KEY")) o.tls.private_key_file = key;
  if (const char* ca = env("FLY_RPC_TLS_CA")) o.tls.ca_file = ca;
  if (const char* mutual = env("FLY_RPC_TLS_MUTUAL")) {
    o.tls.require_client_certificate = parse_switch("FLY_RPC_TLS_MUTUAL", mutual);
  }
  if (const char* metrics = env("FLY_RPC_METRICS")) {
    // Validated here so that the error names the variable.
    o.metrics_address =
        telemetry::to_string(telemetry::parse_metrics_address(metrics, "FLY_RPC_METRICS"));
  }
  return o;
}

namespace node {

void resolve_options(NodeOptions& o) {
  if (o.name.empty()) o.name = default_name();
  if (o.name.size() > 255 || o.name.find_first_of(" \t\r\n") != std::string::npos) {
    throw ConfigError("node name", o.name,
                      "a node name is 1-255 printable characters without spaces");
  }
  for (char c : o.name) {
    if (c < 0x21 || c > 0x7e) {
      throw ConfigError("node name", o.name, "a node name is 1-255 printable ASCII characters");
    }
  }
  validate_region("region", o.region);
  validate_region("primary region", o.primary_region);
  if (o.cookie.empty()) o.cookie = read_or_create_cookie();
  validate_cookie("cookie", o.cookie);
  if (o.listen_host.empty() && !o.hidden) {
    throw ConfigError("listen address", "", "only a hidden node may run without listening");
  }
  for (const auto& seed : o.seeds) discovery::parse_host_port("seed", seed, o.port);
  if (o.heartbeat_interval.count() <= 0 || o.heartbeat_timeout <= o.heartbeat_interval) {
    throw ConfigError("heartbeat timeout", std::to_string(o.heartbeat_timeout.count()) + " ms",
                      "must be greater than the heartbeat interval (" +
                          std::to_string(o.heartbeat_interval.count()) + " ms)");
  }
  if (o.max_frame_size < 64 * 1024 || o.max_frame_size > (1u << 30)) {
    throw ConfigError("max frame size", std::to_string(o.max_frame_size),
                      "must be between 64 KiB and 1 GiB");
  }
  if (o.idle_connection_timeout.count() <= 0) {
    throw ConfigError("idle connection timeout",
                      std::to_string(o.idle_connection_timeout.count()) + " ms",
                      "must be positive");
  }
  if (o.call_timeout.count() <= 0) {
    throw ConfigError("call timeout", std::to_string(o.call_timeout.count()), "must be positive");
  }
  if (!o.metrics_address.empty()) {
    telemetry::parse_metrics_address(o.metrics_address, "metrics address");
  }
  check_tls(o);
  if (o.io_threads == 0) o.io_threads = 1;
  if (o.worker_threads == 0) o.worker_threads = 1;
  if (o.reconnect_min.count() <= 0) o.reconnect_min = std::chrono::milliseconds(1);
  if (o.reconnect_max < o.reconnect_min) o.reconnect_max = o.reconnect_min;
}

}  // namespace node
}  // namespace fly
