// The cluster layer on the call path: the region table lookup every
// rpc_region does (issue 8: under 50 ns, flat as reader threads are added),
// and the local short-circuit of rpc_region to this node's own region
// compared with calling the function directly (under 100 ns more).
#include <benchmark/benchmark.h>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "cluster/cluster_view.hpp"
#include "cluster/route_choice.hpp"
#include "cluster/snapshot.hpp"
#include "fly/node.hpp"
#include "net/peer.hpp"
#include "support/no_events.hpp"

namespace {

using fly::cluster::ClusterView;
using fly::cluster::Member;
using fly::cluster::SnapshotCell;

constexpr std::array<std::string_view, 5> kRegions = {"ams", "hkg", "lax", "syd", "yyz"};

// Connections that are never started: what the route path touches of a
// Peer (the weak_ptr's control block, the call table, the RTT) is real; no
// socket is open and no event ever arrives (support/no_events.hpp).
std::shared_ptr<fly::net::Peer> idle_peer(const std::string& name, const std::string& region) {
  static asio::io_context io;
  static flytest::NoEvents events;
  fly::net::PeerSettings settings;
  settings.cookie = "micro-bench-cookie";
  settings.hello.name = name;
  settings.hello.region = region;
  return std::make_shared<fly::net::Peer>(asio::ip::tcp::socket(io), std::move(settings), events,
                                          events, "");
}

// A view of 5 regions x 4 members, every member exporting the same 8
// functions and connected (an idle Peer each), built the way Cluster::publish
// builds it (visible sorted by name, by_region and the route index pointing
// into visible). Member i of a region has a smoothed RTT of i ms.
std::shared_ptr<const ClusterView> twenty_member_view() {
  static std::vector<std::shared_ptr<fly::net::Peer>> peers;  // the "cluster" owns them
  auto functions = std::make_shared<fly::cluster::FunctionSet>();
  for (const char* f : {"String.upcase", "Echo.bytes", "Kernel.+", "Kernel.node", "Stats.count",
                        "Cache.get", "Cache.put", "Db.query"}) {
    functions->insert(f);
  }
  auto view = std::make_shared<ClusterView>();
  for (std::string_view region : kRegions) {
    for (int i = 1; i <= 4; ++i) {
      auto m = std::make_shared<Member>();
      m->region = std::string(region);
      m->name = m->region + "-" + std::to_string(i);
      m->address = "127.0.0.1:" + std::to_string(4370 + i);
      m->functions = functions;
      peers.push_back(idle_peer(m->name, m->region));
      peers.back()->record_rtt(std::chrono::milliseconds(i));
      m->peer = peers.back();
      view->connected.emplace(m->name, m);
      view->visible.push_back(std::move(m));
    }
  }
  for (const auto& m : view->visible) view->by_region[m->region].push_back(m.get());
  view->routes = fly::cluster::RouteIndex(view->visible);
  return view;
}

SnapshotCell<ClusterView>& cell() {
  static SnapshotCell<ClusterView> c(twenty_member_view());
  return c;
}

// The generator of Node::route_region (node.cpp's next_random): xorshift64*.
std::uint64_t next_random() {
  thread_local std::uint64_t state = 0x9E3779B97F4A7C15ULL;
  state ^= state >> 12;
  state ^= state << 25;
  state ^= state >> 27;
  return state * 0x2545F4914F6CDD1DULL;
}

// What Node::route_region pays for a call to another region, up to the
// chosen connection pinned: the snapshot read, the (region, function)
// index, the random draw, the choice, the weak_ptr lock — and the pin's
// release, which the call pays when its Route dies. `same_region`: every
// thread calls one region (they share 4 connections' control blocks; the
// common case of many threads calling the primary); else each thread
// rotates over the 5 regions, starting at a different one.
void region_lookup(benchmark::State& state, fly::Prefer prefer, bool same_region) {
  SnapshotCell<ClusterView>& c = cell();
  std::size_t i = same_region ? 3 : static_cast<std::size_t>(state.thread_index());
  const std::size_t step = same_region ? 0 : 1;
  for (auto _ : state) {
    const ClusterView& view = c.read();
    const auto* candidates = view.routes.find(kRegions[i % kRegions.size()], "String.upcase");
    fly::cluster::Choice choice = fly::cluster::choose(*candidates, prefer, next_random());
    benchmark::DoNotOptimize(choice.peer.get());
    i += step;
  }
}

void BM_RegionLookup(benchmark::State& state) {
  region_lookup(state, fly::Prefer::random, false);
}
BENCHMARK(BM_RegionLookup)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();

void BM_RegionLookupSameRegion(benchmark::State& state) {
  region_lookup(state, fly::Prefer::random, true);
}
BENCHMARK(BM_RegionLookupSameRegion)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();

void BM_RegionLookupLeastLoaded(benchmark::State& state) {
  region_lookup(state, fly::Prefer::least_loaded, false);
}
BENCHMARK(BM_RegionLookupLeastLoaded)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();

void BM_RegionLookupLowestRtt(benchmark::State& state) {
  region_lookup(state, fly::Prefer::lowest_rtt, false);
}
BENCHMARK(BM_RegionLookupLowestRtt)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();

// The same lookup without the pin (no weak_ptr lock, nothing shared is
// written): the difference to BM_RegionLookup is what the pin costs.
void BM_RegionLookupNoPin(benchmark::State& state) {
  SnapshotCell<ClusterView>& c = cell();
  std::size_t i = static_cast<std::size_t>(state.thread_index());
  for (auto _ : state) {
    const ClusterView& view = c.read();
    const auto* candidates = view.routes.find(kRegions[i % kRegions.size()], "String.upcase");
    const auto pick = static_cast<std::size_t>(
        (static_cast<unsigned __int128>(next_random()) * candidates->size()) >> 64);
    benchmark::DoNotOptimize((*candidates)[pick]);
    ++i;
  }
}
BENCHMARK(BM_RegionLookupNoPin)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();

// The function both benchmarks below call. noinline: the direct call must
// be a real call, as the registry's is.
[[gnu::noinline]] int add(int a, int b) {
  return a + b;
}

void BM_DirectCall(benchmark::State& state) {
  int a = 1, b = 2;
  for (auto _ : state) {
    benchmark::DoNotOptimize(a);
    int r = add(a, b);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_DirectCall);

// A started node (port 0, loopback, alone) calling its own region: route
// (own region + registry lookup), then the typed direct call, no encoding.
fly::Node& local_node() {
  static fly::Node node = [] {
    fly::NodeOptions o;
    o.name = "bench-1";
    o.region = "syd";
    o.primary_region = "syd";
    o.listen_host = "127.0.0.1";
    o.port = 0;
    o.cookie = "micro-bench-cookie";
    return fly::Node(std::move(o));
  }();
  static const bool started = [] {
    node.expose("Kernel.+", [](int a, int b) { return add(a, b); });
    node.start();
    return true;
  }();
  (void)started;
  return node;
}

void BM_LocalShortCircuit(benchmark::State& state) {
  fly::Node& node = local_node();
  int a = 1, b = 2;
  for (auto _ : state) {
    benchmark::DoNotOptimize(a);
    int r = node.rpc_region<int>("syd", "Kernel.+", a, b);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_LocalShortCircuit);

}  // namespace
