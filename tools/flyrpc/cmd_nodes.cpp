// flyrpc nodes: joins as a hidden node and lists the visible nodes as the
// seed node sees them (its Fly.nodes built-in): the view of the node an
// operator points it at, not the tool's own.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <iostream>

#include "cli_common.hpp"
#include "commands.hpp"

namespace flyrpc_cli {

namespace {
struct NodesFlags {
  std::string seeds;
  std::string node;
  bool json = false;
  int timeout_ms = 5000;
  TlsFlags tls;
};

int run_nodes(const NodesFlags& f) {
  fly::NodeOptions options = tool_node_options(f.seeds);
  apply_tls_flags(f.tls, options);
  fly::Node node(options);
  const auto timeout = std::chrono::milliseconds(f.timeout_ms);
  std::string why;
  if (!join(node, timeout, why)) {
    print_error("could not join the cluster: " + why);
    return kCannotJoin;
  }
  std::vector<NodeRow> rows;
  try {
    const std::string seed = seed_node(node, options);
    std::string asked = f.node.empty() ? seed : f.node;
    if (asked != seed) {
      // A name the seed does not list is not in the cluster: say so at once.
      const auto seed_rows = view_of(node, seed, timeout);
      const bool listed = std::any_of(seed_rows.begin(), seed_rows.end(),
                                      [&](const NodeRow& r) { return r.name == asked; });
      if (!listed) {
        print_error("no node named \"" + asked + "\" in the cluster (as " + seed + " sees it)");
        return kNoNode;
      }
      if (!node.wait_for_node(asked, timeout)) {
        print_error("node \"" + asked + "\" is in the cluster but could not be reached within " +
                    std::to_string(f.timeout_ms) + " ms");
        return kNoNode;
      }
    }
    rows = view_of(node, asked, timeout);
  } catch (const fly::Error& e) {
    print_error(e.what());
    return exit_code_for(e);
  }
  std::sort(rows.begin(), rows.end(),
            [](const NodeRow& a, const NodeRow& b) { return a.name < b.name; });
  if (f.json) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const auto& n : rows) {
      out.push_back({{"name", n.name},
                     {"region", n.region},
                     {"address", n.address},
                     {"functions", n.functions}});
    }
    std::cout << out.dump() << "\n";
  } else {
    std::size_t w = 4;
    for (const auto& n : rows) w = std::max(w, n.name.size());
    std::cout << fmt::format("{:<{}}  {:<8}  {}\n", "NAME", w, "REGION", "ADDRESS");
    for (const auto& n : rows) {
      std::cout << fmt::format("{:<{}}  {:<8}  {}\n", n.name, w, n.region, n.address);
    }
  }
  node.stop();
  return kOk;
}
}  // namespace

Runner add_nodes_command(CLI::App& app) {
  auto flags = std::make_shared<NodesFlags>();
  CLI::App* cmd = app.add_subcommand(
      "nodes", "List the visible nodes of a cluster, as the seed node (or --node) sees them");
  add_seeds_option(*cmd, flags->seeds);
  cmd->add_option("--node", flags->node,
                  "Show this node's view instead of the first seed's (default: the node at "
                  "the first reachable seed address)");
  cmd->add_flag("--json", flags->json,
                "Print one JSON array of {name, region, address, functions}");
  add_tls_flags(*cmd, flags->tls);
  add_timeout_option(*cmd, flags->timeout_ms,
                     "Give up joining (and asking) after this many ms (default 5000)");
  cmd->footer(
      "Prints the table of the node it reached (its Fly.nodes built-in): what that node\n"
      "sees, which is what to look at when debugging it. Joins as a hidden node (it appears\n"
      "in no table). Exit 3 if --node is not in the cluster, 7 if it cannot join.\n"
      "Examples:\n"
      "  flyrpc nodes --seeds 127.0.0.1:4370\n"
      "  flyrpc nodes --seeds 127.0.0.1:4370 --node lax-1 --json\n"
      "  flyrpc nodes                        # inside `fly ssh console` (FLY_APP_NAME)");
  return [flags] { return run_nodes(*flags); };
}

}  // namespace flyrpc_cli
