// flyrpc: the command-line face of the library.
//
// Exit status (shared by every subcommand):
//   0 success            1 remote error         2 usage or configuration error
//   3 no node in region (or no node of that name)
//   4 timeout            5 node down
//   6 unknown function or bad arguments         7 could not join the cluster
#include <fmt/format.h>
#include <spdlog/cfg/env.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <vector>

#include "base/log.hpp"
#include "commands.hpp"
#include "fly/errors.hpp"
#include "fly/version.hpp"

int main(int argc, char** argv) {
  // Logs go to stderr: stdout carries the commands' output (JSON, tables).
  // Tools are quiet by default; `flyrpc node` logs at info. SPDLOG_LEVEL
  // (e.g. SPDLOG_LEVEL=debug), then FLY_RPC_LOG_LEVEL, override both.
  spdlog::set_default_logger(spdlog::stderr_color_mt("flyrpc"));
  spdlog::set_level(spdlog::level::warn);

  CLI::App app{"flyrpc: run functions on the nodes of a multi-region cluster", "flyrpc"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "flyrpc " + std::string(fly::version()));
  app.footer("Run 'flyrpc <command> --help' for the options and examples of each command.");

  std::vector<std::pair<CLI::App*, flyrpc_cli::Runner>> commands;
  auto track = [&](flyrpc_cli::Runner runner) {
    commands.emplace_back(app.get_subcommands({}).back(), std::move(runner));
  };
  track(flyrpc_cli::add_region_command(app));
  track(flyrpc_cli::add_node_command(app));
  track(flyrpc_cli::add_nodes_command(app));
  track(flyrpc_cli::add_call_command(app));
  track(flyrpc_cli::add_demo_command(app));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (app.got_subcommand("node")) spdlog::set_level(spdlog::level::info);
  spdlog::cfg::load_env_levels();
  if (const char* level = std::getenv("FLY_RPC_LOG_LEVEL"); level != nullptr && *level != '\0') {
    const auto parsed = fly::log::parse_level(level);
    if (!parsed) {
      std::fprintf(stderr,
                   "flyrpc: FLY_RPC_LOG_LEVEL: '%s' is not a log level (trace, debug, "
                   "info, warn, error, critical, off)\n",
                   level);
      return 2;
    }
    spdlog::set_level(*parsed);
  }
  try {
    for (auto& [sub, run] : commands) {
      if (sub->parsed()) return run();
    }
  } catch (const fly::ConfigError& e) {
    std::fprintf(stderr, "flyrpc: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "flyrpc: %s\n", e.what());
    return 1;
  }
  return 2;
}
