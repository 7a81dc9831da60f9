// `flyrpc call` and `flyrpc nodes` find the cluster as `flyrpc node` does:
// --seeds, else FLY_RPC_SEEDS, else DNS (FLY_RPC_DNS_NAME, or
// <FLY_APP_NAME>.internal) — so that in `fly ssh console` no flag is needed.
// A real dnsmasq answers for app.internal; the node is an in-process one.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli/cli_env.hpp"
#include "discovery/dnsmasq.hpp"
#include "support/in_process_node.hpp"

namespace {

using namespace std::chrono_literals;

const std::string kCookie = "discovery-cli-cookie";

TEST(CliDiscovery, NothingSayingWhereTheClusterIsIsUsage) {
  for (const std::string cmd : {"call", "nodes"}) {
    std::vector<std::string> args = {cmd};
    if (cmd == "call") args.insert(args.end(), {"--region", "syd", "Kernel.node"});
    auto r = clitest::flyrpc(args, {{"FLY_RPC_COOKIE", kCookie}});
    EXPECT_EQ(r.exit_code, 2) << cmd << ": " << r.err;
    EXPECT_NE(r.err.find("nothing says where the cluster is"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("FLY_APP_NAME"), std::string::npos) << r.err;
  }
}

TEST(CliDiscovery, FindsTheClusterThroughFlyAppNameDnsWithoutFlags) {
  auto o = flytest::in_process_options("syd-dns", "syd", {}, kCookie);
  o.port = static_cast<std::uint16_t>(flytest::free_port());
  fly::Node node(o);
  flytest::expose_test_functions(node);
  node.start();
  auto dns = disctest::Dnsmasq::start({"127.0.0.1 app.internal"});
  const std::map<std::string, std::string> env = {
      {"FLY_RPC_COOKIE", kCookie},
      {"FLY_APP_NAME", "app"},
      {"FLY_RPC_DNS_SERVER", "127.0.0.1:" + std::to_string(dns->port())},
      {"FLY_RPC_PORT", std::to_string(o.port)}};
  auto r = clitest::flyrpc({"call", "--primary", "Kernel.node"}, env);
  EXPECT_TRUE(clitest::printed(r, "\"syd-dns\"\n"));
  r = clitest::flyrpc({"nodes", "--json"}, env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto listed = nlohmann::json::parse(r.out);
  ASSERT_EQ(listed.size(), 1u) << r.out;
  EXPECT_EQ(listed[0]["name"], "syd-dns");
  // FLY_RPC_DNS_NAME names another record, as for `flyrpc node`.
  auto named = env;
  named.erase("FLY_APP_NAME");
  named["FLY_RPC_DNS_NAME"] = "app.internal";
  r = clitest::flyrpc({"call", "--region", "syd", "String.upcase", "\"dns\""}, named);
  EXPECT_TRUE(clitest::printed(r, "\"DNS\"\n"));
  // FLY_RPC_SEEDS alone, too.
  r = clitest::flyrpc({"call", "--region", "syd", "Kernel.node"},
                      {{"FLY_RPC_COOKIE", kCookie}, {"FLY_RPC_SEEDS", flytest::seed_of(node)}});
  EXPECT_TRUE(clitest::printed(r, "\"syd-dns\"\n"));
}

}  // namespace
