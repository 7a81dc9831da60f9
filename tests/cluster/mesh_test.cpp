// Issue "Cluster": five real node processes in three regions, each given one
// seed, form a full mesh with one region table; hidden nodes see everyone and
// appear nowhere; a duplicate name is refused.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/cluster_harness.hpp"
#include "support/wait.hpp"

namespace {

using namespace std::chrono_literals;
using Table = std::map<std::string, std::vector<std::string>>;

class FiveNodes : public ::testing::Test {
 protected:
  void SetUp() override {
    cookie = flytest::random_cookie();
    // A chain: each node knows only the previous one; gossip does the rest.
    const std::vector<std::pair<std::string, std::string>> specs = {
        {"syd-1", "syd"}, {"lax-1", "lax"}, {"hkg-1", "hkg"}, {"syd-2", "syd"}, {"lax-2", "lax"}};
    for (const auto& [name, region] : specs) {
      flytest::NodeSpec spec{
          name, region, {}, {"--heartbeat-ms", "200", "--heartbeat-timeout-ms", "1500"}, {}};
      if (!nodes.empty()) spec.seeds = {nodes.back()->address()};
      nodes.push_back(std::make_unique<flytest::NodeProcess>(spec, cookie, "syd"));
      ASSERT_TRUE(nodes.back()->wait_listening(10s)) << nodes.back()->err();
    }
  }

  bool all_tables_are(const Table& expected) {
    return flytest::tables_are(cookie, nodes, expected);
  }
  std::string dump_tables() { return flytest::dump_tables(cookie, nodes); }

  std::string cookie;
  std::vector<std::unique_ptr<flytest::NodeProcess>> nodes;
  const Table full = {{"hkg", {"hkg-1"}}, {"lax", {"lax-1", "lax-2"}}, {"syd", {"syd-1", "syd-2"}}};
};

TEST_F(FiveNodes, OneSeedEachFormsAFullMeshWithOneRegionTable) {
  EXPECT_EVENTUALLY(all_tables_are(full), 15000);
}

TEST_F(FiveNodes, HiddenNodeSeesEveryoneAndAppearsInNoTable) {
  ASSERT_EVENTUALLY(all_tables_are(full), 15000);
  flytest::NodeProcess spy({"spy", "syd", {nodes[0]->address()}, {"--hidden"}, {}}, cookie, "syd");
  // The hidden node connects to all five...
  auto lines = [&] {
    const std::string out = spy.out();
    return std::count(out.begin(), out.end(), '\n');
  };
  ASSERT_EVENTUALLY(lines() >= 6, 10000) << spy.out();
  for (const auto& n : nodes) EXPECT_NE(spy.out().find("up " + n->name()), std::string::npos);
  // ...and nobody lists it.
  EXPECT_TRUE(all_tables_are(full));
  // `flyrpc nodes` is hidden too, and lists the five visible nodes.
  auto r = flytest::run({FLYRPC_CLI_PATH, "nodes", "--seeds", nodes[2]->address(), "--json"},
                        {{"FLY_RPC_COOKIE", cookie}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto listed = nlohmann::json::parse(r.out);
  ASSERT_EQ(listed.size(), 5u) << r.out;
  for (const auto& n : listed) {
    EXPECT_TRUE(n.contains("name") && n.contains("region") && n.contains("address"));
  }
}

TEST_F(FiveNodes, ASecondNodeWithATakenNameReplacesTheFirstEverywhere) {
  // The newer of two processes with one name wins on every node (PROTOCOL.md
  // 6): the original lax-1 is told it was replaced, and exits saying so.
  ASSERT_EVENTUALLY(all_tables_are(full), 15000);
  flytest::NodeProcess twin({"lax-1", "ord", {nodes[0]->address()}, {}, {}}, cookie, "syd");
  ASSERT_TRUE(twin.wait_listening(10s));
  const auto original = nodes[1]->process().wait_for(10s);
  ASSERT_TRUE(original.has_value()) << nodes[1]->err();
  EXPECT_EQ(original->exit_code, 7) << original->err;
  EXPECT_NE(original->err.find("replaced by a newer node named \"lax-1\""), std::string::npos)
      << original->err;
  Table expected = full;
  expected.erase("lax");
  expected["lax"] = {"lax-2"};
  expected["ord"] = {"lax-1"};
  EXPECT_EVENTUALLY(all_tables_are(expected), 15000) << dump_tables();
  EXPECT_TRUE(twin.process().running()) << twin.err();
}

}  // namespace
