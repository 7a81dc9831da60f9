#include "reliability/fault_cluster.hpp"

#include <signal.h>

#include <sstream>

#include "support/cluster_harness.hpp"
#include "support/test_pki.hpp"
#include "support/wait.hpp"

namespace flyrel {

using namespace std::chrono_literals;

// ---- NodeInHost ----------------------------------------------------------

NodeInHost::NodeInHost(Host& host, std::string name, std::string region, std::string primary,
                       std::vector<std::string> seeds, std::string cookie, ClusterTiming timing)
    : host_(host),
      name_(std::move(name)),
      region_(std::move(region)),
      primary_(std::move(primary)),
      cookie_(std::move(cookie)),
      seeds_(std::move(seeds)),
      timing_(timing) {}

void NodeInHost::start() {
  std::vector<std::string> argv = {"ip",
                                   "netns",
                                   "exec",
                                   host_.ns(),
                                   FLYRPC_CLI_PATH,
                                   "node",
                                   "--name",
                                   name_,
                                   "--region",
                                   region_,
                                   "--primary",
                                   primary_,
                                   "--listen",
                                   address(),
                                   "--heartbeat-ms",
                                   std::to_string(timing_.heartbeat.count()),
                                   "--heartbeat-timeout-ms",
                                   std::to_string(timing_.heartbeat_timeout.count()),
                                   "--handshake-timeout-ms",
                                   std::to_string(timing_.handshake_timeout.count()),
                                   "--verbose"};
  argv.insert(argv.end(), extra_args_.begin(), extra_args_.end());
  std::string seeds;
  for (const auto& s : seeds_) seeds += (seeds.empty() ? "" : ",") + s;
  if (!seeds.empty()) {
    argv.push_back("--seeds");
    argv.push_back(seeds);
  }
  process_.reset();
  process_.emplace(flytest::Process::spawn(
      argv, {{"FLY_RPC_COOKIE", cookie_}},
      {"FLY_REGION", "MY_REGION", "PRIMARY_REGION", "FLY_RPC_SEEDS", "FLY_APP_NAME",
       "FLY_RPC_DNS_NAME", "FLY_RPC_METRICS", "FLY_RPC_VERBOSE"}));
  should_run_ = true;
}

bool NodeInHost::wait_listening(std::chrono::milliseconds timeout) {
  return flytest::eventually(
      [&] { return out().find("listening " + address()) != std::string::npos; }, timeout);
}

void NodeInHost::kill9() {
  should_run_ = false;
  if (!process_) return;
  process_->signal(SIGKILL);
  process_->wait_for(10s);
  previous_ += "---- " + name_ + " stdout ----\n" + process_->stdout_text() + "---- " + name_ +
               " stderr ----\n" + process_->stderr_text();
}

bool NodeInHost::running() {
  return process_ && process_->running();
}

std::string NodeInHost::out() const {
  return process_ ? process_->stdout_text() : "";
}
std::string NodeInHost::err() const {
  return process_ ? process_->stderr_text() : "";
}

std::set<std::string> NodeInHost::peers_up(const std::set<std::string>& names) const {
  std::set<std::string> up;
  std::istringstream in(out());
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string kind, peer;
    if (!(words >> kind >> peer) || names.count(peer) == 0) continue;
    if (kind == "up") up.insert(peer);
    if (kind == "down") up.erase(peer);
  }
  return up;
}

std::vector<std::string> NodeInHost::down_reasons(const std::string& peer) const {
  std::vector<std::string> reasons;
  std::istringstream in(out());
  std::string line;
  const std::string prefix = "down " + peer + " ";
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) != 0) continue;
    // "down NAME REGION REASON..."
    const auto region_end = line.find(' ', prefix.size());
    reasons.push_back(region_end == std::string::npos ? "" : line.substr(region_end + 1));
  }
  return reasons;
}

std::size_t NodeInHost::up_count(const std::string& peer) const {
  std::size_t n = 0;
  std::istringstream in(out());
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("up " + peer + " ", 0) == 0) ++n;
  }
  return n;
}

// ---- FaultCluster --------------------------------------------------------

void FaultCluster::SetUp() {
  if (const std::string why = netns_unavailable_reason(); !why.empty()) {
    GTEST_SKIP() << why;
  }
  if (const int stale = remove_stale_namespaces(); stale > 0) {
    std::cout << "[reliability] removed " << stale << " stale namespace(s) of dead test runs\n";
  }
  cookie = flytest::random_cookie();
  lab = std::make_unique<Lab>();
  Host& ams = lab->add_host("ams");
  Host& lax = lab->add_host("lax");
  Host& syd = lab->add_host("syd");
  client_host = &lab->add_host("client");
  // ams is the seed; lax and syd learn each other through it (gossip), as
  // nodes joining one seed do.
  const std::string seed = ams.ip() + ":4370";
  nodes.push_back(std::make_unique<NodeInHost>(ams, "ams-1", "ams", "ams",
                                               std::vector<std::string>{}, cookie, timing));
  nodes.push_back(std::make_unique<NodeInHost>(lax, "lax-1", "lax", "ams",
                                               std::vector<std::string>{seed}, cookie, timing));
  nodes.push_back(std::make_unique<NodeInHost>(syd, "syd-1", "syd", "ams",
                                               std::vector<std::string>{seed}, cookie, timing));
  if (tls) {
    const auto& pki = tlstest::TestPki::get();
    const char* const certs[] = {"a", "b", "c"};
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      const auto files = pki.node(certs[i]);
      nodes[i]->set_extra_args(
          {"--tls-cert", files.cert, "--tls-key", files.key, "--tls-ca", pki.ca, "--tls-mutual"});
    }
  }
  // One at a time, each in every view before the next starts: these tests
  // are about faults; simultaneous joins are ConcurrentJoinsAllMeet's
  // (join_race_test.cpp).
  for (auto& n : nodes) {
    n->start();
    ASSERT_TRUE(n->wait_listening(slack(10s))) << n->name() << ":\n" << n->out() << n->err();
    ASSERT_TRUE(flytest::eventually([&] { return nodes_meshed(); }, slack(15s))) << describe_mesh();
  }
  client = start_client("client-" + std::to_string(::getpid()));
  ASSERT_TRUE(wait_mesh_whole(slack(15s))) << describe_mesh();
}

std::unique_ptr<fly::Node> FaultCluster::start_client(const std::string& name) {
  fly::NodeOptions o;
  o.name = name;
  o.region = "client";
  o.primary_region = "ams";
  o.hidden = true;
  o.listen_host = "";
  o.cookie = cookie;
  o.seeds = {node("ams").address()};
  o.heartbeat_interval = timing.heartbeat;
  o.heartbeat_timeout = timing.heartbeat_timeout;
  o.handshake_timeout = timing.handshake_timeout;
  o.call_timeout = 2s;
  o.worker_threads = 1;
  if (tls) {
    const auto& pki = tlstest::TestPki::get();
    o.tls = tlstest::tls_options(pki.node("client"), pki.ca, /*mutual=*/true);
  }
  // The client's threads (and so its sockets) are made inside the client
  // host; this thread goes back to the root namespace afterwards.
  ScopedNetns in_client(client_host->ns());
  auto c = std::make_unique<fly::Node>(o);
  c->subscribe([this](const fly::MembershipEvent& e) {
    if (e.kind == fly::MembershipEvent::Kind::down) client_drops.fetch_add(1);
  });
  c->start();
  return c;
}

void FaultCluster::TearDown() {
  // No process crashed: every node the test did not kill is still running.
  for (auto& n : nodes) {
    if (n->should_run()) {
      EXPECT_TRUE(n->running()) << n->name() << " died during the test:\n" << n->out() << n->err();
    }
  }
  if (client) client->stop();
  client.reset();
  if (HasFailure()) {
    for (auto& n : nodes) {
      std::cout << n->previous_output() << "---- " << n->name() << " stdout ----\n"
                << n->out() << "---- " << n->name() << " stderr (last 3000 bytes) ----\n";
      const std::string err = n->err();
      std::cout << (err.size() > 3000 ? err.substr(err.size() - 3000) : err) << "\n";
    }
  }
  nodes.clear();  // kills the processes before their namespaces go
  lab.reset();
}

std::set<std::string> FaultCluster::running_names() const {
  std::set<std::string> names;
  for (const auto& n : nodes) {
    if (n->should_run()) names.insert(n->name());
  }
  return names;
}

bool FaultCluster::nodes_meshed() {
  std::set<std::string> all;
  for (const auto& n : nodes) all.insert(n->name());
  const std::set<std::string> expected = running_names();
  for (auto& n : nodes) {
    if (!n->should_run()) continue;
    std::set<std::string> want = expected;
    want.erase(n->name());
    if (n->peers_up(all) != want) return false;
  }
  return true;
}

bool FaultCluster::mesh_whole() {
  if (!nodes_meshed()) return false;
  std::set<std::string> all;
  for (const auto& n : nodes) all.insert(n->name());
  const std::set<std::string> expected = running_names();
  std::set<std::string> seen;
  for (const auto& info : client->nodes()) {
    if (all.count(info.name)) seen.insert(info.name);
  }
  return seen == expected;
}

std::string FaultCluster::describe_mesh() {
  std::set<std::string> all;
  for (const auto& n : nodes) all.insert(n->name());
  std::string s;
  for (auto& n : nodes) {
    s += n->name() + (n->should_run() ? "" : " (killed)") + " sees:";
    for (const auto& p : n->peers_up(all)) s += " " + p;
    s += "\n";
  }
  s += "client sees:";
  if (client) {
    for (const auto& info : client->nodes()) s += " " + info.name;
  }
  return s + "\n";
}

std::optional<std::chrono::milliseconds> FaultCluster::wait_mesh_whole(
    std::chrono::milliseconds timeout) {
  const auto t0 = std::chrono::steady_clock::now();
  if (!flytest::eventually([&] { return mesh_whole(); }, timeout)) return std::nullopt;
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               t0);
}

std::optional<std::chrono::milliseconds> FaultCluster::wait_mesh_settled(
    std::chrono::milliseconds timeout, std::chrono::milliseconds window) {
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  auto quiet_since = t0;
  std::size_t drops = node_drops();
  bool whole = false;
  const bool settled = flytest::eventually(
      [&] {
        const auto now = Clock::now();
        const std::size_t d = node_drops();
        const bool w = mesh_whole();
        if (d != drops || !w || !whole) quiet_since = now;  // a change: start again
        drops = d;
        whole = w;
        return whole && now - quiet_since >= window;
      },
      timeout);
  if (!settled) return std::nullopt;
  return std::chrono::duration_cast<std::chrono::milliseconds>(quiet_since - t0);
}

std::size_t FaultCluster::node_drops() {
  std::size_t n = 0;
  for (auto& a : nodes) {
    for (auto& b : nodes) n += a->down_reasons(b->name()).size();
  }
  return n;
}

NodeInHost& FaultCluster::node(const std::string& region) {
  for (auto& n : nodes) {
    if (n->region() == region) return *n;
  }
  throw std::out_of_range("no node in region " + region);
}

bool FaultCluster::all_saw_down(const std::string& peer, const std::string& except) {
  for (auto& n : nodes) {
    if (n->name() == except || n->name() == peer || !n->should_run()) continue;
    if (n->down_reasons(peer).empty()) return false;
  }
  return true;
}

}  // namespace flyrel
