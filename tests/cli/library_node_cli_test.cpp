// `flyrpc call` and `flyrpc nodes` (the real binary) against nodes of an
// application built with the library only (in-process fly::Nodes): what the
// CLI needs from a node must be the library's, not `flyrpc node`'s.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <numeric>

#include "cli/cli_env.hpp"
#include "support/in_process_node.hpp"
#include "support/wait.hpp"

namespace {

using namespace std::chrono_literals;

const std::string kCookie = "library-node-cli-cookie";

class LibraryNode : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    syd_ = new fly::Node(flytest::in_process_options("syd-lib", "syd", {}, kCookie));
    flytest::expose_test_functions(*syd_);
    syd_->expose("List.sum", [](const std::vector<std::int64_t>& v) {
      return std::accumulate(v.begin(), v.end(), std::int64_t{0});
    });
    syd_->expose("List.sizes", [](const std::vector<std::vector<std::int64_t>>& v) {
      std::vector<std::size_t> sizes;
      for (const auto& inner : v) sizes.push_back(inner.size());
      return sizes;
    });
    syd_->expose("List.join", [](const std::vector<std::string>& v) {
      std::string out;
      for (const auto& s : v) out += (out.empty() ? "" : "|") + s;
      return out;
    });
    syd_->start();
    // A member the CLI cannot reach: it advertises an address nobody
    // listens on, but syd-lib knows it (it dialled syd-lib). Only syd-lib's
    // own table lists it.
    auto far = flytest::in_process_options("far-1", "ams", {flytest::seed_of(*syd_)}, kCookie);
    far.advertise_address = "127.0.0.1:1";
    far_ = new fly::Node(far);
    far_->start();
    ASSERT_TRUE(syd_->wait_for_node("far-1", 10s));
  }
  static void TearDownTestSuite() {
    delete far_;
    delete syd_;
  }

  static flytest::ProcessResult cli(std::vector<std::string> args,
                                    std::map<std::string, std::string> env = {}) {
    env["FLY_RPC_COOKIE"] = kCookie;
    return clitest::flyrpc(args, env);
  }
  static flytest::ProcessResult call(std::vector<std::string> args) {
    std::vector<std::string> full = {"call", "--seeds", flytest::seed_of(*syd_)};
    full.insert(full.end(), args.begin(), args.end());
    return cli(full);
  }

  static fly::Node* syd_;
  static fly::Node* far_;
};
fly::Node* LibraryNode::syd_ = nullptr;
fly::Node* LibraryNode::far_ = nullptr;

TEST_F(LibraryNode, EachPositionalIsOneJsonValueWhateverItHolds) {
  auto r = call({"--region", "syd", "List.sum", "[1,2]"});
  EXPECT_TRUE(clitest::printed(r, "3\n"));
  r = call({"--region", "syd", "List.sizes", "[[1,2],[3]]"});
  EXPECT_TRUE(clitest::printed(r, "[2,1]\n"));
  r = call({"--region", "syd", "List.join", "[\"a,b\",\"[c]\"]"});
  EXPECT_TRUE(clitest::printed(r, "\"a,b|[c]\"\n"));
  // A JSON array is not the CLI's own list syntax: one argument, not two.
  r = call({"--region", "syd", "String.upcase", "[1,2]"});
  EXPECT_EQ(r.exit_code, 6);
  EXPECT_NE(r.err.find("argument 1: expected string, got array"), std::string::npos) << r.err;
}

TEST_F(LibraryNode, AnArrayOfOver100KilobytesIsOneArgument) {
  std::string big = "[";
  for (int i = 0; i < 20000; ++i) big += (i ? "," : "") + std::to_string(i);
  big += "]";
  ASSERT_GT(big.size(), 100'000u);
  auto r = call({"--region", "syd", "List.sum", big});
  EXPECT_EQ(r.exit_code, 0) << r.err.substr(0, 500);
  EXPECT_EQ(r.out, "199990000\n");
}

TEST_F(LibraryNode, PrimaryIsKnownWithoutACliBuiltin) {
  auto r = call({"--primary", "Kernel.node"});
  EXPECT_TRUE(clitest::printed(r, "\"syd-lib\"\n"));
  r = call({"--node", "syd-lib", "Fly.primary_region"});
  EXPECT_TRUE(clitest::printed(r, "\"syd\"\n"));
  r = call({"--node", "syd-lib", "Fly.my_region"});
  EXPECT_TRUE(clitest::printed(r, "\"syd\"\n"));
}

TEST_F(LibraryNode, NodesShowsTheSeedNodesOwnTable) {
  auto r = cli({"nodes", "--seeds", flytest::seed_of(*syd_), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto listed = nlohmann::json::parse(r.out);
  ASSERT_EQ(listed.size(), 2u) << r.out;  // far-1 too, which the CLI itself cannot reach
  EXPECT_EQ(listed[0]["name"], "far-1");
  EXPECT_EQ(listed[0]["region"], "ams");
  EXPECT_EQ(listed[0]["address"], "127.0.0.1:1");
  EXPECT_EQ(listed[1]["name"], "syd-lib");
  const auto fns = listed[1]["functions"].get<std::vector<std::string>>();
  EXPECT_NE(std::find(fns.begin(), fns.end(), "List.sum"), fns.end()) << r.out;
  EXPECT_NE(std::find(fns.begin(), fns.end(), "Fly.nodes"), fns.end()) << r.out;
  // The table form names the same nodes.
  r = cli({"nodes", "--seeds", flytest::seed_of(*syd_)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("far-1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("syd-lib"), std::string::npos) << r.out;
  // --node asks another node, which must be in the cluster: known at once.
  const auto t0 = std::chrono::steady_clock::now();
  r = cli({"nodes", "--seeds", flytest::seed_of(*syd_), "--node", "nobody", "--timeout", "20000"});
  EXPECT_LT(std::chrono::steady_clock::now() - t0, flytest::slack(5s));
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("no node named \"nobody\" in the cluster (as syd-lib sees it)"),
            std::string::npos)
      << r.err;
  // One it lists but cannot reach: exit 3 after --timeout, saying so.
  r = cli({"nodes", "--seeds", flytest::seed_of(*syd_), "--node", "far-1", "--timeout", "300"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("\"far-1\" is in the cluster but could not be reached"), std::string::npos)
      << r.err;
}

}  // namespace
