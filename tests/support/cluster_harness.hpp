// Real `flyrpc node` processes on loopback for cluster tests: start nodes,
// read the address each one listens on, call them through the real CLI, and
// kill or stop them. Every process dies with the harness.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "support/process.hpp"

namespace flytest {

struct NodeSpec {
  std::string name;
  std::string region;
  std::vector<std::string> seeds;  ///< addresses ("127.0.0.1:port")
  std::vector<std::string> extra;  ///< more CLI flags
  std::map<std::string, std::string> env;
};

class NodeProcess {
 public:
  NodeProcess(NodeSpec spec, const std::string& cookie, const std::string& primary);
  const std::string& name() const { return spec_.name; }
  const std::string& region() const { return spec_.region; }
  /// "127.0.0.1:port", once listening (empty before).
  const std::string& address() const { return address_; }
  Process& process() { return process_; }
  /// Waits for the "listening" line; false after `timeout`.
  bool wait_listening(std::chrono::milliseconds timeout);
  std::string out() const { return process_.stdout_text(); }
  std::string err() const { return process_.stderr_text(); }

 private:
  NodeSpec spec_;
  Process process_;
  std::string address_;
};

/// Runs `flyrpc call ...` as a hidden node with the cluster's cookie.
ProcessResult cli_call(const std::string& cookie, const std::vector<std::string>& args,
                       std::chrono::milliseconds timeout = std::chrono::seconds(20));

/// The region table of `node` as {region: [names]} via Fly.region_table, or
/// nullopt if the call failed.
std::optional<std::map<std::string, std::vector<std::string>>> region_table(
    const std::string& cookie, const std::string& seed, const std::string& node);

using RegionTable = std::map<std::string, std::vector<std::string>>;

/// True if every running node not in `skip` reports `expected` as its own
/// region table (asked through the CLI).
bool tables_are(const std::string& cookie, const std::vector<std::unique_ptr<NodeProcess>>& nodes,
                const RegionTable& expected, const std::set<std::string>& skip = {});

/// Every node's table, one line each, for failure messages.
std::string dump_tables(const std::string& cookie,
                        const std::vector<std::unique_ptr<NodeProcess>>& nodes,
                        const std::set<std::string>& skip = {});

/// A fresh random cookie.
std::string random_cookie();

}  // namespace flytest
