// Steps 1-4: the cluster working as it should.
#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <thread>

#include "demo_steps.hpp"

namespace flyrpc_cli {

namespace {
using Clock = std::chrono::steady_clock;

// Gossip completes within milliseconds of the join; this bounds a broken one.
constexpr std::chrono::seconds kConvergeTimeout{5};
constexpr int kCallsPerRegion = 12;

std::string join(const std::vector<std::string>& words, const char* sep = " ") {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : sep) + w;
  return out;
}

std::string quoted(const std::string& s) {
  return "\"" + s + "\"";
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

void step_region_tables(DemoContext& ctx) {
  Narrator& out = ctx.out;
  fly::Node& node = *ctx.node;
  out.say("Every node keeps a live table of region -> nodes. Ask each node for its own:");
  out.command(ctx.call_command() + " --node lax-1 Fly.region_table");
  const RegionTable expected = ctx.expected_table();
  std::map<std::string, RegionTable> seen;
  std::map<std::string, std::string> errors;
  const auto start = Clock::now();
  int rounds = 0;
  bool agree = false;
  // The last gossip may still be in flight: ask again until they agree.
  while (true) {
    ++rounds;
    seen.clear();
    errors.clear();
    for (const auto& m : ctx.members) {
      try {
        seen[m.name] = node.rpc<RegionTable>(m.name, "Fly.region_table",
                                             fly::timeout(std::chrono::seconds(1)));
      } catch (const fly::Error& e) {
        errors[m.name] = e.what();
      }
    }
    agree = errors.empty() && std::all_of(seen.begin(), seen.end(),
                                          [&](const auto& kv) { return kv.second == expected; });
    if (agree || Clock::now() - start > kConvergeTimeout) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling for convergence
  }

  std::vector<std::string> regions = ctx.regions;
  for (const auto& [asked, table] : seen) {
    for (const auto& [region, names] : table) {
      if (!contains(regions, region)) regions.push_back(region);
    }
  }
  std::vector<std::string> header = {"ASKED"};
  for (const auto& r : regions) header.push_back(r == ctx.primary ? r + " (primary)" : r);
  Table t(header);
  for (const auto& m : ctx.members) {
    std::vector<std::string> row = {m.name};
    if (auto e = errors.find(m.name); e != errors.end()) {
      row.push_back("error: " + e->second);
    } else {
      for (const auto& r : regions) {
        auto it = seen[m.name].find(r);
        row.push_back(it == seen[m.name].end() ? "-" : join(it->second));
      }
    }
    t.row(row);
  }
  out.table(t);
  std::size_t node_count = 0;
  for (const auto& [r, names] : expected) node_count += names.size();
  if (agree) {
    out.check(true, fmt::format("all {} tables agree: {} nodes in {} regions{}", seen.size(),
                                node_count, expected.size(),
                                rounds > 1 ? fmt::format(" (after {} rounds: gossip was still "
                                                         "completing)",
                                                         rounds)
                                           : ""));
  } else {
    out.check(false, fmt::format("the tables still disagree after {} s ({} of {} nodes answered)",
                                 kConvergeTimeout.count(), seen.size(), ctx.members.size()));
  }
}

void step_rpc_region(DemoContext& ctx) {
  Narrator& out = ctx.out;
  fly::Node& node = *ctx.node;
  out.say("rpc_region runs a function on a random node of a region (one that exports it).");
  out.say(
      fmt::format("{} calls of Kernel.node, which returns the name of the node running it, "
                  "to each region:",
                  kCallsPerRegion));
  out.command(ctx.call_command() + " --region hkg Kernel.node");
  out.command(ctx.call_command() + " --region hkg String.upcase '\"fly\"'");
  const RegionTable expected = ctx.expected_table();
  Table t(
      {"REGION", fmt::format("ANSWERED BY ({} calls)", kCallsPerRegion), "String.upcase(\"fly\")"});
  bool all_in_region = true;
  bool upcase_ok = true;
  bool mine_local = true;
  for (const auto& region : ctx.regions) {
    std::map<std::string, int> answered;
    for (int i = 0; i < kCallsPerRegion; ++i) {
      ++answered[node.rpc_region<std::string>(region, "Kernel.node")];
    }
    const std::string up = node.rpc_region<std::string>(region, "String.upcase", "fly");
    upcase_ok = upcase_ok && up == "FLY";
    std::vector<std::string> who;
    const auto it = expected.find(region);
    for (const auto& [name, count] : answered) {
      who.push_back(fmt::format("{} {}{}", name, out.style().times(), count));
      if (it == expected.end() || !contains(it->second, name)) all_in_region = false;
    }
    if (region == ctx.my_region) {
      mine_local = answered.size() == 1 && answered.begin()->first == ctx.my_name;
      who.back() += " (this process)";
    }
    t.row({region, join(who, "  "), quoted(up)});
  }
  out.table(t);
  out.check(all_in_region, all_in_region ? "every call ran on a node of the region asked for"
                                         : "some calls ran on a node of another region");
  out.check(upcase_ok, upcase_ok ? "String.upcase(\"fly\") returned \"FLY\" in every region"
                                 : "String.upcase(\"fly\") did not return \"FLY\" everywhere");
  out.check(
      mine_local,
      fmt::format("calls to {} (this node's own region) all ran here, on {}; step 4 shows how",
                  ctx.my_region, ctx.my_name));
}

void step_rpc_primary(DemoContext& ctx) {
  Narrator& out = ctx.out;
  fly::Node& node = *ctx.node;
  out.say(
      fmt::format("This node is in {}; the primary region is {}, where the writable database "
                  "would live.",
                  node.region(), node.primary_region()));
  out.command(ctx.call_command() + " --primary Fly.my_region");
  const std::string region = node.rpc_primary<std::string>("Fly.my_region");
  const std::string who = node.rpc_primary<std::string>("Kernel.node");
  const std::int64_t sum = node.rpc_primary<std::int64_t>("Kernel.+", 40, 2);
  Table t({"C++", "RESULT"});
  t.row({"node.is_primary()", node.is_primary() ? "true" : "false"});
  t.row({"node.rpc_primary<std::string>(\"Fly.my_region\")", quoted(region)});
  t.row({"node.rpc_primary<std::string>(\"Kernel.node\")", quoted(who)});
  t.row({"node.rpc_primary<std::int64_t>(\"Kernel.+\", 40, 2)", std::to_string(sum)});
  out.table(t);
  const auto expected = ctx.expected_table();
  const auto primaries = expected.find(ctx.primary);
  const bool on_primary =
      region == ctx.primary && primaries != expected.end() && contains(primaries->second, who);
  out.check(!node.is_primary(), fmt::format("{} is not the primary region", node.region()));
  out.check(on_primary && sum == 42,
            on_primary
                ? fmt::format("rpc_primary ran on {}, a node of {}", who, ctx.primary)
                : fmt::format("rpc_primary ran on {} ({}), not in {}", who, region, ctx.primary));
}

void step_local_call(DemoContext& ctx) {
  Narrator& out = ctx.out;
  fly::Node& node = *ctx.node;
  out.say(fmt::format("rpc_region to this node's own region ({}) runs the function right here,",
                      ctx.my_region));
  out.say("in the calling thread: no encoding, no network. Demo.where (exported by this process)");
  out.say("says where it ran; then the same function in the same region, here vs on lax-1:");
  out.command(ctx.call_command() + " --node lax-1 String.upcase '\"fly\"'");
  const std::string where = node.rpc_region<std::string>(ctx.my_region, "Demo.where");
  const std::string here = thread_tag();

  constexpr int kLocalCalls = 20000;
  constexpr int kRemoteCalls = 500;
  const std::string fly_text = "fly";
  auto time_per_call = [](int n, const std::function<void()>& call) {
    const auto start = Clock::now();
    for (int i = 0; i < n; ++i) call();
    return std::chrono::duration<double, std::micro>(Clock::now() - start).count() / n;
  };
  bool results_ok = true;
  const double local_us = time_per_call(kLocalCalls, [&] {
    results_ok &= node.rpc_region<std::string>(ctx.my_region, "String.upcase", fly_text) == "FLY";
  });
  const double remote_us = time_per_call(kRemoteCalls, [&] {
    results_ok &= node.rpc<std::string>("lax-1", "String.upcase", fly_text) == "FLY";
  });
  Table t({"C++", "RAN IN", "PER CALL"});
  t.row({"rpc_region<std::string>(\"lax\", \"Demo.where\")", where, "-"});
  t.row({"(the calling thread)", here, "-"});
  t.row({fmt::format("rpc_region(\"lax\", \"String.upcase\", \"fly\") {}{}", out.style().times(),
                     kLocalCalls),
         "this thread", fmt::format("{:.2f} {}", local_us, out.style().micros())});
  t.row({fmt::format("rpc(\"lax-1\", \"String.upcase\", \"fly\") {}{}", out.style().times(),
                     kRemoteCalls),
         "lax-1, over TCP", fmt::format("{:.1f} {}", remote_us, out.style().micros())});
  out.table(t);
  out.check(where == here, where == here
                               ? "Demo.where ran in this process, on the calling thread"
                               : fmt::format("Demo.where ran in {}, not here ({})", where, here));
  out.check(results_ok && local_us * 10 < remote_us,
            fmt::format("the local call took {:.2f} {}, {:.0f} times less than a call to lax-1",
                        local_us, out.style().micros(), remote_us / std::max(local_us, 1e-3)));
}

}  // namespace flyrpc_cli
