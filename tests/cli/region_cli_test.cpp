// `flyrpc region` through the real binary, as a user runs it.
#include <gtest/gtest.h>

#include "cli_env.hpp"
#include "support/process.hpp"

namespace {

const std::vector<std::string> kRegionVars = {"FLY_REGION", "MY_REGION", "PRIMARY_REGION"};

flytest::ProcessResult region(const std::map<std::string, std::string>& env) {
  return flytest::run({FLYRPC_CLI_PATH, "region"}, env, kRegionVars);
}

TEST(RegionCli, PrintsOneJsonLineInTheDocumentedKeyOrder) {
  auto r = region({{"FLY_REGION", "lax"}, {"PRIMARY_REGION", "syd"}});
  EXPECT_TRUE(clitest::printed(
      r, "{\"my_region\":\"lax\",\"primary_region\":\"syd\",\"is_primary\":false}\n"));
}

TEST(RegionCli, DefaultsToLocal) {
  auto r = region({});
  EXPECT_TRUE(clitest::printed(
      r, "{\"my_region\":\"local\",\"primary_region\":\"local\",\"is_primary\":true}\n"));
}

TEST(RegionCli, MyRegionFallbackAndPrimaryMatch) {
  auto r = region({{"MY_REGION", "syd"}, {"PRIMARY_REGION", "syd"}});
  EXPECT_TRUE(clitest::printed(
      r, "{\"my_region\":\"syd\",\"primary_region\":\"syd\",\"is_primary\":true}\n"));
}

TEST(RegionCli, MalformedRegionIsOneClearLineAndExitTwo) {
  auto r = region({{"FLY_REGION", "Sydney!"}});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("FLY_REGION"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Sydney!"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST(RegionCli, UnknownSubcommandIsAUsageError) {
  auto r = flytest::run({FLYRPC_CLI_PATH, "no-such-command"});
  EXPECT_EQ(r.exit_code, 2);
}

}  // namespace
