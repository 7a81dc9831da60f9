// What the cluster-facing subcommands share: joining as a hidden node, the
// exit codes, error printing, and the flags they have in common.
#pragma once

#include <CLI/CLI.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

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

/// Options of a hidden tool node. It finds the cluster at `seeds` ("h:p,h:p")
/// when given, else the way `flyrpc node` does (NodeOptions::from_env):
/// FLY_RPC_SEEDS, and DNS from FLY_RPC_DNS_NAME or FLY_APP_NAME. Throws
/// fly::ConfigError for bad settings, or when nothing says where the cluster is.
/// FLY_RPC_VERBOSE=1 (options.verbose_logging) raises the log level to info,
/// so that the tool's own SEND/RESP/TIMEOUT lines are printed.
fly::NodeOptions tool_node_options(const std::string& seeds);

/// `host` as an IP literal: itself if it is one, else the first address it
/// resolves to (e.g. "localhost", "fly-local-6pn"). Throws fly::ConfigError
/// naming `setting` when it does not resolve.
std::string resolve_host(const std::string& setting, const std::string& host);

/// The connected visible node that answers for "the cluster" to a tool: the
/// first of `options.seeds` that is connected (matched by address), else any
/// connected visible node. "" if none is connected.
std::string seed_node(const fly::Node& node, const fly::NodeOptions& options);

/// One node as another node sees it (the rows of Fly.nodes).
struct NodeRow {
  std::string name;
  std::string region;
  std::string address;
  std::vector<std::string> functions;
};
/// `asked`'s own view of the cluster: its visible nodes, by its Fly.nodes
/// built-in. Throws what the call throws (fly::Error).
std::vector<NodeRow> view_of(fly::Node& node, const std::string& asked,
                             std::chrono::milliseconds timeout);

/// --seeds HOST:PORT,... for a tool node (tool_node_options); `seeds` must
/// outlive the parse.
void add_seeds_option(CLI::App& cmd, std::string& seeds);
/// --timeout in ms, checked to 1..3600000; `help` says what it bounds.
/// `timeout_ms` must outlive the parse.
void add_timeout_option(CLI::App& cmd, int& timeout_ms, const std::string& help);

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
