// flybench_report: turns the JSON lines of a bench/run.sh run (every round,
// both allocator settings) into the markdown tables of bench/results/latest.md.
//
//   flybench_report RESULTS.jsonl > tables.md
//
// Each measurement is reduced to its median across rounds, with min-max, and
// to its ratio to the reference system of the same allocator setting: flyrpc
// when it was measured (flyrpc-tls for the TLS systems), else the floor. gRPC
// runs two servers (sync and callback); per round and point the better one
// counts as "grpc" ("grpc-tls"). CPU per call (client and server process,
// from the clients' CPU fields) comes first: it is the figure a busy machine
// does not move, unlike one-call-at-a-time latency.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

using nlohmann::json;

// One measured point, identified without its round.
struct Key {
  std::string alloc, system, payload, mode;
  int inflight = 0;
  auto operator<=>(const Key&) const = default;
};

struct Record {
  double p50 = 0, p90 = 0, p99 = 0, rate = 0;
  // CPU µs per call; negative when the line carries none (older clients, or
  // no --server-pid).
  double cpu_client = -1, cpu_server = -1;
  double others = -1, steal = -1;  // machine shares during the point
};

// A JSON number, or -1 when the field is absent or null.
double number_or_absent(const nlohmann::json& j, const char* field) {
  auto it = j.find(field);
  return it == j.end() || it->is_null() ? -1.0 : it->get<double>();
}

const std::vector<std::string> kPayloads = {"upcase3", "echo1k", "echo64k"};
const std::map<std::string, std::string> kPayloadTitle = {
    {"upcase3", "upcase, 3 bytes (\"fly\" -> \"FLY\")"},
    {"echo1k", "echo, 1 KiB"},
    {"echo64k", "echo, 64 KiB"}};
const std::vector<std::string> kPreferredOrder = {"floor",      "flyrpc",   "grpc",    "erpc",
                                                  "flyrpc-tls", "grpc-tls", "erpc-tls"};
const std::vector<std::pair<std::string, int>> kPoints = {
    {"sequential", 1}, {"blocking", 1}, {"blocking", 8}, {"blocking", 64}, {"blocking", 256},
    {"async", 1},      {"async", 8},    {"async", 64},   {"async", 256}};

bool is_tls(const std::string& system) {
  return system.size() > 4 && system.compare(system.size() - 4, 4, "-tls") == 0;
}
std::string point_label(const std::string& mode, int n) {
  return mode == "sequential" ? "sequential" : mode + " ×" + std::to_string(n);
}

struct Stat {
  double median = 0, min = 0, max = 0;
  std::size_t n = 0;
};

Stat stat(std::vector<double> v) {
  Stat s;
  s.n = v.size();
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  s.min = v.front();
  s.max = v.back();
  s.median = v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
  return s;
}

std::string fmt_us(double us) {
  char b[32];
  std::snprintf(b, sizeof b, us < 100 ? "%.1f" : "%.0f", us);
  return b;
}
std::string fmt_rate(double r) {
  char b[32];
  if (r >= 1000) {
    std::snprintf(b, sizeof b, "%.1fk", r / 1000);
  } else {
    std::snprintf(b, sizeof b, "%.0f", r);
  }
  return b;
}
std::string fmt_mib(double kib) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f", kib / 1024);
  return b;
}
std::string fmt_ratio(double r) {
  char b[32];
  std::snprintf(b, sizeof b, "%.2f×", r);
  return b;
}

struct Data {
  // values[key][metric] across rounds
  std::map<Key, std::map<std::string, std::vector<double>>> values;
  std::map<std::string, std::vector<double>> rss_rest, rss_peak;  // by "system|alloc"
  std::vector<std::string> systems, allocs;
  std::map<std::string, int> grpc_wins;  // which gRPC server won how many points
  // The run as a whole (run.sh's "machine" line): CPUs, load average before/after.
  std::optional<json> machine;
  std::vector<double> others, steal;  // per measured point, shares of the machine
};

void note_system(std::vector<std::string>& v, const std::string& s) {
  if (std::find(v.begin(), v.end(), s) == v.end()) v.push_back(s);
}

Data load(std::istream& in) {
  Data d;
  // Per round: gRPC's two servers, reduced to the better one per point.
  std::map<std::pair<int, Key>, std::pair<std::string, Record>> grpc_best;
  std::map<std::pair<int, Key>, Record> plain;
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.empty()) continue;
    json j;
    try {
      j = json::parse(line);
      if (j.value("kind", "") == "machine") {
        d.machine = j;
        continue;
      }
      std::string alloc = j.at("alloc");
      note_system(d.allocs, alloc);
      std::string system = j.at("system");
      int round = j.at("round");
      if (j.value("kind", "") == "rss") {
        std::string k = system + "|" + alloc;
        d.rss_rest[k].push_back(j.at("rest_kib").get<double>());
        d.rss_peak[k].push_back(j.at("peak_kib").get<double>());
        continue;
      }
      Key key{alloc, system, j.at("payload"), j.at("mode"), j.at("inflight")};
      Record r{j.at("p50_us"), j.at("p90_us"), j.at("p99_us"), j.at("calls_per_s")};
      r.cpu_client = number_or_absent(j, "client_cpu_us");
      r.cpu_server = number_or_absent(j, "server_cpu_us");
      r.others = number_or_absent(j, "others_cpu_share");
      r.steal = number_or_absent(j, "steal_share");
      if (r.others >= 0) d.others.push_back(r.others);
      if (r.steal >= 0) d.steal.push_back(r.steal);
      if (system.rfind("grpc-", 0) == 0) {
        // grpc-sync, grpc-callback -> grpc; grpc-tls-sync, ... -> grpc-tls.
        key.system = system.substr(0, system.rfind('-'));
        auto [it, fresh] = grpc_best.try_emplace({round, key}, system, r);
        bool better = key.mode == "sequential" ? r.p50 < it->second.second.p50
                                               : r.rate > it->second.second.rate;
        if (!fresh && better) it->second = {system, r};
      } else {
        plain[{round, key}] = r;
      }
    } catch (const std::exception& e) {
      std::cerr << "flybench_report: line " << lineno << ": " << e.what() << "\n";
      std::exit(1);
    }
  }
  for (auto& [rk, winner] : grpc_best) {
    plain[rk] = winner.second;
    d.grpc_wins[winner.first]++;
  }
  for (auto& [rk, r] : plain) {
    auto& m = d.values[rk.second];
    m["p50"].push_back(r.p50);
    m["p90"].push_back(r.p90);
    m["p99"].push_back(r.p99);
    m["rate"].push_back(r.rate);
    if (r.cpu_client >= 0 && r.cpu_server >= 0) {
      m["cpu_client"].push_back(r.cpu_client);
      m["cpu_server"].push_back(r.cpu_server);
      m["cpu"].push_back(r.cpu_client + r.cpu_server);
    }
    note_system(d.systems, rk.second.system);
  }
  // Known systems first, in the usual order; anything else after.
  std::vector<std::string> ordered;
  for (auto& s : kPreferredOrder) {
    if (std::count(d.systems.begin(), d.systems.end(), s)) ordered.push_back(s);
  }
  for (auto& s : d.systems) {
    if (!std::count(ordered.begin(), ordered.end(), s)) ordered.push_back(s);
  }
  d.systems = ordered;
  return d;
}

std::optional<Stat> get(const Data& d, const Key& k, const std::string& metric) {
  auto it = d.values.find(k);
  if (it == d.values.end()) return std::nullopt;
  auto m = it->second.find(metric);
  if (m == it->second.end()) return std::nullopt;
  return stat(m->second);
}

std::string reference(const Data& d) {
  return std::count(d.systems.begin(), d.systems.end(), "flyrpc") ? "flyrpc" : "floor";
}

// The system a column's ratios are to: flyrpc-tls for the TLS systems when it
// was measured, else reference(d).
std::string reference_of(const Data& d, const std::string& system) {
  if (is_tls(system) && std::count(d.systems.begin(), d.systems.end(), "flyrpc-tls")) {
    return "flyrpc-tls";
  }
  return reference(d);
}

// The systems measured with `alloc` (TLS systems run with the defaults only).
std::vector<std::string> systems_of(const Data& d, const std::string& alloc) {
  std::vector<std::string> out;
  for (auto& s : d.systems) {
    for (auto& [k, v] : d.values) {
      if (k.alloc == alloc && k.system == s) {
        out.push_back(s);
        break;
      }
    }
  }
  return out;
}

// "median (min–max) · ratio" for one system; "—" when not measured.
std::string cell(const Data& d, Key k, const std::string& metric, bool latency) {
  auto s = get(d, k, metric);
  if (!s) return "—";
  auto show = latency ? fmt_us : fmt_rate;
  std::string out = "**" + show(s->median) + "**";
  if (s->n > 1) out += " (" + show(s->min) + "–" + show(s->max) + ")";
  std::string ref = reference_of(d, k.system);
  if (k.system != ref) {
    k.system = ref;
    auto r = get(d, k, metric);
    if (r && r->median > 0) out += " " + fmt_ratio(s->median / r->median);
  }
  return out;
}

std::string alloc_title(const std::string& alloc) {
  if (alloc == "default") return "glibc malloc defaults";
  if (alloc == "tuned") return "GLIBC_TUNABLES trim/mmap thresholds raised";
  return alloc;
}

// The best calls/s with 256 (or the most) calls in flight, blocking or async.
std::optional<double> peak_rate(const Data& d, const std::string& alloc, const std::string& sys,
                                const std::string& payload, int inflight) {
  std::optional<double> best;
  for (const char* mode : {"blocking", "async"}) {
    auto s = get(d, {alloc, sys, payload, mode, inflight}, "rate");
    if (s && (!best || s->median > *best)) best = s->median;
  }
  return best;
}

// The lower total CPU per call of the two modes at `inflight`: each system at
// its most efficient way of keeping that many calls in flight.
std::optional<double> least_cpu(const Data& d, const std::string& alloc, const std::string& sys,
                                const std::string& payload, int inflight) {
  std::optional<double> best;
  for (const char* mode : {"blocking", "async"}) {
    auto s = get(d, {alloc, sys, payload, mode, inflight}, "cpu");
    if (s && (!best || s->median < *best)) best = s->median;
  }
  return best;
}

std::string fmt_cpu(double us) {
  char b[32];
  std::snprintf(b, sizeof b, us < 10 ? "%.2f" : us < 100 ? "%.1f" : "%.0f", us);
  return b;
}
std::string fmt_pct(double share) {
  char b[32];
  std::snprintf(b, sizeof b, "%.0f%%", share * 100);
  return b;
}

// "**total** = client + server (min–max of total) ratio" in µs of CPU per call.
std::string cpu_cell(const Data& d, Key k) {
  auto t = get(d, k, "cpu");
  if (!t) return "—";
  auto c = get(d, k, "cpu_client"), s = get(d, k, "cpu_server");
  std::string out =
      "**" + fmt_cpu(t->median) + "** = " + fmt_cpu(c->median) + " + " + fmt_cpu(s->median);
  if (t->n > 1) out += " (" + fmt_cpu(t->min) + "–" + fmt_cpu(t->max) + ")";
  std::string ref = reference_of(d, k.system);
  if (k.system != ref) {
    k.system = ref;
    auto r = get(d, k, "cpu");
    if (r && r->median > 0) out += " " + fmt_ratio(t->median / r->median);
  }
  return out;
}

void header_row_of(const std::vector<std::string>& systems, const std::string& first) {
  std::cout << "| " << first << " |";
  for (auto& s : systems) std::cout << " " << s << " |";
  std::cout << "\n|---|";
  for (std::size_t i = 0; i < systems.size(); ++i) std::cout << "---:|";
  std::cout << "\n";
}

// How busy the machine was: load average around the run, and per measured
// point the share of the machine's CPU time that neither the client nor the
// server used (other processes) or that the hypervisor took (steal).
void machine(const Data& d) {
  std::cout << "## The machine during this run\n\n| | |\n|---|---|\n";
  bool busy = false;
  if (d.machine) {
    auto load = [](const json& a) {
      char b[64];
      std::snprintf(b, sizeof b, "%.2f %.2f %.2f", a.at(0).get<double>(), a.at(1).get<double>(),
                    a.at(2).get<double>());
      return std::string(b);
    };
    const json& m = *d.machine;
    std::cout << "| load average (1, 5, 15 min), before / after the run | "
              << load(m.at("load_before")) << " / " << load(m.at("load_after")) << " ("
              << m.at("cpus").get<int>() << " CPUs) |\n";
    busy = m.at("load_before").at(0).get<double>() > 1.5 ||
           m.at("load_after").at(0).get<double>() > 1.5;
  }
  if (!d.others.empty()) {
    auto o = stat(d.others), st = stat(d.steal);
    std::cout << "| CPU time used by other processes during the measured points | median "
              << fmt_pct(o.median) << ", max " << fmt_pct(o.max)
              << " of the machine (all CPUs; /proc/stat busy time minus the client's and the "
                 "server's) |\n";
    std::cout << "| CPU time stolen by the hypervisor during the points | median "
              << fmt_pct(st.median) << ", max " << fmt_pct(st.max) << " |\n";
    busy = busy || o.median > 0.10;
  }
  std::cout << "\n";
  if (busy) {
    std::cout << "**The machine was busy during this run** (other processes on its CPUs): "
                 "wall-clock figures — sequential latency above all, then calls/s and p99 — "
                 "measure the scheduler as much as the code and are noise-sensitive here. CPU "
                 "time per call counts only the client's and the server's own CPU and is the "
                 "figure to compare, but it is not immune either: other processes evict the "
                 "caches, add scheduler work, and on kernels without IRQ time accounting their "
                 "interrupt and softirq work (loopback traffic) is charged to whatever runs, "
                 "ours included — most visible for one call at a time, least at 256 in flight. "
                 "Compare systems within this run; rerun on a quiet machine before quoting a "
                 "figure.\n\n";
  } else {
    std::cout << "The machine was otherwise quiet. Sequential latency still depends on how "
                 "fast an idle virtual CPU wakes (tens of µs on some VMs): compare it only "
                 "within one run; CPU time per call compares across runs.\n\n";
  }
}

// CPU per call first: the steadier figures.
void cpu_tables(const Data& d) {
  if (d.allocs.empty()) return;
  const std::string alloc = d.allocs.front();
  auto systems = systems_of(d, alloc);
  std::cout << "## CPU time per call\n\nThe steadier figures: the time a process waits for a "
               "CPU is not in them (on a VM, waking an idle CPU still costs the waker, so one "
               "call at a time compares only within a run). µs of CPU per call: **client + server "
               "process** = client + server, "
               "median (min–max of the total) across rounds, "
            << alloc_title(alloc)
            << ". Measured from when a point's window opens (after its warm-up) to its last "
               "counted call: getrusage(RUSAGE_SELF) in the C++ clients, the server's "
               "per-process CPU clock (clock_getcpuclockid), the same clocks read by "
               "flybench_cpu_probe for the BEAM. Ratios are to flyrpc (TLS systems: to "
               "flyrpc-tls). Lower is "
               "better.\n\n";
  for (auto& payload : kPayloads) {
    std::cout << "### " << kPayloadTitle.at(payload) << "\n\n";
    header_row_of(systems, "CPU µs per call");
    for (auto& [mode, n] : kPoints) {
      std::cout << "| " << point_label(mode, n) << " |";
      for (auto& s : systems) std::cout << " " << cpu_cell(d, {alloc, s, payload, mode, n}) << " |";
      std::cout << "\n";
    }
    std::cout << "\n";
  }
}

void summary(const Data& d) {
  std::string ref = reference(d);
  std::cout << "## Summary\n\nMedians across rounds; the ratio is to **" << ref
            << "** (TLS systems: to flyrpc-tls) in the same run and allocator setting (CPU and "
               "latency: lower is better; calls/s: higher is better). The CPU columns are the "
               "steadier figures; sequential p50 is the most noise-sensitive one (see above).\n\n";
  for (auto& alloc : d.allocs) {
    std::cout << "### " << alloc_title(alloc) << "\n\n";
    std::cout << "| system | upcase CPU µs/call, 256 in flight (least of the two modes) | upcase "
                 "CPU µs/call, sequential | upcase calls/s, 256 in flight (best mode) | upcase "
                 "p50 µs | 64 KiB echo p50 µs | server RSS at rest / peak, MiB |\n"
                 "|---|---:|---:|---:|---:|---:|---:|\n";
    for (auto& sys : systems_of(d, alloc)) {
      std::string r = reference_of(d, sys);
      auto ratio_cell = [&](std::optional<double> v, std::optional<double> ref_v,
                            std::string (*show)(double)) {
        if (!v) return std::string("—");
        std::string out = "**" + show(*v) + "**";
        if (sys != r && ref_v && *ref_v > 0) out += " " + fmt_ratio(*v / *ref_v);
        return out;
      };
      std::cout << "| " << sys << " | "
                << ratio_cell(least_cpu(d, alloc, sys, "upcase3", 256),
                              least_cpu(d, alloc, r, "upcase3", 256), fmt_cpu)
                << " | " << cpu_cell(d, {alloc, sys, "upcase3", "sequential", 1}) << " | "
                << ratio_cell(peak_rate(d, alloc, sys, "upcase3", 256),
                              peak_rate(d, alloc, r, "upcase3", 256), fmt_rate)
                << " | " << cell(d, {alloc, sys, "upcase3", "sequential", 1}, "p50", true) << " | "
                << cell(d, {alloc, sys, "echo64k", "sequential", 1}, "p50", true) << " | ";
      // Every server process of the system (gRPC has two).
      std::vector<std::string> parts;
      for (auto& [k, v] : d.rss_rest) {
        auto bar = k.find('|');
        std::string s = k.substr(0, bar), a = k.substr(bar + 1);
        std::string rest = s.rfind(sys + "-", 0) == 0 ? s.substr(sys.size() + 1) : "";
        bool mine =
            s == sys || (!rest.empty() && rest.find('-') == std::string::npos && rest != "tls");
        if (a != alloc || !mine) continue;
        std::string label = s == sys ? "" : rest + " ";
        parts.push_back(label + fmt_mib(stat(v).median) + " / " +
                        fmt_mib(stat(d.rss_peak.at(k)).median));
      }
      for (std::size_t i = 0; i < parts.size(); ++i) std::cout << (i ? "; " : "") << parts[i];
      if (parts.empty()) std::cout << "—";
      std::cout << " |\n";
    }
    std::cout << "\n";
  }
}

void goal_row(const std::string& alloc, const std::string& what, std::optional<double> v, bool met,
              const std::string& unit) {
  std::cout << "| " << alloc << " | " << what << " | ";
  if (v) {
    char b[32];
    std::snprintf(b, sizeof b, "%.2f", *v);
    std::cout << b << unit << " | " << (met ? "yes" : "**no**") << " |\n";
  } else {
    std::cout << "— | — |\n";
  }
}

std::optional<double> ratio_of(std::optional<double> x, std::optional<double> y) {
  if (!x || !y || *y <= 0) return std::nullopt;
  return *x / *y;
}

bool measured(const Data& d, const std::string& sys) {
  return std::count(d.systems.begin(), d.systems.end(), sys) > 0;
}

// The CPU and TLS goals, checked against this run.
void cpu_tls_goals(const Data& d) {
  if (!measured(d, "flyrpc")) return;
  std::cout << "## flyrpc goals: CPU per call and TLS\n\nCPU per call is the upcase total "
               "(client + server) at 256 in flight, the lower of the two modes for each "
               "system.\n\n| allocator | goal | measured | met |\n|---|---|---:|:---:|\n";
  for (auto& a : d.allocs) {
    auto cpu = [&](const std::string& s) { return least_cpu(d, a, s, "upcase3", 256); };
    auto f = cpu("flyrpc");
    auto r1 = ratio_of(f, cpu("floor"));
    goal_row(a, "CPU/call ≤ 1.3× floor", r1, r1 && *r1 <= 1.3, "×");
    auto r2 = ratio_of(f, cpu("erpc"));
    goal_row(a, "CPU/call ≤ ¼ of :erpc", r2, r2 && *r2 <= 0.25, "×");
    auto r3 = ratio_of(f, cpu("grpc"));
    goal_row(a, "CPU/call ≤ ⅛ of gRPC", r3, r3 && *r3 <= 0.125, "×");
    if (!measured(d, "flyrpc-tls")) continue;
    auto p50 = [&](const std::string& s) -> std::optional<double> {
      auto st = get(d, {a, s, "upcase3", "sequential", 1}, "p50");
      return st ? std::optional<double>(st->median) : std::nullopt;
    };
    auto t1 = ratio_of(p50("flyrpc-tls"), p50("flyrpc"));
    if (t1) goal_row(a, "flyrpc-tls sequential p50 ≤ 1.3× flyrpc", t1, *t1 <= 1.3, "×");
    // The same comparison in CPU per call, which a busy machine moves less.
    auto seq_cpu = [&](const std::string& s) -> std::optional<double> {
      auto st = get(d, {a, s, "upcase3", "sequential", 1}, "cpu");
      return st ? std::optional<double>(st->median) : std::nullopt;
    };
    auto t1c = ratio_of(seq_cpu("flyrpc-tls"), seq_cpu("flyrpc"));
    if (t1c) {
      goal_row(a, "(same, in CPU/call: flyrpc-tls sequential ≤ 1.3× flyrpc)", t1c, *t1c <= 1.3,
               "×");
    }
    auto t2 = ratio_of(cpu("flyrpc-tls"), f);
    if (t2) goal_row(a, "flyrpc-tls CPU/call ≤ 1.5× flyrpc", t2, *t2 <= 1.5, "×");
  }
  std::cout << "\n";
  if (!measured(d, "flyrpc-tls")) return;
  // "Ahead on every row": every cell of the detail tables, flyrpc-tls against
  // each other TLS system measured.
  for (const char* other : {"grpc-tls", "erpc-tls"}) {
    if (!measured(d, other)) continue;
    int rows = 0;
    std::vector<std::string> behind;
    for (auto& a : d.allocs) {
      for (auto& payload : kPayloads) {
        for (auto& [mode, n] : kPoints) {
          struct M {
            const char* metric;
            bool higher_better;
            const char* label;
          };
          std::vector<M> ms = {{"cpu", false, "CPU/call"}, {"p99", false, "p99"}};
          if (mode == "sequential") {
            ms.push_back({"p50", false, "p50"});
            ms.push_back({"p90", false, "p90"});
          } else {
            ms.push_back({"rate", true, "calls/s"});
          }
          for (auto& m : ms) {
            auto x = get(d, {a, "flyrpc-tls", payload, mode, n}, m.metric);
            auto y = get(d, {a, other, payload, mode, n}, m.metric);
            if (!x || !y) continue;
            ++rows;
            bool ahead = m.higher_better ? x->median >= y->median : x->median <= y->median;
            if (!ahead) behind.push_back(payload + " " + point_label(mode, n) + " " + m.label);
          }
        }
      }
    }
    std::cout << "flyrpc-tls ahead of " << other << ": **" << rows - behind.size() << " of " << rows
              << "** rows";
    if (behind.empty()) {
      std::cout << " (every row: met).\n\n";
    } else {
      std::cout << " (**not met**; behind on:";
      for (std::size_t i = 0; i < behind.size(); ++i)
        std::cout << (i ? "," : "") << " " << behind[i];
      std::cout << ").\n\n";
    }
  }
}

// Issue 8's goals for flyrpc, checked against this run when flyrpc was measured.
void targets(const Data& d) {
  std::cout << "## flyrpc targets (issue 8)\n\n";
  if (reference(d) != "flyrpc") {
    std::cout << "Pending: flyrpc was not measured in this run.\n\n";
    return;
  }
  std::cout << "| allocator | target | measured | met |\n|---|---|---:|:---:|\n";
  for (auto& a : d.allocs) {
    auto p50 = [&](const std::string& s, const std::string& payload) {
      auto st = get(d, {a, s, payload, "sequential", 1}, "p50");
      return st ? std::optional<double>(st->median) : std::nullopt;
    };
    auto r1 = ratio_of(p50("flyrpc", "upcase3"), p50("floor", "upcase3"));
    goal_row(a, "sequential upcase p50 ≤ 1.2× floor (noise-sensitive)", r1, r1 && *r1 <= 1.2, "×");
    auto f = peak_rate(d, a, "flyrpc", "upcase3", 256);
    auto r2 = ratio_of(f, peak_rate(d, a, "erpc", "upcase3", 256));
    goal_row(a, "256 in flight ≥ 4× :erpc calls/s", r2, r2 && *r2 >= 4, "×");
    auto r3 = ratio_of(f, peak_rate(d, a, "grpc", "upcase3", 256));
    goal_row(a, "256 in flight ≥ 8× gRPC calls/s", r3, r3 && *r3 >= 8, "×");
    auto r4 = ratio_of(p50("flyrpc", "echo64k"), p50("erpc", "echo64k"));
    goal_row(a, "64 KiB echo p50 ≤ :erpc", r4, r4 && *r4 <= 1.0, "×");
    auto rest = d.rss_rest.find("flyrpc|" + a);
    std::optional<double> mib;
    if (rest != d.rss_rest.end()) mib = stat(rest->second).median / 1024;
    goal_row(a, "server RSS at rest < 8 MiB", mib, mib && *mib < 8, " MiB");
  }
  std::cout << "\n";
}

void details(const Data& d) {
  std::cout << "## Details\n\nCells: **median** (min–max across rounds) and the ratio to "
            << reference(d)
            << " (TLS systems: to flyrpc-tls). Sequential: one caller, one call at a time. "
               "Blocking ×N: N threads (N Erlang processes) each calling in a loop. Async ×N: N "
               "calls kept outstanding by one caller. CPU: µs per call, client + server.\n\n";
  for (auto& alloc : d.allocs) {
    auto systems = systems_of(d, alloc);
    for (auto& payload : kPayloads) {
      std::cout << "### " << kPayloadTitle.at(payload) << " — " << alloc_title(alloc) << "\n\n";
      header_row_of(systems, "measurement");
      auto line = [&](const std::string& label, const std::string& mode, int n,
                      const std::string& metric, bool latency) {
        std::cout << "| " << label << " |";
        for (auto& s : systems) {
          std::cout << " "
                    << (metric == "cpu" ? cpu_cell(d, {alloc, s, payload, mode, n})
                                        : cell(d, {alloc, s, payload, mode, n}, metric, latency))
                    << " |";
        }
        std::cout << "\n";
      };
      line("sequential CPU µs/call", "sequential", 1, "cpu", false);
      line("sequential p50 µs", "sequential", 1, "p50", true);
      line("sequential p90 µs", "sequential", 1, "p90", true);
      line("sequential p99 µs", "sequential", 1, "p99", true);
      for (const char* mode : {"blocking", "async"}) {
        for (int n : {1, 8, 64, 256}) {
          std::string m = std::string(mode) + " ×" + std::to_string(n);
          line(m + " CPU µs/call", mode, n, "cpu", false);
          line(m + " calls/s", mode, n, "rate", false);
          line(m + " p99 µs", mode, n, "p99", true);
        }
      }
      std::cout << "\n";
    }
  }
  if (!d.grpc_wins.empty()) {
    std::cout << "gRPC cells are the better of its two servers per point and round (by calls/s; "
                 "sequential: by p50), CPU included:";
    for (auto& [s, n] : d.grpc_wins) std::cout << " " << s << " won " << n << ";";
    std::cout << "\n\n";
  }
}

void memory(const Data& d) {
  std::cout << "## Server memory\n\nVmRSS after start-up (at rest, before any call) and VmHWM "
               "(peak) at the end of the run, MiB, median (min–max) across rounds.\n\n"
               "| server | allocator | at rest | peak |\n|---|---|---:|---:|\n";
  for (auto& [k, v] : d.rss_rest) {
    auto bar = k.find('|');
    auto r = stat(v), p = stat(d.rss_peak.at(k));
    std::cout << "| " << k.substr(0, bar) << " | " << k.substr(bar + 1) << " | "
              << fmt_mib(r.median) << " (" << fmt_mib(r.min) << "–" << fmt_mib(r.max) << ") | "
              << fmt_mib(p.median) << " (" << fmt_mib(p.min) << "–" << fmt_mib(p.max) << ") |\n";
  }
  std::cout << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: flybench_report RESULTS.jsonl\n";
    return 2;
  }
  std::ifstream in(argv[1]);
  if (!in) {
    std::cerr << "flybench_report: cannot read " << argv[1] << "\n";
    return 1;
  }
  Data d = load(in);
  if (d.systems.empty()) {
    std::cerr << "flybench_report: " << argv[1] << " holds no measurement\n";
    return 1;
  }
  machine(d);
  cpu_tables(d);
  summary(d);
  cpu_tls_goals(d);
  targets(d);
  details(d);
  memory(d);
  return 0;
}
