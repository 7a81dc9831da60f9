#include "support/cluster_harness.hpp"

#include <nlohmann/json.hpp>

#include <random>
#include <sstream>

#include "support/wait.hpp"

namespace flytest {

NodeProcess::NodeProcess(NodeSpec spec, const std::string& cookie, const std::string& primary)
    : spec_(std::move(spec)), process_([&] {
        std::vector<std::string> argv = {FLYRPC_CLI_PATH, "node",       "--name",    spec_.name,
                                         "--region",      spec_.region, "--primary", primary,
                                         "--listen",      "127.0.0.1:0"};
        std::string seeds;
        for (const auto& s : spec_.seeds) seeds += (seeds.empty() ? "" : ",") + s;
        if (!seeds.empty()) {
          argv.push_back("--seeds");
          argv.push_back(seeds);
        }
        for (const auto& e : spec_.extra) argv.push_back(e);
        auto env = spec_.env;
        env.emplace("FLY_RPC_COOKIE", cookie);
        return Process::spawn(argv, env,
                              {"FLY_REGION", "MY_REGION", "PRIMARY_REGION", "FLY_RPC_SEEDS",
                               "FLY_APP_NAME", "FLY_RPC_DNS_NAME"});
      }()) {}

bool NodeProcess::wait_listening(std::chrono::milliseconds timeout) {
  return eventually(
      [&] {
        std::istringstream in(process_.stdout_text());
        std::string word;
        while (in >> word) {
          if (word == "listening" && (in >> address_)) return true;
        }
        return false;
      },
      timeout);
}

ProcessResult cli_call(const std::string& cookie, const std::vector<std::string>& args,
                       std::chrono::milliseconds timeout) {
  std::vector<std::string> argv = {FLYRPC_CLI_PATH, "call"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, {{"FLY_RPC_COOKIE", cookie}},
             {"FLY_REGION", "MY_REGION", "PRIMARY_REGION", "FLY_RPC_SEEDS"}, timeout);
}

std::optional<std::map<std::string, std::vector<std::string>>> region_table(
    const std::string& cookie, const std::string& seed, const std::string& node) {
  auto r =
      cli_call(cookie, {"--seeds", seed, "--node", node, "--timeout", "3000", "Fly.region_table"});
  if (r.exit_code != 0) return std::nullopt;
  try {
    return nlohmann::json::parse(r.out).get<std::map<std::string, std::vector<std::string>>>();
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

bool tables_are(const std::string& cookie, const std::vector<std::unique_ptr<NodeProcess>>& nodes,
                const RegionTable& expected, const std::set<std::string>& skip) {
  for (const auto& n : nodes) {
    if (!n->process().running() || skip.count(n->name()) != 0) continue;
    auto t = region_table(cookie, n->address(), n->name());
    if (!t || *t != expected) return false;
  }
  return true;
}

std::string dump_tables(const std::string& cookie,
                        const std::vector<std::unique_ptr<NodeProcess>>& nodes,
                        const std::set<std::string>& skip) {
  std::string out;
  for (const auto& n : nodes) {
    out += n->name() + ": ";
    auto t = n->process().running() && skip.count(n->name()) == 0
                 ? region_table(cookie, n->address(), n->name())
                 : std::nullopt;
    if (!t) {
      out += "(no answer)\n";
      continue;
    }
    for (const auto& [region, names] : *t) {
      out += region + "=[";
      for (const auto& name : names) out += name + " ";
      out += "] ";
    }
    out += "\n";
  }
  return out;
}

std::string random_cookie() {
  std::random_device rd;
  return "test-" + std::to_string(rd()) + std::to_string(rd());
}

}  // namespace flytest
