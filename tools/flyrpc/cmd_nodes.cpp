// flyrpc nodes: joins as a hidden node, waits for the mesh to settle, lists
// the visible nodes.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <iostream>
#include <thread>

#include "cli_common.hpp"
#include "commands.hpp"

namespace flyrpc_cli {

namespace {
struct NodesFlags {
  std::string seeds;
  bool json = false;
  int timeout_ms = 5000;
  int settle_ms = 300;
  TlsFlags tls;
};

// The set of visible nodes has not changed for `settle`: the mesh is as
// complete as it is going to get (gossip adds members within milliseconds).
void wait_settled(fly::Node& node, std::chrono::milliseconds settle,
                  std::chrono::steady_clock::time_point deadline) {
  auto names = [&] {
    std::vector<std::string> v;
    for (const auto& n : node.nodes()) v.push_back(n.name);
    return v;
  };
  auto last = names();
  auto stable_since = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() < deadline &&
         std::chrono::steady_clock::now() - stable_since < settle) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling a settle window
    auto now = names();
    if (now != last) {
      last = std::move(now);
      stable_since = std::chrono::steady_clock::now();
    }
  }
}

int run_nodes(const NodesFlags& f) {
  fly::NodeOptions options = tool_node_options(f.seeds);
  apply_tls_flags(f.tls, options);
  fly::Node node(options);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(f.timeout_ms);
  std::string why;
  if (!join(node, std::chrono::milliseconds(f.timeout_ms), why)) {
    print_error("could not join the cluster: " + why);
    return kCannotJoin;
  }
  wait_settled(node, std::chrono::milliseconds(f.settle_ms), deadline);
  const auto nodes = node.nodes();
  if (f.json) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const auto& n : nodes) {
      out.push_back({{"name", n.name},
                     {"region", n.region},
                     {"address", n.address},
                     {"functions", n.functions}});
    }
    std::cout << out.dump() << "\n";
  } else {
    std::size_t w = 4;
    for (const auto& n : nodes) w = std::max(w, n.name.size());
    std::cout << fmt::format("{:<{}}  {:<8}  {}\n", "NAME", w, "REGION", "ADDRESS");
    for (const auto& n : nodes) {
      std::cout << fmt::format("{:<{}}  {:<8}  {}\n", n.name, w, n.region, n.address);
    }
  }
  node.stop();
  return kOk;
}
}  // namespace

Runner add_nodes_command(CLI::App& app) {
  auto flags = std::make_shared<NodesFlags>();
  CLI::App* cmd = app.add_subcommand("nodes", "List the visible nodes of a cluster");
  cmd->add_option("--seeds", flags->seeds, "Nodes to join, HOST:PORT,... (default: FLY_RPC_SEEDS)");
  cmd->add_flag("--json", flags->json,
                "Print one JSON array of {name, region, address, functions}");
  add_tls_flags(*cmd, flags->tls);
  cmd->add_option("--timeout", flags->timeout_ms,
                  "Give up joining after this many ms (default 5000)")
      ->check(CLI::Range(1, 3'600'000));
  cmd->footer(
      "Joins as a hidden node (it appears in no table). Exit 7 if it cannot join.\n"
      "Examples:\n"
      "  flyrpc nodes --seeds 127.0.0.1:4370\n"
      "  flyrpc nodes --seeds 127.0.0.1:4370 --json");
  return [flags] { return run_nodes(*flags); };
}

}  // namespace flyrpc_cli
