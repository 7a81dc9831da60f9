// flyrpc region: prints this process's region identity as one JSON line.
#include <nlohmann/json.hpp>

#include <iostream>

#include "commands.hpp"
#include "fly/region.hpp"

namespace flyrpc_cli {

Runner add_region_command(CLI::App& app) {
  CLI::App* cmd =
      app.add_subcommand("region", "Print my region, the primary region, and whether they match");
  cmd->footer(
      "Reads FLY_REGION (else MY_REGION, else \"local\") and PRIMARY_REGION (else \"local\").\n"
      "Examples:\n"
      "  flyrpc region\n"
      "  FLY_REGION=lax PRIMARY_REGION=syd flyrpc region\n"
      "    {\"my_region\":\"lax\",\"primary_region\":\"syd\",\"is_primary\":false}");
  return [] {
    const fly::RegionIdentity id = fly::RegionIdentity::from_env();
    // nlohmann::ordered_json keeps the keys in the documented order.
    nlohmann::ordered_json out;
    out["my_region"] = id.my_region;
    out["primary_region"] = id.primary_region;
    out["is_primary"] = id.is_primary();
    std::cout << out.dump() << "\n";
    return 0;
  };
}

}  // namespace flyrpc_cli
