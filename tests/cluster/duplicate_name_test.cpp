// Two processes with one name. Of two live incarnations of a name, the newer
// one (the later start) wins on every node; the older is refused everywhere
// with REFUSE replaced, logs why and — as a `flyrpc node` — exits non-zero.
// The same rule covers a node that was frozen, replaced, then thawed.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <set>
#include <sstream>

#include "support/cluster_harness.hpp"
#include "support/wait.hpp"

namespace {

using namespace std::chrono_literals;
using Table = flytest::RegionTable;

// Lines of `text` that contain every one of `words`.
std::size_t lines_with(const std::string& text, const std::vector<std::string>& words) {
  std::istringstream in(text);
  std::string line;
  std::size_t n = 0;
  while (std::getline(in, line)) {
    if (std::all_of(words.begin(), words.end(),
                    [&](const std::string& w) { return line.find(w) != std::string::npos; })) {
      ++n;
    }
  }
  return n;
}

class DuplicateNames : public ::testing::Test {
 protected:
  void SetUp() override {
    cookie = flytest::random_cookie();
    for (const auto& [name, region] : std::vector<std::pair<std::string, std::string>>{
             {"syd-1", "syd"}, {"lax-1", "lax"}, {"hkg-1", "hkg"}}) {
      flytest::NodeSpec spec{name, region, {}, fast, {}};
      if (!nodes.empty()) spec.seeds = {nodes.front()->address()};
      nodes.push_back(std::make_unique<flytest::NodeProcess>(spec, cookie, "syd"));
      ASSERT_TRUE(nodes.back()->wait_listening(10s));
    }
    ASSERT_EVENTUALLY(tables_are(base), 15000) << dump_tables();
  }

  bool tables_are(const Table& expected) {
    return flytest::tables_are(cookie, nodes, expected, frozen);
  }
  std::string dump_tables() { return flytest::dump_tables(cookie, nodes, frozen); }
  Table with(const std::string& region, const std::string& name) {
    Table t = base;
    t[region].push_back(name);
    for (auto& [r, names] : t) std::sort(names.begin(), names.end());
    return t;
  }

  const std::vector<std::string> fast = {"--heartbeat-ms", "200", "--heartbeat-timeout-ms", "1500"};
  const Table base = {{"hkg", {"hkg-1"}}, {"lax", {"lax-1"}}, {"syd", {"syd-1"}}};
  std::string cookie;
  std::set<std::string> frozen;
  std::vector<std::unique_ptr<flytest::NodeProcess>> nodes;
};

TEST_F(DuplicateNames, TwoStartedAtOnceConvergeOnOneAndTheLoserExitsSayingWhy) {
  // Two different processes named dup-1, entering through different nodes.
  auto a = std::make_unique<flytest::NodeProcess>(
      flytest::NodeSpec{"dup-1", "fra", {nodes[0]->address()}, fast, {}}, cookie, "syd");
  auto b = std::make_unique<flytest::NodeProcess>(
      flytest::NodeSpec{"dup-1", "ams", {nodes[2]->address()}, fast, {}}, cookie, "syd");
  ASSERT_TRUE(a->wait_listening(10s));
  ASSERT_TRUE(b->wait_listening(10s));

  // Exactly one of them exits, non-zero, saying it was replaced.
  ASSERT_EVENTUALLY(!a->process().running() || !b->process().running(), 20000)
      << "a: " << a->err() << "\nb: " << b->err() << "\n"
      << dump_tables();
  const bool a_lost = !a->process().running();
  auto& loser = a_lost ? a : b;
  auto& winner = a_lost ? b : a;
  const auto result = loser->process().wait_for(0ms);
  ASSERT_TRUE(result.has_value());
  EXPECT_NE(result->exit_code, 0);
  EXPECT_NE(result->err.find("replaced by a newer node named \"dup-1\""), std::string::npos)
      << result->err;
  EXPECT_TRUE(winner->process().running()) << winner->err();

  // Every node — the winner included — agrees on the winner's region.
  nodes.push_back(std::move(winner));
  const Table expected = with(nodes.back()->region(), "dup-1");
  EXPECT_EVENTUALLY(tables_are(expected), 15000) << dump_tables();
  // And it stays that way (no flapping back to the loser's region).
  EXPECT_TRUE(tables_are(expected)) << dump_tables();
  EXPECT_TRUE(nodes.back()->process().running());
}

TEST_F(DuplicateNames, AFrozenNodeReplacedByANewIncarnationExitsWhenThawed) {
  nodes.push_back(std::make_unique<flytest::NodeProcess>(
      flytest::NodeSpec{"zed-1", "fra", {nodes[0]->address()}, fast, {}}, cookie, "syd"));
  ASSERT_TRUE(nodes.back()->wait_listening(10s));
  ASSERT_EVENTUALLY(tables_are(with("fra", "zed-1")), 15000) << dump_tables();

  auto old = std::move(nodes.back());
  nodes.pop_back();
  old->process().signal(SIGSTOP);
  // A new process takes the name (and another port) while the old one is frozen.
  nodes.push_back(std::make_unique<flytest::NodeProcess>(
      flytest::NodeSpec{"zed-1", "ams", {nodes[1]->address()}, fast, {}}, cookie, "syd"));
  ASSERT_TRUE(nodes.back()->wait_listening(10s));
  ASSERT_EVENTUALLY(tables_are(with("ams", "zed-1")), 15000) << dump_tables();

  old->process().signal(SIGCONT);
  // The thawed process learns it was replaced, says so and exits non-zero.
  const auto result = old->process().wait_for(15s);
  ASSERT_TRUE(result.has_value()) << "the replaced node is still running; its log:\n"
                                  << old->err() << "\nthe others:\n"
                                  << nodes[0]->err();
  EXPECT_NE(result->exit_code, 0);
  EXPECT_NE(result->err.find("replaced by a newer node named \"zed-1\""), std::string::npos)
      << result->err;

  // The cluster keeps the new one, and the refusals of the old one stayed few:
  // each node refuses it on the few connections it had in flight, not forever.
  EXPECT_EVENTUALLY(tables_are(with("ams", "zed-1")), 10000) << dump_tables();
  for (std::size_t i = 0; i < 3; ++i) {
    const std::size_t refusals = lines_with(nodes[i]->err(), {"refus", "zed-1"});
    EXPECT_LE(refusals, 4u) << nodes[i]->name() << ":\n" << nodes[i]->err();
  }
  EXPECT_TRUE(nodes.back()->process().running()) << nodes.back()->err();
}

}  // namespace
