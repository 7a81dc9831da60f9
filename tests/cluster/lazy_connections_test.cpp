// Lazy connections (NodeOptions::lazy_connections, src/cluster/lazy.cpp):
// every node knows every region by gossip, connects only to its seed, and
// connects to another region when a call needs it; that connection closes
// after idling, never under a call; a known node that is gone fails the call
// within its timeout and is forgotten. In-process nodes over loopback.
#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <asio/post.hpp>

#include <future>

#include "fly/async.hpp"
#include "fly/errors.hpp"
#include "fly/node.hpp"
#include "support/cluster_harness.hpp"
#include "support/in_process_node.hpp"
#include "support/process.hpp"
#include "support/wait.hpp"

namespace {

using namespace std::chrono_literals;
using flytest::seed_of;
using flytest::slack;

const std::vector<std::string> kAllRegions = {"hkg", "lax", "syd"};

// Whether every thread of `pid` is stopped (state T in /proc/<pid>/task/*/stat).
bool all_threads_stopped(pid_t pid) {
  const std::filesystem::path tasks = "/proc/" + std::to_string(pid) + "/task";
  std::error_code ec;
  bool any = false;
  for (const auto& task : std::filesystem::directory_iterator(tasks, ec)) {
    std::ifstream stat(task.path() / "stat");
    std::string line;
    std::getline(stat, line);
    const auto paren = line.rfind(')');
    if (paren == std::string::npos || paren + 2 >= line.size() || line[paren + 2] != 'T') {
      return false;
    }
    any = true;
  }
  return any && !ec;
}

// The nodes `node` is connected to, itself included.
std::set<std::string> names_of(const fly::Node& node) {
  std::set<std::string> out;
  for (const auto& n : node.nodes()) {
    if (n.connected) out.insert(n.name);
  }
  return out;
}

class LazyCluster : public ::testing::Test {
 protected:
  static constexpr auto kIdle = 300ms;

  fly::NodeOptions lazy_options(const std::string& name, const std::string& region,
                                const std::vector<std::string>& seeds) {
    auto o = flytest::in_process_options(name, region, seeds);
    o.lazy_connections = true;
    o.idle_connection_timeout = kIdle;
    return o;
  }

  void SetUp() override {
    syd = std::make_unique<fly::Node>(lazy_options("syd-1", "syd", {}));
    flytest::expose_test_functions(*syd);
    syd->start();
    for (auto [name, region] : {std::pair{"lax-1", "lax"}, {"lax-2", "lax"}, {"hkg-1", "hkg"}}) {
      others.push_back(std::make_unique<fly::Node>(lazy_options(name, region, {seed_of(*syd)})));
      flytest::expose_test_functions(*others.back());
      others.back()->start();
    }
    lax1 = others[0].get();
    lax2 = others[1].get();
    hkg = others[2].get();
    // The seed is every node's hub; every other node learns the rest by its
    // gossip, without connecting.
    ASSERT_TRUE(syd->wait_for_nodes(3, slack(10s)));
    for (auto* n : {lax1, lax2, hkg}) {
      ASSERT_EVENTUALLY(n->nodes().size() == 4, slack(10s).count()) << n->name();
    }
  }
  void TearDown() override {
    for (auto& n : others) n->stop();
    if (syd) syd->stop();
  }

  std::unique_ptr<fly::Node> syd;
  std::vector<std::unique_ptr<fly::Node>> others;
  fly::Node* lax1 = nullptr;
  fly::Node* lax2 = nullptr;
  fly::Node* hkg = nullptr;
};

TEST_F(LazyCluster, NodesKnowEveryRegionButConnectOnlyToTheirSeed) {
  for (auto* n : {lax1, lax2, hkg}) {
    EXPECT_EQ(n->regions(), kAllRegions) << n->name();
    EXPECT_EQ(names_of(*n), (std::set<std::string>{n->name(), "syd-1"})) << n->name();
    // The others are listed, known by gossip: region and address, no functions yet.
    for (const auto& info : n->nodes()) {
      if (info.connected) continue;
      EXPECT_FALSE(info.address.empty()) << info.name;
      EXPECT_TRUE(info.functions.empty()) << info.name;
    }
    // The waits count known nodes: a call reaches them.
    EXPECT_TRUE(n->wait_for_node("lax-2", 1ms) || n->name() == "lax-2") << n->name();
    EXPECT_TRUE(n->wait_for_region("hkg", 1ms) || n->name() == "hkg-1") << n->name();
    EXPECT_TRUE(n->wait_for_nodes(3, 1ms)) << n->name();
    auto lax = n->region_nodes("lax");
    ASSERT_EQ(lax.size(), 2u) << n->name();
    EXPECT_EQ(lax[0].name, "lax-1");
    EXPECT_EQ(lax[1].name, "lax-2");
  }
  EXPECT_EQ(names_of(*syd), (std::set<std::string>{"hkg-1", "lax-1", "lax-2", "syd-1"}));
}

TEST_F(LazyCluster, ACallConnectsItsRegionAndTheConnectionClosesWhenIdle) {
  EXPECT_EQ(hkg->rpc_region<std::string>("lax", "String.upcase", std::string("hi")), "HI");
  const auto connected = names_of(*hkg);
  EXPECT_TRUE(connected.count("lax-1") != 0 || connected.count("lax-2") != 0);
  // Idle: closed, and both ends still know each other's region.
  ASSERT_EVENTUALLY(names_of(*hkg) == (std::set<std::string>{"hkg-1", "syd-1"}), slack(5s).count());
  EXPECT_EQ(hkg->regions(), kAllRegions);
  EXPECT_EQ(lax1->regions(), kAllRegions);
  EXPECT_EQ(lax2->regions(), kAllRegions);
  // And the next call connects again.
  EXPECT_EQ(hkg->rpc_region<std::string>("lax", "String.upcase", std::string("again")), "AGAIN");
}

TEST_F(LazyCluster, AConnectionIsNotClosedUnderACallLongerThanTheIdleTimeout) {
  // 4 idle periods inside one call, in each direction: the call keeps it.
  const int ms = static_cast<int>(4 * kIdle.count());
  EXPECT_NO_THROW(hkg->rpc<void>("lax-1", "Process.sleep", ms, fly::timeout(slack(10s))));
  EXPECT_NO_THROW(lax1->rpc<void>("hkg-1", "Process.sleep", ms, fly::timeout(slack(10s))));
}

TEST_F(LazyCluster, ACallToANamedNodeOrAMulticallConnectsThem) {
  EXPECT_EQ(hkg->rpc<std::string>("lax-2", "Kernel.node"), "lax-2");
  auto results = lax1->multicall<std::string>("Kernel.node");
  std::set<std::string> answered;
  for (const auto& r : results) answered.insert(r.get());
  EXPECT_EQ(answered, (std::set<std::string>{"hkg-1", "lax-1", "lax-2", "syd-1"}));
}

TEST_F(LazyCluster, AToolWithLazyConnectionsCallsARegionAndANodeItLearnedByGossip) {
  // `flyrpc call` joins through the seed (a hidden lazy node), waits for the
  // region or node — known by gossip, not connected — and the call connects.
  for (const std::vector<std::string>& target :
       {std::vector<std::string>{"--region", "hkg"}, std::vector<std::string>{"--node", "lax-2"}}) {
    std::vector<std::string> argv = {FLYRPC_CLI_PATH, "call",
                                     "--seeds",       seed_of(*syd),
                                     "--timeout",     std::to_string(slack(20s).count())};
    argv.insert(argv.end(), target.begin(), target.end());
    argv.push_back("Kernel.node");
    const auto started = std::chrono::steady_clock::now();
    auto r = flytest::run(
        argv, {{"FLY_RPC_COOKIE", "test-cookie"}, {"FLY_RPC_LAZY_CONNECTIONS", "1"}},
        {"FLY_RPC_SEEDS", "FLY_APP_NAME", "FLY_RPC_DNS_NAME", "FLY_RPC_PORT", "FLY_REGION"},
        slack(30s));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    // Not by waiting out the timeout for a connection that only the call makes.
    EXPECT_LT(std::chrono::steady_clock::now() - started, slack(20s) / 2);
    EXPECT_EQ(r.out, target[0] == "--region" ? "\"hkg-1\"\n" : "\"lax-2\"\n") << r.err;
  }
}

TEST_F(LazyCluster, AKnownNodeThatDoesNotAnswerIsNodeDownWithinTheCallsTimeout) {
  flytest::NodeProcess ord({"ord-1", "ord", {seed_of(*syd)}, {"--lazy-connections"}, {}},
                           "test-cookie", "syd");
  ASSERT_TRUE(ord.wait_listening(slack(10s))) << ord.err();
  ASSERT_EVENTUALLY(hkg->region_nodes("ord").size() == 1, slack(10s).count());
  // Frozen: its kernel still accepts the connection, the handshake never ends.
  // (Every thread is seen stopped first: a loaded machine can take a moment.)
  ord.process().signal(SIGSTOP);
  ASSERT_EVENTUALLY(all_threads_stopped(ord.process().pid()), slack(10s).count());
  try {
    const auto who = hkg->rpc_region<std::string>("ord", "Kernel.node", fly::timeout(300ms));
    ADD_FAILURE() << "a call to a frozen node returned: " << who;
  } catch (const fly::NodeDown& e) {
    EXPECT_EQ(e.node(), "ord-1");
    EXPECT_NE(std::string(e.what()).find("no connection to region ord within 300 ms"),
              std::string::npos)
        << e.what();
  }
}

TEST_F(LazyCluster, AnAsyncCallOnTheNodesOwnIoThreadDoesNotBlockIt) {
  // On Node::executor() (one I/O thread here) a wait would stall the very
  // dial it waits for: the call fails at once saying so, and connects.
  std::promise<std::exception_ptr> failed;
  asio::post(hkg->executor(), [&] {
    hkg->async_rpc_region<std::string>(
        "lax", "Kernel.node", [&](std::exception_ptr e, std::string) { failed.set_value(e); });
  });
  auto f = failed.get_future();
  ASSERT_EQ(f.wait_for(slack(10s)), std::future_status::ready);
  std::exception_ptr e = f.get();
  ASSERT_TRUE(e);
  try {
    std::rethrow_exception(e);
  } catch (const fly::NodeDown& down) {
    EXPECT_NE(std::string(down.what()).find("does not wait"), std::string::npos) << down.what();
  }
  // The dial it started brings lax in; the same call then succeeds.
  ASSERT_EVENTUALLY(
      hkg->region_nodes("lax").front().connected || hkg->region_nodes("lax").back().connected,
      slack(10s).count());
  std::promise<std::string> answered;
  asio::post(hkg->executor(), [&] {
    hkg->async_rpc_region<std::string>("lax", "Kernel.node",
                                       [&](std::exception_ptr err, std::string name) {
                                         answered.set_value(err ? "error" : name);
                                       });
  });
  auto a = answered.get_future();
  ASSERT_EQ(a.wait_for(slack(10s)), std::future_status::ready);
  EXPECT_EQ(a.get().rfind("lax-", 0), 0u);
}

TEST_F(LazyCluster, AKnownNodeThatIsGoneFailsTheCallAndIsForgotten) {
  // hkg is not connected to lax: nobody tells it when lax-1 and lax-2 stop.
  lax1->stop();
  lax2->stop();
  ASSERT_EVENTUALLY(syd->regions() == (std::vector<std::string>{"hkg", "syd"}), slack(5s).count());
  ASSERT_EQ(hkg->regions(), kAllRegions);
  // Its dials fail (nothing listens): the call fails well within its timeout,
  // naming the region, and lax is forgotten.
  EXPECT_THROW(hkg->rpc_region<std::string>("lax", "Kernel.node", fly::timeout(slack(20s))),
               fly::NoNodeInRegion);
  EXPECT_EQ(hkg->regions(), (std::vector<std::string>{"hkg", "syd"}));
}

TEST(LazyOptions, ABadSettingIsAConfigErrorNamingIt) {
  ::setenv("FLY_RPC_LAZY_CONNECTIONS", "sometimes", 1);
  try {
    (void)fly::NodeOptions::from_env();
    ADD_FAILURE() << "FLY_RPC_LAZY_CONNECTIONS=sometimes was accepted";
  } catch (const fly::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("FLY_RPC_LAZY_CONNECTIONS"), std::string::npos)
        << e.what();
  }
  ::setenv("FLY_RPC_LAZY_CONNECTIONS", "1", 1);
  EXPECT_TRUE(fly::NodeOptions::from_env().lazy_connections);
  ::unsetenv("FLY_RPC_LAZY_CONNECTIONS");
  EXPECT_FALSE(fly::NodeOptions::from_env().lazy_connections);

  auto o = flytest::in_process_options("lazy-0", "syd");
  o.lazy_connections = true;
  o.idle_connection_timeout = 0ms;
  try {
    fly::Node node(o);
    ADD_FAILURE() << "an idle connection timeout of 0 was accepted";
  } catch (const fly::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("idle connection timeout"), std::string::npos) << e.what();
  }
}

}  // namespace
