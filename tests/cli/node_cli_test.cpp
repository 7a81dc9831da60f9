// `flyrpc node` options through the real binary: every number is checked
// with an error naming the option, and --listen takes a host name.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli/cli_env.hpp"
#include "support/cluster_harness.hpp"
#include "support/wait.hpp"
#include "wire/frames.hpp"
#include "wire/handshake.hpp"

namespace {

using namespace std::chrono_literals;

std::vector<std::string> node_args(std::vector<std::string> extra) {
  std::vector<std::string> args = {"node", "--name",   "opt-1",      "--region",
                                   "syd",  "--listen", "127.0.0.1:0"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

TEST(NodeCli, EveryBadNumberIsUsageNamingTheOption) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"--heartbeat-ms", "-5"},         {"--heartbeat-ms", "0"},
      {"--heartbeat-timeout-ms", "-1"}, {"--handshake-timeout-ms", "0"},
      {"--heartbeat-ms", "fast"},       {"--handshake-timeout-ms", "99999999999"}};
  for (const auto& [option, value] : bad) {
    // A node that starts instead runs until killed: the 5 s limit catches it.
    auto r = clitest::flyrpc(node_args({option, value}), {{"FLY_RPC_COOKIE", "c"}}, 5s);
    EXPECT_EQ(r.exit_code, 2) << option << " " << value << ": " << r.err;
    EXPECT_NE(r.err.find(option), std::string::npos) << r.err;
    EXPECT_EQ(r.out.find("listening"), std::string::npos) << r.out;
  }
}

// The tool honours FLY_RPC_LOG_LEVEL as the library does, and refuses garbage
// in it with an error naming the variable.
TEST(NodeCli, LogLevelVariableIsAppliedAndChecked) {
  auto bad = clitest::flyrpc({"region"}, {{"FLY_RPC_LOG_LEVEL", "loud"}}, 5s);
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_NE(bad.err.find("FLY_RPC_LOG_LEVEL"), std::string::npos) << bad.err;
  auto r = clitest::flyrpc(
      {"call", "--seeds", "127.0.0.1:1", "--timeout", "300", "--region", "syd", "Kernel.node"},
      {{"FLY_RPC_COOKIE", "c"}, {"FLY_RPC_LOG_LEVEL", "info"}}, 10s);
  EXPECT_EQ(r.exit_code, 7) << r.err;
  EXPECT_NE(r.err.find("[info]"), std::string::npos) << "info lines expected: " << r.err;
  auto silent = clitest::flyrpc(
      {"call", "--seeds", "127.0.0.1:1", "--timeout", "300", "--region", "syd", "Kernel.node"},
      {{"FLY_RPC_COOKIE", "c"}}, 10s);
  EXPECT_EQ(silent.err.find("[info]"), std::string::npos) << silent.err;
}

TEST(NodeCli, ListenTakesAHostNameResolvedAtStartUp) {
  auto node = flytest::Process::spawn(
      {FLYRPC_CLI_PATH, "node", "--name", "named-1", "--region", "syd", "--listen", "localhost:0"},
      {{"FLY_RPC_COOKIE", "c"}}, clitest::kClusterEnv);
  ASSERT_EVENTUALLY(node.stdout_text().find("listening ") != std::string::npos, 10000)
      << node.stderr_text();
  const std::string out = node.stdout_text();
  EXPECT_TRUE(out.find("listening 127.0.0.1:") != std::string::npos ||
              out.find("listening [::1]:") != std::string::npos)
      << out;
  auto r = clitest::flyrpc(
      {"node", "--name", "named-2", "--region", "syd", "--listen", "no-such-host.invalid:0"},
      {{"FLY_RPC_COOKIE", "c"}}, 10s);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--listen"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("does not resolve"), std::string::npos) << r.err;
}

// A tool that stops while a node is still in its handshake with it says
// GOODBYE before authenticating (the CLI does, when gossip had it dial a
// node just before its call ended): a normal close, which the node must not
// log as a refused connection. Driven by hand so that it happens every time.
TEST(NodeCli, GoodbyeDuringTheHandshakeIsANormalClose) {
  const std::string cookie = flytest::random_cookie();
  flytest::NodeProcess node({"bye-1", "syd", {}, {}, {}}, cookie, "syd");
  ASSERT_TRUE(node.wait_listening(10s));
  const std::string address = node.address();
  const auto colon = address.rfind(':');
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<std::uint16_t>(std::stoi(address.substr(colon + 1))));
  ASSERT_EQ(::inet_pton(AF_INET, address.substr(0, colon).c_str(), &to.sin_addr), 1);
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to), 0);
  fly::wire::Hello hello;
  hello.name = "flyrpc-cli-bye";
  hello.region = "syd";
  hello.hidden = true;
  hello.incarnation = fly::wire::make_incarnation();
  fly::wire::Buffer out;
  fly::wire::encode_hello(out, hello);
  fly::wire::encode_goodbye(out, "node stopping");
  ASSERT_EQ(::send(fd, out.data(), out.size(), MSG_NOSIGNAL), static_cast<ssize_t>(out.size()));
  // The node closes the connection once it has read both frames: anything
  // it logs about them is in its stderr by then.
  bool closed = false;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!closed && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[4096];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    closed = n <= 0;
  }
  ::close(fd);
  ASSERT_TRUE(closed) << "the node kept the connection open";
  EXPECT_EQ(node.err().find("goodbye frame during the handshake"), std::string::npos) << node.err();
  EXPECT_EQ(node.err().find("refused connection from"), std::string::npos) << node.err();
}

}  // namespace
