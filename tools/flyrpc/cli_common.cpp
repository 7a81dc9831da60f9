#include "cli_common.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <asio/ip/address.hpp>
#include <cstdio>
#include <cstdlib>
#include <random>

#include "discovery/host_port.hpp"
#include "json_msgpack.hpp"

namespace flyrpc_cli {

int exit_code_for(const fly::Error& e) {
  switch (e.code()) {
    case fly::Errc::remote_error:
      return kRemoteError;
    case fly::Errc::no_node_in_region:
    case fly::Errc::not_connected:
      return kNoNode;
    case fly::Errc::timeout:
      return kTimeout;
    case fly::Errc::node_down:
    case fly::Errc::unavailable:
    case fly::Errc::cancelled:
      return kNodeDown;
    case fly::Errc::unknown_function:
    case fly::Errc::bad_arguments:
      return kBadCall;
    case fly::Errc::config:
      return kUsage;
    default:
      return kRemoteError;
  }
}

void print_error(const std::string& message) {
  std::string line = message;
  for (char& c : line) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  std::fprintf(stderr, "flyrpc: %s\n", line.c_str());
}

fly::NodeOptions tool_node_options(const std::string& seeds) {
  fly::NodeOptions o = fly::NodeOptions::from_env();
  o.hidden = true;
  o.listen_host.clear();
  // Unique in the cluster: two tools with the same pid (one per machine, or
  // per container) must not collide, so a random part (std::rand() was
  // never seeded: the same for every run).
  o.name = "flyrpc-cli-" + std::to_string(::getpid()) + "-" +
           std::to_string(std::random_device{}() % 1'000'000);
  if (!seeds.empty()) {
    // --seeds says exactly where the cluster is: the environment's seeds and
    // DNS name are not used.
    o.seeds.clear();
    o.dns_name.clear();
    for (const auto& hp : fly::discovery::parse_host_list("--seeds", seeds, o.port)) {
      o.seeds.push_back(hp.to_string());
    }
  }
  if (o.seeds.empty() && o.dns_name.empty()) {
    throw fly::ConfigError("--seeds", "",
                           "nothing says where the cluster is: give --seeds HOST:PORT,... (e.g. "
                           "--seeds 127.0.0.1:4370), or set FLY_RPC_SEEDS, FLY_RPC_DNS_NAME or "
                           "FLY_APP_NAME (on Fly.io, <app>.internal)");
  }
  o.worker_threads = 1;
  // The tool's SEND/RESP/TIMEOUT lines are logged at info; tools are quiet
  // (warn) otherwise. Never lowers a level SPDLOG_LEVEL asked for.
  if (o.verbose_logging && spdlog::get_level() > spdlog::level::info) {
    spdlog::set_level(spdlog::level::info);
  }
  return o;
}

std::string resolve_host(const std::string& setting, const std::string& host) {
  asio::error_code ec;
  const auto literal = asio::ip::make_address(host, ec);
  if (!ec) return literal.to_string();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &found);
  if (rc != 0 || found == nullptr) {
    throw fly::ConfigError(setting, host,
                           std::string("the host name does not resolve (") +
                               (rc != 0 ? ::gai_strerror(rc) : "no address") +
                               "): give an IP address or a name in /etc/hosts or DNS");
  }
  char text[INET6_ADDRSTRLEN] = {};
  const void* where = found->ai_family == AF_INET6
                          ? static_cast<const void*>(
                                &reinterpret_cast<const sockaddr_in6*>(found->ai_addr)->sin6_addr)
                          : static_cast<const void*>(
                                &reinterpret_cast<const sockaddr_in*>(found->ai_addr)->sin_addr);
  ::inet_ntop(found->ai_family, where, text, sizeof text);
  ::freeaddrinfo(found);
  return asio::ip::make_address(text).to_string();  // canonical form
}

std::string seed_node(const fly::Node& node, const fly::NodeOptions& options) {
  const auto nodes = node.nodes();
  if (nodes.empty()) return "";
  for (const auto& seed : options.seeds) {
    fly::discovery::HostPort want = fly::discovery::parse_host_port("seed", seed, options.port);
    try {
      want.host = resolve_host("seed", want.host);
    } catch (const fly::ConfigError&) {
      continue;  // a seed that does not resolve cannot be the one we reached
    }
    for (const auto& n : nodes) {
      if (n.address.empty()) continue;
      try {
        if (fly::discovery::parse_host_port("address", n.address, 0) == want) return n.name;
      } catch (const fly::ConfigError&) {
        // a peer's advertised address we cannot read: not a match
      }
    }
  }
  return nodes.front().name;
}

std::vector<NodeRow> view_of(fly::Node& node, const std::string& asked,
                             std::chrono::milliseconds timeout) {
  const auto rows = node.rpc<nlohmann::json>(asked, "Fly.nodes", fly::timeout(timeout));
  std::vector<NodeRow> out;
  try {
    for (const auto& r : rows) {
      out.push_back({r.at("name").get<std::string>(), r.at("region").get<std::string>(),
                     r.at("address").get<std::string>(),
                     r.at("functions").get<std::vector<std::string>>()});
    }
  } catch (const nlohmann::json::exception& e) {
    throw fly::RemoteError(
        asked, "Fly.nodes", "bad_result",
        std::string("its table is not [{name, region, address, functions}]: ") + e.what());
  }
  return out;
}

void add_seeds_option(CLI::App& cmd, std::string& seeds) {
  cmd.add_option("--seeds", seeds,
                 "Nodes to join, HOST:PORT,... (default: FLY_RPC_SEEDS, else DNS from "
                 "FLY_RPC_DNS_NAME or FLY_APP_NAME, as `flyrpc node`)");
}

void add_timeout_option(CLI::App& cmd, int& timeout_ms, const std::string& help) {
  cmd.add_option("--timeout", timeout_ms, help)->check(CLI::Range(1, 3'600'000));
}

void add_tls_flags(CLI::App& cmd, TlsFlags& flags) {
  cmd.add_option("--tls-cert", flags.cert,
                 "TLS 1.3 between nodes: this node's PEM certificate (default: FLY_RPC_TLS_CERT)");
  cmd.add_option("--tls-key", flags.key,
                 "Private key of --tls-cert, PEM, unencrypted (default: FLY_RPC_TLS_KEY)");
  cmd.add_option("--tls-ca", flags.ca,
                 "PEM CA that every peer's certificate must chain to (default: FLY_RPC_TLS_CA)");
  cmd.add_flag("--tls-mutual", flags.mutual,
               "Refuse connecting peers without a certificate (also FLY_RPC_TLS_MUTUAL=1)");
}

void apply_tls_flags(const TlsFlags& flags, fly::NodeOptions& options) {
  if (!flags.cert.empty()) options.tls.certificate_file = flags.cert;
  if (!flags.key.empty()) options.tls.private_key_file = flags.key;
  if (!flags.ca.empty()) options.tls.ca_file = flags.ca;
  if (flags.mutual) options.tls.require_client_certificate = true;
}

bool join(fly::Node& node, std::chrono::milliseconds timeout, std::string& why) {
  node.start();
  if (node.wait_for_nodes(1, timeout)) return true;
  why = node.last_join_error();
  if (why.empty()) why = "no node answered within " + std::to_string(timeout.count()) + " ms";
  return false;
}

}  // namespace flyrpc_cli
