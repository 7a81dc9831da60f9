// flybench_report: turns the JSON lines of a bench/run.sh run (every round,
// both allocator settings) into the markdown tables of bench/results/latest.md.
//
//   flybench_report RESULTS.jsonl > tables.md
//
// Each measurement is reduced to its median across rounds, with min-max, and
// to its ratio to the reference system of the same allocator setting: flyrpc
// when it was measured, else the floor. gRPC runs two servers (sync and
// callback); per round and point the better one counts as "grpc".
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
};

const std::vector<std::string> kPayloads = {"upcase3", "echo1k", "echo64k"};
const std::map<std::string, std::string> kPayloadTitle = {
    {"upcase3", "upcase, 3 bytes (\"fly\" -> \"FLY\")"},
    {"echo1k", "echo, 1 KiB"},
    {"echo64k", "echo, 64 KiB"}};
const std::vector<std::string> kPreferredOrder = {"floor", "flyrpc", "grpc", "erpc"};

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
      if (system.rfind("grpc-", 0) == 0) {
        key.system = "grpc";
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

// "median (min–max) · ratio" for one system; "—" when not measured.
std::string cell(const Data& d, Key k, const std::string& metric, bool latency) {
  auto s = get(d, k, metric);
  if (!s) return "—";
  auto show = latency ? fmt_us : fmt_rate;
  std::string out = "**" + show(s->median) + "**";
  if (s->n > 1) out += " (" + show(s->min) + "–" + show(s->max) + ")";
  std::string ref = reference(d);
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

void header_row(const Data& d, const std::string& first) {
  std::cout << "| " << first << " |";
  for (auto& s : d.systems) std::cout << " " << s << " |";
  std::cout << "\n|---|";
  for (std::size_t i = 0; i < d.systems.size(); ++i) std::cout << "---:|";
  std::cout << "\n";
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

void summary(const Data& d) {
  std::string ref = reference(d);
  std::cout << "## Summary\n\nMedians across rounds; the ratio is to **" << ref
            << "** in the same run and allocator setting (latency: lower is better; calls/s: "
               "higher is better).\n\n";
  for (auto& alloc : d.allocs) {
    std::cout << "### " << alloc_title(alloc) << "\n\n";
    std::cout << "| system | upcase p50 µs | 64 KiB echo p50 µs | upcase calls/s, 256 in flight "
                 "(best mode) | server RSS at rest / peak, MiB |\n|---|---:|---:|---:|---:|\n";
    for (auto& sys : d.systems) {
      std::cout << "| " << sys << " | "
                << cell(d, {alloc, sys, "upcase3", "sequential", 1}, "p50", true) << " | "
                << cell(d, {alloc, sys, "echo64k", "sequential", 1}, "p50", true) << " | ";
      auto r = peak_rate(d, alloc, sys, "upcase3", 256);
      auto rr = peak_rate(d, alloc, ref, "upcase3", 256);
      if (r) {
        std::cout << "**" << fmt_rate(*r) << "**";
        if (sys != ref && rr && *rr > 0) std::cout << " " << fmt_ratio(*r / *rr);
      } else {
        std::cout << "—";
      }
      std::cout << " | ";
      // Every server process of the system (gRPC has two).
      std::vector<std::string> parts;
      for (auto& [k, v] : d.rss_rest) {
        auto bar = k.find('|');
        std::string s = k.substr(0, bar), a = k.substr(bar + 1);
        if (a != alloc || (s != sys && s.rfind(sys + "-", 0) != 0)) continue;
        std::string label = s == sys ? "" : s.substr(sys.size() + 1) + " ";
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

// Issue 8's goals for flyrpc, checked against this run when flyrpc was measured.
void targets(const Data& d) {
  std::cout << "## flyrpc targets (issue 8)\n\n";
  if (reference(d) != "flyrpc") {
    std::cout << "Pending: flyrpc was not measured in this run.\n\n";
    return;
  }
  std::cout << "| allocator | target | measured | met |\n|---|---|---:|:---:|\n";
  auto row = [](const std::string& alloc, const std::string& what, std::optional<double> v,
                bool met, const std::string& unit) {
    std::cout << "| " << alloc << " | " << what << " | ";
    if (v) {
      char b[32];
      std::snprintf(b, sizeof b, "%.2f", *v);
      std::cout << b << unit << " | " << (met ? "yes" : "**no**") << " |\n";
    } else {
      std::cout << "— | — |\n";
    }
  };
  for (auto& a : d.allocs) {
    auto p50 = [&](const std::string& s, const std::string& payload) {
      auto st = get(d, {a, s, payload, "sequential", 1}, "p50");
      return st ? std::optional<double>(st->median) : std::nullopt;
    };
    auto ratio = [](std::optional<double> x, std::optional<double> y) -> std::optional<double> {
      if (!x || !y || *y <= 0) return std::nullopt;
      return *x / *y;
    };
    auto r1 = ratio(p50("flyrpc", "upcase3"), p50("floor", "upcase3"));
    row(a, "sequential upcase p50 ≤ 1.2× floor", r1, r1 && *r1 <= 1.2, "×");
    auto f = peak_rate(d, a, "flyrpc", "upcase3", 256);
    auto r2 = ratio(f, peak_rate(d, a, "erpc", "upcase3", 256));
    row(a, "256 in flight ≥ 4× :erpc calls/s", r2, r2 && *r2 >= 4, "×");
    auto r3 = ratio(f, peak_rate(d, a, "grpc", "upcase3", 256));
    row(a, "256 in flight ≥ 8× gRPC calls/s", r3, r3 && *r3 >= 8, "×");
    auto r4 = ratio(p50("flyrpc", "echo64k"), p50("erpc", "echo64k"));
    row(a, "64 KiB echo p50 ≤ :erpc", r4, r4 && *r4 <= 1.0, "×");
    auto rest = d.rss_rest.find("flyrpc|" + a);
    std::optional<double> mib;
    if (rest != d.rss_rest.end()) mib = stat(rest->second).median / 1024;
    row(a, "server RSS at rest < 8 MiB", mib, mib && *mib < 8, " MiB");
  }
  std::cout << "\n";
}

void details(const Data& d) {
  std::cout << "## Details\n\nCells: **median** (min–max across rounds) and the ratio to "
            << reference(d) << ". Sequential: one caller, one call at a time. Blocking ×N: N "
            << "threads (N Erlang processes) each calling in a loop. Async ×N: N calls kept "
               "outstanding by one caller.\n\n";
  for (auto& alloc : d.allocs) {
    for (auto& payload : kPayloads) {
      std::cout << "### " << kPayloadTitle.at(payload) << " — " << alloc_title(alloc) << "\n\n";
      header_row(d, "measurement");
      auto line = [&](const std::string& label, const std::string& mode, int n,
                      const std::string& metric, bool latency) {
        std::cout << "| " << label << " |";
        for (auto& s : d.systems)
          std::cout << " " << cell(d, {alloc, s, payload, mode, n}, metric, latency) << " |";
        std::cout << "\n";
      };
      line("sequential p50 µs", "sequential", 1, "p50", true);
      line("sequential p90 µs", "sequential", 1, "p90", true);
      line("sequential p99 µs", "sequential", 1, "p99", true);
      for (const char* mode : {"blocking", "async"}) {
        for (int n : {1, 8, 64, 256}) {
          std::string m = std::string(mode) + " ×" + std::to_string(n);
          line(m + " calls/s", mode, n, "rate", false);
          line(m + " p99 µs", mode, n, "p99", true);
        }
      }
      std::cout << "\n";
    }
  }
  if (!d.grpc_wins.empty()) {
    std::cout << "gRPC cells are the better of its two servers per point and round:";
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
  summary(d);
  targets(d);
  details(d);
  memory(d);
  return 0;
}
