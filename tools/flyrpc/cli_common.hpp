// What the cluster-facing subcommands share: joining as a hidden node, the
// exit codes, and error printing.
#pragma once

#include <CLI/CLI.hpp>

#include <chrono>
#include <memory>
#include <string>

#include "fly/errors.hpp"
#include "fly/node.hpp"

namespace flyrpc_cli {

/// Exit statuses (see main.cpp).
enum Exit : int {
  kOk = 0,
  kRemoteError = 1,
  kUsage = 2,
  kNoNode = 3,
  kTimeout = 4,
  kNodeDown = 5,
  kBadCall = 6,
  kCannotJoin = 7,
};

/// The exit status for an error of a call.
int exit_code_for(const fly::Error& e);

/// Prints "flyrpc: <message>" as one line on stderr.
void print_error(const std::string& message);

/// Options of a hidden tool node that dials `seeds` ("h:p,h:p"; FLY_RPC_SEEDS
/// if empty). Throws fly::ConfigError for bad seeds or none at all.
fly::NodeOptions tool_node_options(const std::string& seeds);

/// --tls-cert, --tls-key, --tls-ca, --tls-mutual: TLS between nodes. Each
/// given flag overrides its FLY_RPC_TLS_* variable (README "TLS").
struct TlsFlags {
  std::string cert;
  std::string key;
  std::string ca;
  bool mutual = false;
};
/// Adds the four flags to `cmd`; `flags` must outlive the parse.
void add_tls_flags(CLI::App& cmd, TlsFlags& flags);
/// Puts the flags that were given into `options.tls` (the Node checks them).
void apply_tls_flags(const TlsFlags& flags, fly::NodeOptions& options);

/// Starts `node` and waits until it is connected to at least one node, up to
/// `timeout`. False (with `why` set from the join errors) if it never was.
bool join(fly::Node& node, std::chrono::milliseconds timeout, std::string& why);

}  // namespace flyrpc_cli
