// Each subcommand of the flyrpc tool registers itself on the CLI11 app and
// returns the function that runs it. Exit codes are documented in main.cpp.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

namespace flyrpc_cli {

/// Runs a parsed subcommand; returns the process exit status.
using Runner = std::function<int()>;

Runner add_region_command(CLI::App& app);
Runner add_demo_command(CLI::App& app);
Runner add_node_command(CLI::App& app);
Runner add_nodes_command(CLI::App& app);
Runner add_call_command(CLI::App& app);

}  // namespace flyrpc_cli
