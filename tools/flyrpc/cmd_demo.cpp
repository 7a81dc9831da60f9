// flyrpc demo: the main job. For now a single node printing its identity; the
// multi-region cluster demo replaces it (issue: the main job).
#include <fmt/format.h>

#include "commands.hpp"
#include "fly/function.hpp"
#include "fly/region.hpp"

namespace flyrpc_cli {

Runner add_demo_command(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("demo", "Show flyrpc at work on this machine");
  cmd->footer("Example:\n  flyrpc demo");
  return [] {
    const fly::RegionIdentity id = fly::RegionIdentity::from_env();
    fmt::print("flyrpc demo: one node\n");
    fmt::print("  my region       {}\n", id.my_region);
    fmt::print("  primary region  {}\n", id.primary_region);
    fmt::print("  is primary      {}\n", id.is_primary());
    fly::FunctionRegistry functions;
    functions.expose("String.upcase", [](std::string s) {
      for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      return s;
    });
    fmt::print("  String.upcase(\"fly\") -> \"{}\"\n",
               functions.call<std::string>("String.upcase", "fly"));
    return 0;
  };
}

}  // namespace flyrpc_cli
