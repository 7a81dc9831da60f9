// flyrpc call: joins as a hidden node, calls a function on a region, the
// primary or a named node, and prints the result as JSON.
//
// It decides as soon as it knows: once joined, unless it already sees the
// target, it asks the node it reached (the seed) for that node's member list
// (Fly.nodes, a built-in of every node), and a region or node missing from it
// is exit 3 at once. --wait waits up to --timeout for one to appear instead.
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <iostream>
#include <optional>
#include <set>

#include "cli_common.hpp"
#include "commands.hpp"
#include "fly/region.hpp"
#include "json_msgpack.hpp"

namespace flyrpc_cli {

namespace {
struct CallFlags {
  std::string seeds;
  std::string region;
  bool primary = false;
  std::string node;
  int timeout_ms = 5000;
  bool wait = false;
  bool verbose = false;
  std::string function;
  std::vector<std::string> args;
  TlsFlags tls;
};

// What the seed knows, merged with what this tool already sees: the target
// is known to exist when either has it.
struct Known {
  std::set<std::string> regions;
  std::set<std::string> names;
};

Known known_members(fly::Node& node, const std::vector<NodeRow>& seed_view) {
  Known k;
  for (const auto& r : seed_view) {
    k.regions.insert(r.region);
    k.names.insert(r.name);
  }
  for (const auto& n : node.nodes()) {
    k.regions.insert(n.region);
    k.names.insert(n.name);
  }
  return k;
}

// "a, b, c" (the first 20 of a large cluster, and how many there are).
std::string joined(const std::set<std::string>& items) {
  constexpr std::size_t kShown = 20;
  std::string out;
  std::size_t n = 0;
  for (const auto& i : items) {
    if (n++ == kShown) {
      out += ", ... (" + std::to_string(items.size()) + " in all)";
      break;
    }
    out += (out.empty() ? "" : ", ") + i;
  }
  return out.empty() ? "none" : out;
}

// The arguments are extras (see add_call_command), which CLI11's usage line
// does not show: add them.
class CallFormatter : public CLI::Formatter {
 public:
  std::string make_usage(const CLI::App* app, std::string name) const override {
    std::string usage = CLI::Formatter::make_usage(app, std::move(name));
    const auto end = usage.find_last_not_of('\n') + 1;
    return usage.substr(0, end) + " [ARG...]" + usage.substr(end);
  }
};

int run_call(const CallFlags& f) {
  nlohmann::json args = nlohmann::json::array();
  for (std::size_t i = 0; i < f.args.size(); ++i) {
    try {
      args.push_back(nlohmann::json::parse(f.args[i]));
    } catch (const nlohmann::json::parse_error&) {
      // An option CLI11 did not know lands among the arguments (extras):
      // it is not a negative number either.
      if (f.args[i].starts_with("-")) {
        print_error("unknown option " + f.args[i] + " (see flyrpc call --help)");
        return kUsage;
      }
      const std::string shown = f.args[i].size() > 80 ? f.args[i].substr(0, 80) + "..." : f.args[i];
      print_error("argument " + std::to_string(i + 1) + " is not JSON: " + shown +
                  " (strings need quotes: '\"fly\"')");
      return kUsage;
    }
  }
  const int targets = (f.region.empty() ? 0 : 1) + (f.primary ? 1 : 0) + (f.node.empty() ? 0 : 1);
  if (targets != 1) {
    print_error("give exactly one of --region R, --primary or --node NAME");
    return kUsage;
  }
  if (!f.region.empty() && !fly::is_valid_region(f.region)) {
    print_error("invalid --region \"" + f.region +
                "\": a region code is 1-32 lowercase letters, digits or '-' (e.g. syd)");
    return kUsage;
  }
  const auto timeout = std::chrono::milliseconds(f.timeout_ms);
  fly::NodeOptions options = tool_node_options(f.seeds);
  apply_tls_flags(f.tls, options);
  if (f.verbose && !options.verbose_logging) {
    options.verbose_logging = true;
    if (spdlog::get_level() > spdlog::level::info) spdlog::set_level(spdlog::level::info);
  }
  fly::Node node(options);
  std::string why;
  if (!join(node, timeout, why)) {
    print_error("could not join the cluster: " + why);
    return kCannotJoin;
  }
  try {
    const std::string seed = seed_node(node, options);
    if (seed.empty()) {
      print_error("could not join the cluster: the node reached went away");
      return kCannotJoin;
    }
    std::string region = f.region;
    if (f.primary) {
      // A tool's own PRIMARY_REGION wins; else the seed's (a built-in of
      // every node).
      const char* env = std::getenv("PRIMARY_REGION");
      region = env && *env
                   ? std::string(env)
                   : node.rpc<std::string>(seed, "Fly.primary_region", fly::timeout(timeout));
    }
    // Already connected to the target (the usual case): nothing to ask.
    const Known here = known_members(node, {});
    const bool connected =
        f.node.empty() ? here.regions.count(region) != 0 : here.names.count(f.node) != 0;
    std::optional<std::vector<NodeRow>> seed_view;
    if (!f.wait && !connected) {
      try {
        seed_view = view_of(node, seed, timeout);
      } catch (const fly::UnknownFunction&) {
        // The application unexposed Fly.nodes: wait as with --wait.
      }
    }
    if (seed_view) {
      const Known known = known_members(node, *seed_view);
      if (!f.node.empty() && known.names.count(f.node) == 0) {
        print_error("no node named \"" + f.node + "\" in the cluster (nodes: " +
                    joined(known.names) + "; --wait waits for it to join)");
        return kNoNode;
      }
      if (f.node.empty() && known.regions.count(region) == 0) {
        throw fly::NoNodeInRegion(region, {known.regions.begin(), known.regions.end()});
      }
    }
    nlohmann::json result;
    const fly::ArgumentArray<nlohmann::json> call_args{args};
    if (!f.node.empty()) {
      node.wait_for_node(f.node, timeout);
      result = node.rpc<nlohmann::json>(f.node, f.function, call_args, fly::timeout(timeout));
    } else {
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
  add_seeds_option(*cmd, flags->seeds);
  cmd->add_option("--region", flags->region, "Run on a node of this region");
  cmd->add_flag("--primary", flags->primary,
                "Run on a node of the primary region (PRIMARY_REGION, else the cluster's)");
  cmd->add_option("--node", flags->node, "Run on this node");
  add_timeout_option(*cmd, flags->timeout_ms,
                     "Milliseconds to wait for the target and for the answer (default 5000)");
  cmd->add_flag("--wait", flags->wait,
                "Wait up to --timeout for a node of the region (or the named node) to join, "
                "instead of exit 3 at once when the cluster has none");
  cmd->add_flag("--verbose", flags->verbose,
                "Log this call's SEND/RESP/TIMEOUT lines on stderr (also FLY_RPC_VERBOSE=1)");
  cmd->add_option("function", flags->function,
                  "Module.function, then its arguments: each one JSON value")
      ->required();
  // The arguments are taken raw, as extras: CLI11's own list syntax would
  // split a JSON array ("[1,2]" into two values) and commas inside one.
  cmd->allow_extras();
  cmd->formatter(std::make_shared<CallFormatter>());
  add_tls_flags(*cmd, flags->tls);
  cmd->footer(
      "Exit status: 0 result, 1 remote error, 2 usage, 3 no node in region (or no such node),\n"
      "4 timeout, 5 node down, 6 unknown function or bad arguments, 7 could not join the cluster.\n"
      "Without --seeds it finds the cluster as `flyrpc node` does (FLY_RPC_SEEDS, else DNS:\n"
      "FLY_RPC_DNS_NAME or <FLY_APP_NAME>.internal), so in `fly ssh console` no flag is needed.\n"
      "Examples:\n"
      "  flyrpc call --seeds 127.0.0.1:4370 --region syd String.upcase '\"fly\"'\n"
      "  flyrpc call --seeds 127.0.0.1:4370 --primary Kernel.+ 1 2\n"
      "  flyrpc call --seeds 127.0.0.1:4370 --node lax-1 --timeout 500 Process.sleep 2000\n"
      "  flyrpc call --seeds 127.0.0.1:4370 --region ams --wait --timeout 30000 Kernel.node\n"
      "  flyrpc call --primary Fly.region_table           # inside `fly ssh console`");
  return [flags, cmd] {
    flags->args = cmd->remaining();
    return run_call(*flags);
  };
}

}  // namespace flyrpc_cli
