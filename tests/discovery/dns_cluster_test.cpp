// Issue "Discovery", end to end: real nodes on 127.0.0.2-5 (one port, as on
// Fly where every machine uses FLY_RPC_PORT) that know no seed, only a DNS
// name served by a real dnsmasq. They form a full mesh from the answer; a
// record added while they run brings a new node in; records removed leave the
// live nodes connected; a dead resolver is logged once and changes nothing.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "dnsmasq.hpp"
#include "fly/node.hpp"
#include "support/log_capture.hpp"
#include "support/process.hpp"
#include "support/wait.hpp"

namespace {

using namespace std::chrono_literals;
using disctest::Dnsmasq;
using Strings = std::vector<std::string>;

constexpr std::chrono::milliseconds kPoll{200};
const Strings kHosts = {"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"};
// For lazy connections: more nodes than the three hubs DNS discovery picks.
const Strings kLazyHosts = {"127.0.0.2", "127.0.0.3", "127.0.0.4",
                            "127.0.0.5", "127.0.0.6", "127.0.0.7"};

// Whether a TCP listener could bind `host`:`port` right now. Linux routes the
// whole of 127.0.0.0/8 to lo, so every 127.x address is bindable without setup.
bool bindable(const std::string& host, std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);  // as the node's acceptor
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  const bool ok = ::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) == 1 &&
                  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

// One port free on every address of kLazyHosts (a superset of kHosts) a
// moment ago: the cluster port.
std::uint16_t cluster_port() {
  for (int attempt = 0; attempt < 50; ++attempt) {
    const auto port = static_cast<std::uint16_t>(flytest::free_port());
    bool all = true;
    for (const auto& h : kLazyHosts) all = all && bindable(h, port);
    if (all) return port;
  }
  throw std::runtime_error("no port free on all of 127.0.0.2-7");
}

Strings records(const Strings& hosts) {
  Strings lines;
  for (const auto& h : hosts) lines.push_back(h + " app.internal");
  return lines;
}

class DnsCluster : public ::testing::Test {
 protected:
  void SetUp() override { port_ = cluster_port(); }
  void TearDown() override {
    for (auto it = nodes_.rbegin(); it != nodes_.rend(); ++it) (*it)->stop();
    nodes_.clear();
  }

  // Options of the node on `host`: no seed, discovery by DNS alone (unless
  // `discover` is false: then only the others' polls can find it).
  fly::NodeOptions options(const std::string& host, bool discover = true) const {
    fly::NodeOptions o;
    o.lazy_connections = lazy_;
    o.name = "node-" + host;
    o.region = "syd";
    o.primary_region = "syd";
    o.listen_host = host;
    o.port = port_;
    o.cookie = "dns-cluster-test-cookie";
    if (discover) {
      o.dns_name = "app.internal";
      o.dns_server = dns_->server().to_string();
      o.dns_poll_interval = kPoll;
    }
    o.heartbeat_interval = 200ms;
    o.heartbeat_timeout = 3000ms;  // generous: a spurious "down" would fail these tests
    o.reconnect_min = 20ms;
    o.reconnect_max = 200ms;
    return o;
  }

  fly::Node& start_node(const std::string& host, bool discover = true) {
    auto node = std::make_unique<fly::Node>(options(host, discover));
    fly::Node& n = *node;
    n.expose("Test.whoami", [&n] { return n.name(); });
    n.subscribe([this](const fly::MembershipEvent& e) {
      if (e.kind == fly::MembershipEvent::Kind::down) ++downs_;
      if (e.kind == fly::MembershipEvent::Kind::up) ++ups_;
      last_event_ns_ = now_ns();
    });
    n.start();
    nodes_.push_back(std::move(node));
    return n;
  }

  void start_nodes(const Strings& hosts) {
    for (const auto& h : hosts) start_node(h);
  }

  // Every node sees exactly all the others (and itself).
  bool full_mesh() const {
    std::set<std::string> all;
    for (const auto& n : nodes_) all.insert(n->name());
    for (const auto& n : nodes_) {
      std::set<std::string> seen;
      for (const auto& info : n->nodes()) seen.insert(info.name);
      if (seen != all) return false;
    }
    return true;
  }

  // Who sees whom, for failure messages.
  std::string dump() const {
    std::ostringstream out;
    for (const auto& n : nodes_) {
      out << n->name() << " sees:";
      for (const auto& info : n->nodes()) out << ' ' << info.name;
      out << " (last join error: " << n->last_join_error() << ")\n";
    }
    return out.str() + (dns_ ? "dnsmasq log:\n" + dns_->log() : std::string());
  }

  // Every node calls every other one; all answer with their own name.
  void expect_every_pair_answers() {
    for (const auto& from : nodes_) {
      for (const auto& to : nodes_) {
        if (from == to) continue;
        EXPECT_EQ(from->rpc<std::string>(to->name(), "Test.whoami", fly::timeout(3s)), to->name())
            << from->name() << " -> " << to->name();
      }
    }
  }

  void wait_full_mesh() {
    for (const auto& n : nodes_) {
      ASSERT_TRUE(n->wait_for_nodes(nodes_.size() - 1, 15s)) << n->name() << "\n" << dump();
    }
    ASSERT_EVENTUALLY(full_mesh(), 5000) << dump();
  }

  // Full mesh, and no membership event for a while: the duplicate
  // connections of simultaneous dials are resolved. Then counts downs from
  // zero. (Mesh formation itself can flap today: see
  // FormsTheMeshWithoutFlapping.)
  void settle() {
    wait_full_mesh();
    ASSERT_EVENTUALLY(full_mesh() && now_ns() - last_event_ns_.load() > 500'000'000, 10000)
        << dump();
    downs_ = 0;
  }

  static std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

  flytest::LogCapture log_;  // first in, last out: outlives every node's threads
  std::unique_ptr<Dnsmasq> dns_;
  std::uint16_t port_ = 0;
  bool lazy_ = false;  ///< the nodes started from now on use lazy connections
  std::atomic<int> downs_{0};
  std::atomic<int> ups_{0};
  std::atomic<std::int64_t> last_event_ns_{0};
  std::vector<std::unique_ptr<fly::Node>> nodes_;
};

TEST_F(DnsCluster, NodesFindEachOtherThroughDnsAlone) {
  dns_ = Dnsmasq::start(records({"127.0.0.2", "127.0.0.3", "127.0.0.4"}));
  start_nodes({"127.0.0.2", "127.0.0.3", "127.0.0.4"});
  settle();
  for (const auto& n : nodes_) EXPECT_EQ(n->nodes().size(), 3u) << dump();
  expect_every_pair_answers();
  // Every node's own address is in the answer: it skipped it rather than
  // connecting to itself (that would be refused and logged as an error).
  EXPECT_EQ(log_.count(spdlog::level::err, "own name"), 0u) << log_.all();
  EXPECT_EQ(
      log_.count(spdlog::level::info, "DNS discovery: app.internal resolves to 3 address(es)"), 3u)
      << log_.all();
}

TEST_F(DnsCluster, AnAddedRecordBringsTheNewNodeIn) {
  dns_ = Dnsmasq::start(records({"127.0.0.2", "127.0.0.3", "127.0.0.4"}));
  start_nodes({"127.0.0.2", "127.0.0.3", "127.0.0.4"});
  settle();
  // The new node knows nobody (no seed, no DNS): only the running nodes' next
  // polls can bring it in, so this proves they picked up the new record.
  fly::Node& fresh = start_node("127.0.0.5", /*discover=*/false);
  dns_->set_hosts(records(kHosts));
  ASSERT_TRUE(fresh.wait_for_nodes(3, 15s)) << dump();
  settle();
  expect_every_pair_answers();
}

TEST_F(DnsCluster, RemovedRecordsLeaveLiveNodesInPlace) {
  dns_ = Dnsmasq::start(records({"127.0.0.2", "127.0.0.3", "127.0.0.4"}), /*log_queries=*/true);
  start_nodes({"127.0.0.2", "127.0.0.3", "127.0.0.4"});
  settle();

  dns_->set_hosts(records({"127.0.0.2"}));
  const std::string reloaded = "read " + dns_->hosts_path() + " - 1 names";
  ASSERT_EVENTUALLY(dns_->log_count(reloaded) == 1, 5000) << dns_->log();
  // Wait until the nodes asked again several times after the reload (three
  // nodes, one A query per poll each: 15 queries is about five polls each).
  ASSERT_EVENTUALLY(dns_->log_count("query[A] app.internal from", reloaded) >= 15, 10000)
      << dns_->log();
  // And those answers did drop the two addresses.
  EXPECT_GE(dns_->log_count("app.internal is 127.0.0.2", reloaded), 1u) << dns_->log();
  EXPECT_EQ(dns_->log_count("app.internal is 127.0.0.3", reloaded), 0u) << dns_->log();
  EXPECT_EQ(dns_->log_count("app.internal is 127.0.0.4", reloaded), 0u) << dns_->log();

  EXPECT_TRUE(full_mesh()) << dump();
  expect_every_pair_answers();
  EXPECT_EQ(downs_.load(), 0) << log_.all();
}

TEST_F(DnsCluster, ADeadResolverIsLoggedOnceAndTheNodesKeepServing) {
  dns_ = Dnsmasq::start(records({"127.0.0.2", "127.0.0.3", "127.0.0.4"}));
  start_nodes({"127.0.0.2", "127.0.0.3", "127.0.0.4"});
  settle();

  dns_.reset();  // kills dnsmasq: every poll from now on fails
  const std::string failure = "DNS discovery: app.internal:";
  ASSERT_EVENTUALLY(log_.count(spdlog::level::warn, failure) >= 3, 5000) << log_.all();
  EXPECT_EQ(log_.count(spdlog::level::warn, "(will keep polling every 200ms)"), 3u) << log_.all();

  // Keep calling through many more polls (poll failures are not observable
  // from outside a Node, so this window is measured in poll intervals): every
  // call is answered, and the unchanged failure is not logged again.
  const auto until = std::chrono::steady_clock::now() + 8 * kPoll;
  int rounds = 0;
  while (std::chrono::steady_clock::now() < until) {
    expect_every_pair_answers();
    ++rounds;
  }
  EXPECT_GE(rounds, 1);
  EXPECT_EQ(log_.count(spdlog::level::warn, failure), 3u) << log_.all();
  EXPECT_TRUE(full_mesh()) << dump();
  EXPECT_EQ(downs_.load(), 0) << log_.all();
}

// Lazy connections with DNS discovery: every node dials the three lowest
// addresses of the answer (the hubs), learns the others by their gossip, and
// connects to one of them only when it calls it.
TEST_F(DnsCluster, LazyNodesDialTheThreeLowestAddressesAndLearnTheRest) {
  lazy_ = true;
  dns_ = Dnsmasq::start(records(kLazyHosts));
  start_nodes(kLazyHosts);
  const std::set<std::string> hubs = {"node-127.0.0.2", "node-127.0.0.3", "node-127.0.0.4"};
  auto connected_to = [](const fly::Node& n) {
    std::set<std::string> out;
    for (const auto& info : n.nodes()) {
      if (info.connected && info.name != n.name()) out.insert(info.name);
    }
    return out;
  };
  // Everyone knows all six; a non-hub ends up connected to the three hubs
  // only (dialled in parallel: the first to come up may gossip the whole
  // cluster before the other two are up).
  for (const auto& n : nodes_) {
    ASSERT_EVENTUALLY(n->nodes().size() == kLazyHosts.size(), 15000) << dump();
  }
  for (std::size_t i = 3; i < nodes_.size(); ++i) {
    EXPECT_EVENTUALLY(connected_to(*nodes_[i]) == hubs, 15000) << dump();
  }
  // A call from one non-hub to another connects them.
  EXPECT_EQ(nodes_[3]->rpc<std::string>("node-127.0.0.7", "Test.whoami", fly::timeout(5s)),
            "node-127.0.0.7");
  EXPECT_EQ(connected_to(*nodes_[3]).count("node-127.0.0.7"), 1u) << dump();
}

// Regression: when two nodes dial each other at the same moment, which DNS
// discovery makes the rule, the decider once activated both connections
// before either was up; the second then replaced the first and the other side
// saw "down" then "up" again. Cluster::on_authenticated now activates one.
TEST_F(DnsCluster, FormsTheMeshWithoutFlapping) {
  dns_ = Dnsmasq::start(records({"127.0.0.2", "127.0.0.3", "127.0.0.4"}));
  start_nodes({"127.0.0.2", "127.0.0.3", "127.0.0.4"});
  wait_full_mesh();
  ASSERT_EVENTUALLY(now_ns() - last_event_ns_.load() > 500'000'000, 10000);
  EXPECT_EQ(downs_.load(), 0) << log_.all();
  EXPECT_EQ(ups_.load(), 6) << log_.all();  // each node sees each other one come up once
}

// The same through the real binary, configured only by environment as on
// Fly: FLY_APP_NAME (or FLY_RPC_DNS_NAME), FLY_RPC_DNS_SERVER, FLY_RPC_PORT.
TEST(DnsClusterCli, NodeProcessesFindEachOtherThroughDnsAlone) {
  const std::uint16_t port = cluster_port();
  auto dns = Dnsmasq::start(records({"127.0.0.2", "127.0.0.3", "127.0.0.4"}));
  std::vector<flytest::Process> nodes;
  const Strings hosts = {"127.0.0.2", "127.0.0.3", "127.0.0.4"};
  for (std::size_t i = 0; i < hosts.size(); ++i) {
    std::map<std::string, std::string> env = {{"FLY_RPC_COOKIE", "dns-cluster-cli-cookie"},
                                              {"FLY_RPC_DNS_SERVER", dns->server().to_string()},
                                              {"FLY_RPC_PORT", std::to_string(port)},
                                              {"PRIMARY_REGION", "syd"},
                                              {"FLY_REGION", "syd"}};
    // The first node derives the name from the app, as on Fly.
    if (i == 0) {
      env.emplace("FLY_APP_NAME", "app");
    } else {
      env.emplace("FLY_RPC_DNS_NAME", "app.internal");
    }
    nodes.push_back(flytest::Process::spawn(
        {FLYRPC_CLI_PATH, "node", "--name", "cli-" + hosts[i], "--listen", hosts[i]}, env,
        {"FLY_RPC_SEEDS", "FLY_APP_NAME", "FLY_RPC_DNS_NAME", "MY_REGION", "FLY_PRIVATE_IP"}));
  }
  auto ups = [](const std::string& out) {
    std::set<std::string> names;
    std::istringstream in(out);
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream words(line);
      std::string kind, name;
      if (words >> kind >> name && kind == "up") names.insert(name);
    }
    return names;
  };
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    std::set<std::string> others;
    for (std::size_t j = 0; j < hosts.size(); ++j) {
      if (j != i) others.insert("cli-" + hosts[j]);
    }
    EXPECT_EVENTUALLY(ups(nodes[i].stdout_text()) == others, 15000)
        << "cli-" << hosts[i] << " stdout:\n"
        << nodes[i].stdout_text() << "stderr:\n"
        << nodes[i].stderr_text();
    EXPECT_NE(nodes[i].stdout_text().find("listening " + hosts[i] + ":" + std::to_string(port)),
              std::string::npos)
        << nodes[i].stdout_text();
  }
  for (auto& n : nodes) n.signal(SIGTERM);
  for (auto& n : nodes) {
    auto r = n.wait_for(10s);
    ASSERT_TRUE(r.has_value()) << n.stderr_text();
    EXPECT_EQ(r->exit_code, 0) << r->err;
  }
}

}  // namespace
