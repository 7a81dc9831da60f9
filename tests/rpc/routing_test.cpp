// How rpc_region picks a node of a region (CallOptions::prefer), and the
// (region, function) index it reads.
//
// Two halves: the choice function and the index on hand-built views (real,
// never started Peers, so that loads and round-trip times can be set
// exactly), then in-process nodes over loopback showing that each preference
// reaches the call path.
#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/use_future.hpp>

#include <chrono>
#include <condition_variable>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "cluster/cluster_view.hpp"
#include "cluster/route_choice.hpp"
#include "cluster/route_index.hpp"
#include "fly/async.hpp"
#include "fly/node.hpp"
#include "net/peer.hpp"
#include "support/in_process_node.hpp"
#include "support/no_events.hpp"
#include "support/wait.hpp"

namespace {

using namespace std::chrono_literals;
using fly::Prefer;
using fly::cluster::Member;

// ---- the choice and the index, on hand-built views ---------------------------------

// A call that stays in a call table until taken back: load on a peer.
struct HeldCall final : fly::detail::PendingCall {
  void complete(fly::Errc, std::span<const char>) noexcept override {}
  void fail(fly::Errc, std::string_view) noexcept override {}
};

// Members of one region "lax", each with a connection that is never started
// (no socket is open; its call table and RTT are what routing reads).
class FakeRegion : public ::testing::Test {
 protected:
  void add(const std::string& name, std::vector<std::string> functions = {"Kernel.node"}) {
    fly::net::PeerSettings settings;
    settings.cookie = "test-cookie";
    settings.hello.name = name;
    settings.hello.region = "lax";
    auto peer = std::make_shared<fly::net::Peer>(asio::ip::tcp::socket(io_), std::move(settings),
                                                 events_, events_, "");
    auto m = std::make_shared<Member>();
    m->name = name;
    m->region = "lax";
    m->peer = peer;
    auto set = std::make_shared<fly::cluster::FunctionSet>();
    for (auto& f : functions) set->insert(std::move(f));
    m->functions = std::move(set);
    peers_[name] = std::move(peer);
    members_.push_back(std::move(m));
  }
  fly::net::Peer& peer(const std::string& name) { return *peers_.at(name); }
  /// `n` calls in flight on `name`'s connection until the test ends.
  void load(const std::string& name, int n) {
    for (int i = 0; i < n; ++i) {
      held_.push_back(std::make_unique<HeldCall>());
      ASSERT_TRUE(peer(name).calls().add(*held_.back()));
      held_on_.push_back(name);
    }
  }
  void TearDown() override {
    for (std::size_t i = 0; i < held_.size(); ++i) {
      peer(held_on_[i]).calls().take(held_[i]->request_id);
    }
  }
  std::vector<const Member*> candidates() const {
    std::vector<const Member*> out;
    for (const auto& m : members_) out.push_back(m.get());
    return out;
  }
  /// How often each member is chosen over `n` draws of `prefer`.
  std::map<std::string, int> spread(Prefer prefer, int n = 2000) {
    const auto c = candidates();
    std::map<std::string, int> chosen;
    std::uint64_t seed = 12345;
    for (int i = 0; i < n; ++i) {
      seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;  // any spread of seeds
      fly::cluster::Choice choice = fly::cluster::choose(c, prefer, seed);
      EXPECT_NE(choice.member, nullptr);
      if (choice.member == nullptr) continue;
      EXPECT_TRUE(choice.peer) << choice.member->name << " was chosen without its connection";
      if (choice.peer) {
        EXPECT_EQ(choice.peer.get(), peers_[choice.member->name].get());
      }
      chosen[choice.member->name]++;
    }
    return chosen;
  }

  asio::io_context io_;
  flytest::NoEvents events_;
  std::map<std::string, std::shared_ptr<fly::net::Peer>> peers_;
  std::vector<std::shared_ptr<const Member>> members_;
  std::vector<std::unique_ptr<HeldCall>> held_;
  std::vector<std::string> held_on_;
};

TEST_F(FakeRegion, RandomChoosesEveryMember) {
  for (const char* n : {"lax-1", "lax-2", "lax-3", "lax-4"}) add(n);
  auto chosen = spread(Prefer::random);
  ASSERT_EQ(chosen.size(), 4u);
  for (const auto& [name, count] : chosen) EXPECT_GT(count, 2000 / 4 / 2) << name;
}

TEST_F(FakeRegion, LeastLoadedOfTwoIsExact) {
  add("lax-1");
  add("lax-2");
  load("lax-1", 3);
  load("lax-2", 1);
  EXPECT_EQ(spread(Prefer::least_loaded), (std::map<std::string, int>{{"lax-2", 2000}}));
}

TEST_F(FakeRegion, LeastLoadedNeverPicksTheBusiestOfMany) {
  // Power of two choices: the busiest member loses every pairing it is in.
  for (const char* n : {"lax-1", "lax-2", "lax-3", "lax-4", "lax-5"}) add(n);
  load("lax-3", 5);
  load("lax-1", 1);
  auto chosen = spread(Prefer::least_loaded);
  EXPECT_EQ(chosen.count("lax-3"), 0u);
  EXPECT_GT(chosen["lax-2"], 0);
  EXPECT_GT(chosen["lax-4"], 0);
  EXPECT_GT(chosen["lax-5"], 0);
  // lax-1 wins only against lax-3: rarer than each idle member.
  EXPECT_LT(chosen["lax-1"], chosen["lax-2"]);
}

TEST_F(FakeRegion, LeastLoadedTiesAreRandom) {
  for (const char* n : {"lax-1", "lax-2", "lax-3"}) add(n);
  EXPECT_EQ(spread(Prefer::least_loaded).size(), 3u);
}

TEST_F(FakeRegion, LowestRttPicksTheFastestAndUnknownIsWorst) {
  for (const char* n : {"lax-1", "lax-2", "lax-3", "lax-4"}) add(n);
  peer("lax-1").record_rtt(3ms);
  peer("lax-2").record_rtt(900us);
  peer("lax-3").record_rtt(40ms);
  // lax-4: no call yet, RTT unknown: worse than any measured one.
  EXPECT_EQ(spread(Prefer::lowest_rtt), (std::map<std::string, int>{{"lax-2", 2000}}));
}

TEST_F(FakeRegion, LowestRttWithNothingMeasuredIsRandom) {
  for (const char* n : {"lax-1", "lax-2", "lax-3"}) add(n);
  EXPECT_EQ(spread(Prefer::lowest_rtt).size(), 3u);
}

TEST_F(FakeRegion, LowestRttTiesAreRandom) {
  for (const char* n : {"lax-1", "lax-2", "lax-3"}) add(n);
  peer("lax-1").record_rtt(2ms);
  peer("lax-2").record_rtt(1ms);
  peer("lax-3").record_rtt(1ms);
  auto chosen = spread(Prefer::lowest_rtt);
  EXPECT_EQ(chosen.count("lax-1"), 0u);
  EXPECT_GT(chosen["lax-2"], 2000 / 4);
  EXPECT_GT(chosen["lax-3"], 2000 / 4);
}

TEST_F(FakeRegion, ClosedConnectionsAreSkippedOrReported) {
  for (const char* n : {"lax-1", "lax-2"}) add(n);
  peer("lax-1").record_rtt(1ms);  // the fastest, but about to go
  peers_.erase("lax-1");          // the cluster dropped it; the view still names it
  const auto c = candidates();
  for (Prefer p : {Prefer::least_loaded, Prefer::lowest_rtt}) {
    for (std::uint64_t seed : {0ULL, 1ULL << 63, ~0ULL}) {
      auto choice = fly::cluster::choose(c, p, seed);
      ASSERT_TRUE(choice.peer);
      EXPECT_EQ(choice.member->name, "lax-2");
    }
  }
  // random may draw it: then there is no pin, and the caller says NodeDown.
  auto drawn = fly::cluster::choose(c, Prefer::random, 0);
  EXPECT_EQ(drawn.member->name, "lax-1");
  EXPECT_FALSE(drawn.peer);
  peers_.erase("lax-2");
  for (Prefer p : {Prefer::random, Prefer::least_loaded, Prefer::lowest_rtt}) {
    auto none = fly::cluster::choose(c, p, 42);
    ASSERT_NE(none.member, nullptr);
    EXPECT_FALSE(none.peer);
  }
}

// The names of a candidate list, in its order (none for nullptr).
std::vector<std::string> names(const fly::cluster::RouteIndex::Candidates* c) {
  std::vector<std::string> out;
  if (c) {
    for (const Member* m : *c) out.push_back(m->name);
  }
  return out;
}

TEST(RouteIndex, ListsTheOtherExportersOfEachRegionAndFunction) {
  auto make = [](std::string name, std::string region, std::vector<std::string> fns,
                 bool self = false) {
    auto m = std::make_shared<Member>();
    m->name = std::move(name);
    m->region = std::move(region);
    m->is_self = self;
    auto set = std::make_shared<fly::cluster::FunctionSet>();
    for (auto& f : fns) set->insert(std::move(f));
    m->functions = std::move(set);
    return std::shared_ptr<const Member>(std::move(m));
  };
  // Sorted by name, as Cluster::publish makes `visible`.
  std::vector<std::shared_ptr<const Member>> visible = {
      make("hkg-1", "hkg", {"A", "B"}, /*self=*/true), make("lax-1", "lax", {"A", "B"}),
      make("lax-2", "lax", {"B"}), make("syd-1", "syd", {"A"}), make("syd-2", "syd", {})};
  fly::cluster::RouteIndex index(visible);
  EXPECT_EQ(names(index.find("lax", "A")), (std::vector<std::string>{"lax-1"}));
  EXPECT_EQ(names(index.find("lax", "B")), (std::vector<std::string>{"lax-1", "lax-2"}));
  EXPECT_EQ(names(index.find("syd", "A")), (std::vector<std::string>{"syd-1"}));
  EXPECT_EQ(index.find("syd", "B"), nullptr);  // nobody there exports it
  EXPECT_EQ(index.find("hkg", "A"), nullptr);  // only this node: the local path's job
  EXPECT_EQ(index.find("ams", "A"), nullptr);  // no such region
  EXPECT_EQ(index.find("la", "xA"), nullptr);  // the pair, not the concatenation
  EXPECT_EQ(index.size(), 3u);
  EXPECT_EQ(fly::cluster::RouteIndex().find("lax", "A"), nullptr);
}

TEST(RouteIndex, MembersSharingAFunctionSetAreIndexedTogetherAndStaySortedByName) {
  // lax-1 and lax-3 share one set object (as the cluster shares equal sets);
  // lax-2's set differs. Indexed per (region, set), B's list must still come
  // out in name order and whole.
  auto shared = std::make_shared<fly::cluster::FunctionSet>(fly::cluster::FunctionSet{"A", "B"});
  auto only_b = std::make_shared<fly::cluster::FunctionSet>(fly::cluster::FunctionSet{"B"});
  auto make = [](std::string name, std::shared_ptr<const fly::cluster::FunctionSet> set) {
    auto m = std::make_shared<Member>();
    m->name = std::move(name);
    m->region = "lax";
    m->functions = std::move(set);
    return std::shared_ptr<const Member>(std::move(m));
  };
  std::vector<std::shared_ptr<const Member>> visible = {
      make("lax-1", shared), make("lax-2", only_b), make("lax-3", shared), make("lax-4", only_b)};
  fly::cluster::RouteIndex index(visible);
  EXPECT_EQ(names(index.find("lax", "A")), (std::vector<std::string>{"lax-1", "lax-3"}));
  EXPECT_EQ(names(index.find("lax", "B")),
            (std::vector<std::string>{"lax-1", "lax-2", "lax-3", "lax-4"}));
  EXPECT_EQ(index.size(), 2u);
}

TEST(RouteIndex, FindsEveryPairOfALargeTable) {
  // 40 regions x 3 members x 25 functions: probes across a well-filled table.
  std::vector<std::shared_ptr<const Member>> visible;
  auto set = std::make_shared<fly::cluster::FunctionSet>();
  for (int f = 0; f < 25; ++f) set->insert("Fn." + std::to_string(f));
  for (int r = 0; r < 40; ++r) {
    for (int i = 0; i < 3; ++i) {
      auto m = std::make_shared<Member>();
      m->region = "r" + std::to_string(r);
      m->name = m->region + "-" + std::to_string(i);
      m->functions = set;
      visible.push_back(std::move(m));
    }
  }
  fly::cluster::RouteIndex index(visible);
  ASSERT_EQ(index.size(), 40u * 25u);
  for (int r = 0; r < 40; ++r) {
    for (int f = 0; f < 25; ++f) {
      const auto* c = index.find("r" + std::to_string(r), "Fn." + std::to_string(f));
      ASSERT_NE(c, nullptr) << r << " " << f;
      ASSERT_EQ(c->size(), 3u);
      EXPECT_EQ((*c)[0]->region, "r" + std::to_string(r));
    }
    EXPECT_EQ(index.find("r" + std::to_string(r), "Fn.25"), nullptr);
  }
}

// ---- in-process nodes over loopback ------------------------------------------------

// Blocks the calls that enter it until released (or 10 s, so that a failing
// test cannot hang), counting how many are inside.
class Gate {
 public:
  void wait() {
    std::unique_lock lock(mutex_);
    ++inside_;
    changed_.notify_all();
    changed_.wait_for(lock, 10s, [this] { return open_; });
  }
  void open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }
  int inside() {
    std::lock_guard lock(mutex_);
    return inside_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int inside_ = 0;
  bool open_ = false;
};

// A caller in hkg and three nodes of lax, all exporting the test functions;
// lax-1 also exports Gate.wait.
class LaxRegion : public ::testing::Test {
 protected:
  void SetUp() override {
    hkg = std::make_unique<fly::Node>(flytest::in_process_options("hkg-1", "hkg"));
    flytest::expose_test_functions(*hkg);
    hkg->start();
    for (int i = 1; i <= 3; ++i) {
      lax.push_back(std::make_unique<fly::Node>(flytest::in_process_options(
          "lax-" + std::to_string(i), "lax", {flytest::seed_of(*hkg)})));
      flytest::expose_test_functions(*lax.back());
    }
    lax[0]->expose("Gate.wait", [this] { gate.wait(); });
    for (auto& n : lax) n->start();
    for (auto& n : lax) ASSERT_TRUE(n->wait_for_nodes(3, 10s)) << n->name();
    ASSERT_TRUE(hkg->wait_for_nodes(3, 10s));
    // Every lax node, with the functions above, is in hkg's table.
    ASSERT_TRUE(flytest::eventually(
        [&] {
          auto nodes = hkg->region_nodes("lax");
          if (nodes.size() != 3) return false;
          for (const auto& n : nodes) {
            if (std::find(n.functions.begin(), n.functions.end(), "Kernel.node") ==
                n.functions.end()) {
              return false;
            }
          }
          return std::find(nodes[0].functions.begin(), nodes[0].functions.end(), "Gate.wait") !=
                 nodes[0].functions.end();
        },
        10s));
  }
  void TearDown() override {
    gate.open();
    if (hkg) hkg->stop();
    for (auto& n : lax) n->stop();
  }
  std::map<std::string, int> served(fly::Prefer prefer, int calls) {
    std::map<std::string, int> out;
    for (int i = 0; i < calls; ++i) {
      out[hkg->rpc_region<std::string>("lax", "Kernel.node", fly::CallOptions{.prefer = prefer})]++;
    }
    return out;
  }

  Gate gate;
  std::unique_ptr<fly::Node> hkg;
  std::vector<std::unique_ptr<fly::Node>> lax;
};

TEST_F(LaxRegion, RandomSpreadsOverEveryMember) {
  // The chance that 300 uniform draws miss one of 3 members is 3 x (2/3)^300.
  auto out = served(Prefer::random, 300);
  EXPECT_EQ(out.size(), 3u);
  for (const auto& [name, count] : out) EXPECT_GT(count, 30) << name;
}

TEST_F(LaxRegion, LeastLoadedAvoidsTheMemberWithCallsOutstanding) {
  constexpr int kHeld = 3;
  std::vector<std::future<void>> held;
  for (int i = 0; i < kHeld; ++i) {
    held.push_back(hkg->async_rpc<void>("lax-1", "Gate.wait", fly::timeout(20s), asio::use_future));
  }
  ASSERT_EVENTUALLY(gate.inside() == kHeld, 10000);
  // Sequential calls: the others have nothing in flight when each is chosen,
  // so the power-of-two choice never keeps lax-1.
  auto out = served(Prefer::least_loaded, 60);
  EXPECT_EQ(out.count("lax-1"), 0u);
  EXPECT_GT(out["lax-2"], 0);
  EXPECT_GT(out["lax-3"], 0);
  // The async form honours the preference too.
  for (int i = 0; i < 20; ++i) {
    auto f = hkg->async_rpc_region<std::string>(
        "lax", "Kernel.node", fly::CallOptions{.prefer = Prefer::least_loaded}, asio::use_future);
    EXPECT_NE(f.get(), "lax-1");
  }
  // Random does not look at load: lax-1 still gets calls (they queue behind
  // nothing: Kernel.node does not wait on the gate).
  EXPECT_GT(served(Prefer::random, 150)["lax-1"], 0);
  gate.open();
  for (auto& f : held) EXPECT_NO_THROW(f.get());
}

TEST_F(LaxRegion, LowestRttPicksTheMemberThatAnswersFastest) {
  // srtt is measured on this node's calls, so on loopback it differs by the
  // time the far side takes: one slow call makes lax-1's 300 ms; lax-2's
  // is a fast call's; lax-3 has none yet (unknown: worst).
  hkg->rpc<void>("lax-1", "Process.sleep", 300);
  EXPECT_EQ(hkg->rpc<std::string>("lax-2", "Kernel.node"), "lax-2");
  auto out = served(Prefer::lowest_rtt, 50);
  EXPECT_EQ(out, (std::map<std::string, int>{{"lax-2", 50}}));
}

TEST_F(LaxRegion, ErrorsKeepTheirMeaning) {
  EXPECT_THROW(hkg->rpc_region<std::string>("ams", "Kernel.node"), fly::NoNodeInRegion);
  try {
    hkg->rpc_region<std::string>("ams", "Kernel.node");
  } catch (const fly::NoNodeInRegion& e) {
    EXPECT_EQ(e.available_regions(), (std::vector<std::string>{"hkg", "lax"}));
  }
  EXPECT_THROW(hkg->rpc_region<std::string>("lax", "No.such"), fly::UnknownFunction);
  // Only lax-1 exports Gate.wait: every preference lands there.
  gate.open();
  for (Prefer p : {Prefer::random, Prefer::least_loaded, Prefer::lowest_rtt}) {
    EXPECT_NO_THROW(hkg->rpc_region<void>("lax", "Gate.wait", fly::CallOptions{.prefer = p}));
  }
  // Own region: the local short-circuit, whatever the preference.
  EXPECT_EQ(lax[1]->rpc_region<std::string>("lax", "Kernel.node",
                                            fly::CallOptions{.prefer = Prefer::lowest_rtt}),
            "lax-2");
}

}  // namespace
