#include "cli_common.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "discovery/host_port.hpp"

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
  o.dns_name.clear();
  o.name = "flyrpc-cli-" + std::to_string(::getpid()) + "-" + std::to_string(std::rand() % 100000);
  if (!seeds.empty()) {
    o.seeds.clear();
    for (const auto& hp : fly::discovery::parse_host_list("--seeds", seeds, o.port)) {
      o.seeds.push_back(hp.to_string());
    }
  }
  if (o.seeds.empty()) {
    throw fly::ConfigError(
        "--seeds", "",
        "give at least one node to join, e.g. --seeds 127.0.0.1:4370 (or set FLY_RPC_SEEDS)");
  }
  o.worker_threads = 1;
  return o;
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
