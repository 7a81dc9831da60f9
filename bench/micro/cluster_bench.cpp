// The cluster layer on the call path: the region table lookup every
// rpc_region does (issue 8: under 50 ns, flat as reader threads are added),
// and the local short-circuit of rpc_region to this node's own region
// compared with calling the function directly (under 100 ns more).
#include <benchmark/benchmark.h>

#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "cluster/cluster_view.hpp"
#include "cluster/snapshot.hpp"
#include "fly/node.hpp"

namespace {

using fly::cluster::ClusterView;
using fly::cluster::Member;
using fly::cluster::SnapshotCell;

constexpr std::array<std::string_view, 5> kRegions = {"ams", "hkg", "lax", "syd", "yyz"};

// A view of 5 regions x 4 members, every member exporting the same 8
// functions, built the way Cluster builds it (visible sorted by name,
// by_region pointing into visible).
std::shared_ptr<const ClusterView> twenty_member_view() {
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
      view->connected.emplace(m->name, m);
      view->visible.push_back(std::move(m));
    }
  }
  for (const auto& m : view->visible) view->by_region[m->region].push_back(m.get());
  return view;
}

SnapshotCell<ClusterView>& cell() {
  static SnapshotCell<ClusterView> c(twenty_member_view());
  return c;
}

// What Node::route_region does before it touches the chosen peer: read the
// snapshot, find the region, collect the members exporting the function and
// pick one (here round-robin by a thread-local counter instead of a random
// number, so that the random generator is not what is measured).
void BM_RegionLookup(benchmark::State& state) {
  SnapshotCell<ClusterView>& c = cell();
  std::size_t i = static_cast<std::size_t>(state.thread_index());
  for (auto _ : state) {
    const ClusterView& view = c.read();
    auto it = view.by_region.find(kRegions[i % kRegions.size()]);
    const Member* candidates[64];
    std::size_t n = 0;
    for (const Member* m : it->second) {
      if (!m->is_self && m->exports("String.upcase")) candidates[n++] = m;
    }
    const Member* chosen = candidates[i % n];
    benchmark::DoNotOptimize(chosen);
    ++i;
  }
}
BENCHMARK(BM_RegionLookup)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();

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
