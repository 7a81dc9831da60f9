// `flyrpc call` through the real binary against real nodes: every outcome has
// its own exit status and one clear line on stderr.
#include <gtest/gtest.h>
#include <signal.h>

#include "cli/cli_env.hpp"
#include "support/cluster_harness.hpp"
#include "support/wait.hpp"

namespace {

using namespace std::chrono_literals;

class CallCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cookie_ = new std::string(flytest::random_cookie());
    syd_ = new flytest::NodeProcess({"syd-1", "syd", {}, {"--verbose"}, {}}, *cookie_, "syd");
    ASSERT_TRUE(syd_->wait_listening(10s));
    hkg_ = new flytest::NodeProcess({"hkg-1", "hkg", {syd_->address()}, {}, {}}, *cookie_, "syd");
    ASSERT_TRUE(hkg_->wait_listening(10s));
    // hkg-1 joins syd-1 in the background. The CLI decides from the view of
    // the node it reaches (syd-1), so a test that raced the join would see a
    // one-node cluster: start once syd-1 has it up.
    ASSERT_EVENTUALLY(syd_->out().find("up hkg-1 ") != std::string::npos, 10000) << syd_->out();
  }
  static void TearDownTestSuite() {
    delete hkg_;
    delete syd_;
    delete cookie_;
  }

  static flytest::ProcessResult call(std::vector<std::string> args) {
    std::vector<std::string> full = {"--seeds", syd_->address()};
    full.insert(full.end(), args.begin(), args.end());
    return flytest::cli_call(*cookie_, full);
  }
  static void expect_one_line_error(const flytest::ProcessResult& r, const std::string& part) {
    EXPECT_EQ(r.out, "");
    EXPECT_NE(r.err.find(part), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }

  static std::string* cookie_;
  static flytest::NodeProcess* syd_;
  static flytest::NodeProcess* hkg_;
};
std::string* CallCli::cookie_ = nullptr;
flytest::NodeProcess* CallCli::syd_ = nullptr;
flytest::NodeProcess* CallCli::hkg_ = nullptr;

TEST_F(CallCli, ResultIsJsonAndExitZero) {
  auto r = call({"--region", "hkg", "String.upcase", "\"fly\""});
  EXPECT_TRUE(clitest::printed(r, "\"FLY\"\n"));
  r = call({"--primary", "Kernel.node"});
  EXPECT_TRUE(clitest::printed(r, "\"syd-1\"\n"));
  r = call({"--node", "hkg-1", "Kernel.+", "40", "2"});
  EXPECT_TRUE(clitest::printed(r, "42\n"));
}

TEST_F(CallCli, RemoteErrorIsOne) {
  auto r = call({"--region", "hkg", "Kernel.raise", "\"boom\""});
  EXPECT_EQ(r.exit_code, 1);
  expect_one_line_error(r, "std::runtime_error on hkg-1: boom");
}

TEST_F(CallCli, UsageIsTwo) {
  EXPECT_EQ(call({"String.upcase", "\"x\""}).exit_code, 2);  // no target
  auto r = call({"--region", "hkg", "String.upcase", "not-json"});
  EXPECT_EQ(r.exit_code, 2);
  expect_one_line_error(r, "not JSON");
  r = call({"--regoin", "hkg", "String.upcase", "\"x\""});
  EXPECT_EQ(r.exit_code, 2);
  expect_one_line_error(r, "unknown option --regoin");
  // Negative numbers are arguments, not options.
  r = call({"--region", "hkg", "Kernel.+", "-40", "-2"});
  EXPECT_TRUE(clitest::printed(r, "-42\n"));
}

TEST_F(CallCli, NoNodeInRegionIsThree) {
  auto r = call({"--region", "ord", "--timeout", "300", "Kernel.+", "1", "2"});
  EXPECT_EQ(r.exit_code, 3);
  expect_one_line_error(r,
                        "no node found running in region \"ord\" (regions with nodes: hkg, syd)");
}

// Once it has the seed's member list it knows: no waiting for --timeout.
TEST_F(CallCli, MissingRegionOrNodeIsThreeAtOnce) {
  auto t0 = std::chrono::steady_clock::now();
  auto r = call({"--region", "ord", "--timeout", "20000", "Kernel.+", "1", "2"});
  EXPECT_LT(std::chrono::steady_clock::now() - t0, flytest::slack(5s));
  EXPECT_EQ(r.exit_code, 3);
  expect_one_line_error(r,
                        "no node found running in region \"ord\" (regions with nodes: hkg, syd)");
  t0 = std::chrono::steady_clock::now();
  r = call({"--node", "nobody-1", "--timeout", "20000", "Kernel.node"});
  EXPECT_LT(std::chrono::steady_clock::now() - t0, flytest::slack(5s));
  EXPECT_EQ(r.exit_code, 3);
  expect_one_line_error(r, "no node named \"nobody-1\" in the cluster (nodes: hkg-1, syd-1;");
}

TEST_F(CallCli, InvalidRegionIsTwoBeforeJoining) {
  const auto t0 = std::chrono::steady_clock::now();
  auto r = call({"--region", "XYZ", "--timeout", "20000", "Kernel.node"});
  EXPECT_LT(std::chrono::steady_clock::now() - t0, flytest::slack(5s));
  EXPECT_EQ(r.exit_code, 2);
  expect_one_line_error(r, "invalid --region \"XYZ\"");
}

TEST_F(CallCli, IntegerOverflowIsARemoteError) {
  auto r = call({"--region", "hkg", "Kernel.+", "9223372036854775807", "1"});
  EXPECT_EQ(r.exit_code, 1);
  expect_one_line_error(r, "9223372036854775807 + 1 does not fit in a 64-bit signed integer");
  r = call({"--region", "hkg", "Kernel.+", "-9223372036854775808", "-1"});
  EXPECT_EQ(r.exit_code, 1);
  expect_one_line_error(r, "does not fit in a 64-bit signed integer");
  r = call({"--region", "hkg", "Kernel.+", "9223372036854775806", "1"});
  EXPECT_TRUE(clitest::printed(r, "9223372036854775807\n"));
}

TEST_F(CallCli, VerbosePrintsTheCallersSendAndRespLines) {
  auto r = clitest::flyrpc({"call", "--seeds", syd_->address(), "--node", "hkg-1", "Kernel.node"},
                           {{"FLY_RPC_COOKIE", *cookie_}, {"FLY_RPC_VERBOSE", "1"}});
  EXPECT_TRUE(clitest::printed(r, "\"hkg-1\"\n"));
  EXPECT_NE(r.err.find("SEND Kernel.node/0 to hkg-1 (hkg)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("RESP Kernel.node from hkg-1 (hkg): ok"), std::string::npos) << r.err;
  r = call({"--verbose", "--node", "hkg-1", "Kernel.node"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("SEND Kernel.node/0 to hkg-1 (hkg)"), std::string::npos) << r.err;
  // A typo is an error naming the variable, not a silent "off".
  r = clitest::flyrpc({"call", "--seeds", syd_->address(), "--node", "hkg-1", "Kernel.node"},
                      {{"FLY_RPC_COOKIE", *cookie_}, {"FLY_RPC_VERBOSE", "garbage"}});
  EXPECT_EQ(r.exit_code, 2);
  expect_one_line_error(r, "invalid FLY_RPC_VERBOSE=\"garbage\"");
}

TEST_F(CallCli, TimeoutIsFour) {
  auto r = call({"--region", "hkg", "--timeout", "300", "Process.sleep", "5000"});
  EXPECT_EQ(r.exit_code, 4);
  expect_one_line_error(r, "timed out after 300 ms");
}

TEST_F(CallCli, UnknownFunctionAndBadArgumentsAreSix) {
  auto r = call({"--region", "hkg", "Nope.nope"});
  EXPECT_EQ(r.exit_code, 6);
  expect_one_line_error(r, "unknown function \"Nope.nope\"");
  r = call({"--region", "hkg", "Kernel.+", "\"one\"", "2"});
  EXPECT_EQ(r.exit_code, 6);
  expect_one_line_error(
      r, "argument 1: expected int, got string (expected Kernel.+(int, int) -> int)");
}

TEST_F(CallCli, CannotJoinIsSeven) {
  auto r = flytest::cli_call(
      *cookie_, {"--seeds", "127.0.0.1:1", "--timeout", "500", "--region", "syd", "Kernel.node"});
  EXPECT_EQ(r.exit_code, 7);
  expect_one_line_error(r, "could not join the cluster");
  r = flytest::cli_call("wrong-cookie", {"--seeds", syd_->address(), "--timeout", "1000",
                                         "--region", "syd", "Kernel.node"});
  EXPECT_EQ(r.exit_code, 7);
  expect_one_line_error(r, "bad_cookie");
}

// --wait: a script that starts a region's node and calls it at once.
TEST(CallCliWait, WaitWaitsForTheRegionToJoin) {
  const std::string cookie = flytest::random_cookie();
  flytest::NodeProcess syd({"syd-1", "syd", {}, {}, {}}, cookie, "syd");
  ASSERT_TRUE(syd.wait_listening(10s));
  auto caller =
      flytest::Process::spawn({FLYRPC_CLI_PATH, "call", "--seeds", syd.address(), "--region", "ams",
                               "--wait", "--timeout", "30000", "Kernel.node"},
                              {{"FLY_RPC_COOKIE", cookie}}, clitest::kClusterEnv);
  // The caller has joined (syd saw it come up) before ams-1 exists.
  const std::string joined = "up flyrpc-cli-" + std::to_string(caller.pid()) + "-";
  ASSERT_EVENTUALLY(syd.out().find(joined) != std::string::npos, 10000) << syd.out();
  flytest::NodeProcess ams({"ams-1", "ams", {syd.address()}, {}, {}}, cookie, "syd");
  ASSERT_TRUE(ams.wait_listening(10s));
  auto r = caller.wait_for(30s);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->exit_code, 0) << r->err;
  EXPECT_EQ(r->out, "\"ams-1\"\n");
}

// Last: it kills a node of its own.
TEST(CallCliNodeDown, KillNineOfTheCalleeMidCallIsFiveAtOnce) {
  const std::string cookie = flytest::random_cookie();
  flytest::NodeProcess syd({"syd-1", "syd", {}, {}, {}}, cookie, "syd");
  ASSERT_TRUE(syd.wait_listening(10s));
  flytest::NodeProcess victim({"lax-1", "lax", {syd.address()}, {"--verbose"}, {}}, cookie, "syd");
  ASSERT_TRUE(victim.wait_listening(10s));
  ASSERT_EVENTUALLY(syd.out().find("up lax-1 ") != std::string::npos, 10000) << syd.out();
  auto caller = flytest::Process::spawn(
      {FLYRPC_CLI_PATH, "call", "--seeds", syd.address(), "--region", "lax", "--timeout", "20000",
       "Process.sleep", "15000"},
      {{"FLY_RPC_COOKIE", cookie}}, {"FLY_REGION", "MY_REGION", "PRIMARY_REGION"});
  // The callee logs RECV when the call arrives (verbose): then it is in flight.
  ASSERT_EVENTUALLY(victim.err().find("RECV Process.sleep/1") != std::string::npos, 10000)
      << victim.err();
  const auto t0 = std::chrono::steady_clock::now();
  victim.process().signal(SIGKILL);
  auto r = caller.wait_for(flytest::slack(10s));
  ASSERT_TRUE(r.has_value());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, flytest::slack(5s));  // not the 20 s timeout
  EXPECT_EQ(r->exit_code, 5) << r->err;
  EXPECT_NE(r->err.find("went down during call to Process.sleep"), std::string::npos) << r->err;
}

}  // namespace
