// flyrpc call: joins as a hidden node, calls a function on a region, the
// primary or a named node, and prints the result as JSON.
#include <nlohmann/json.hpp>

#include <iostream>

#include "cli_common.hpp"
#include "commands.hpp"
#include "json_msgpack.hpp"

namespace flyrpc_cli {

namespace {
struct CallFlags {
  std::string seeds;
  std::string region;
  bool primary = false;
  std::string node;
  int timeout_ms = 5000;
  std::string function;
  std::vector<std::string> args;
  TlsFlags tls;
};

int run_call(const CallFlags& f) {
  const int targets = (f.region.empty() ? 0 : 1) + (f.primary ? 1 : 0) + (f.node.empty() ? 0 : 1);
  if (targets != 1) {
    print_error("give exactly one of --region R, --primary or --node NAME");
    return kUsage;
  }
  nlohmann::json args = nlohmann::json::array();
  for (std::size_t i = 0; i < f.args.size(); ++i) {
    try {
      args.push_back(nlohmann::json::parse(f.args[i]));
    } catch (const nlohmann::json::parse_error&) {
      print_error("argument " + std::to_string(i + 1) + " is not JSON: " + f.args[i] +
                  " (strings need quotes: '\"fly\"')");
      return kUsage;
    }
  }
  const auto timeout = std::chrono::milliseconds(f.timeout_ms);
  fly::NodeOptions options = tool_node_options(f.seeds);
  apply_tls_flags(f.tls, options);
  fly::Node node(options);
  std::string why;
  if (!join(node, timeout, why)) {
    print_error("could not join the cluster: " + why);
    return kCannotJoin;
  }
  try {
    nlohmann::json result;
    const fly::ArgumentArray<nlohmann::json> call_args{args};
    if (!f.node.empty()) {
      node.wait_for_node(f.node, timeout);
      result = node.rpc<nlohmann::json>(f.node, f.function, call_args, fly::timeout(timeout));
    } else {
      std::string region = f.region;
      if (f.primary) {
        // A tool's own PRIMARY_REGION wins; else ask the cluster.
        region = std::getenv("PRIMARY_REGION") && *std::getenv("PRIMARY_REGION")
                     ? std::string(std::getenv("PRIMARY_REGION"))
                     : node.rpc<std::string>(node.nodes().front().name, "Fly.primary_region");
      }
      node.wait_for_region(region, timeout);
      result =
          node.rpc_region<nlohmann::json>(region, f.function, call_args, fly::timeout(timeout));
    }
    std::cout << result.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    node.stop();
    return kOk;
  } catch (const fly::Error& e) {
    print_error(e.what());
    return exit_code_for(e);
  }
}
}  // namespace

Runner add_call_command(CLI::App& app) {
  auto flags = std::make_shared<CallFlags>();
  CLI::App* cmd = app.add_subcommand(
      "call", "Run a function on a node of a region, the primary, or a named node");
  cmd->add_option("--seeds", flags->seeds, "Nodes to join, HOST:PORT,... (default: FLY_RPC_SEEDS)");
  cmd->add_option("--region", flags->region, "Run on a node of this region");
  cmd->add_flag("--primary", flags->primary, "Run on a node of the primary region");
  cmd->add_option("--node", flags->node, "Run on this node");
  cmd->add_option("--timeout", flags->timeout_ms,
                  "Milliseconds to wait for the target and for the answer (default 5000)")
      ->check(CLI::Range(1, 3'600'000));
  cmd->add_option("function", flags->function, "Module.function")->required();
  cmd->add_option("args", flags->args, "Arguments, each a JSON value");
  add_tls_flags(*cmd, flags->tls);
  cmd->footer(
      "Exit status: 0 result, 1 remote error, 2 usage, 3 no node in region, 4 timeout,\n"
      "5 node down, 6 unknown function or bad arguments, 7 could not join the cluster.\n"
      "Examples:\n"
      "  flyrpc call --seeds 127.0.0.1:4370 --region syd String.upcase '\"fly\"'\n"
      "  flyrpc call --seeds 127.0.0.1:4370 --primary Kernel.+ 1 2\n"
      "  flyrpc call --seeds 127.0.0.1:4370 --node lax-1 --timeout 500 Process.sleep 2000");
  return [flags] { return run_call(*flags); };
}

}  // namespace flyrpc_cli
