#include "driver.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <exception>
#include <iostream>
#include <latch>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

namespace flybench {

namespace {
using Clock = std::chrono::steady_clock;

std::uint64_t ns_between(Clock::time_point a, Clock::time_point b) {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count());
}
Clock::duration seconds(double s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}
}  // namespace

void check_response(const Payload& p, std::string_view response, bool full) {
  const std::string& e = p.expected;
  bool ok = response.size() == e.size() &&
            (full ? response == e
                  : (e.empty() || (response.front() == e.front() && response.back() == e.back())));
  if (!ok) {
    throw std::runtime_error(p.name + ": wrong response (" + std::to_string(response.size()) +
                             " bytes, expected " + std::to_string(e.size()) + ")");
  }
}

Measurement measure_sequential(BlockingCaller& caller, const Payload& p, std::size_t warmup,
                               std::size_t calls, double max_seconds, const CpuMeter& meter) {
  std::string response;
  const auto warm_end =
      max_seconds > 0 ? Clock::now() + seconds(max_seconds) : Clock::time_point::max();
  for (std::size_t i = 0; i < warmup && Clock::now() < warm_end; ++i) {
    caller.call(p.op, p.request, response);
    check_response(p, response, true);
  }
  Measurement m;
  m.samples.reserve(calls);
  const CpuSample cpu0 = meter.sample();
  auto begin = Clock::now();
  auto before = begin;
  const auto end = max_seconds > 0 ? begin + seconds(max_seconds) : Clock::time_point::max();
  for (std::size_t i = 0; i < calls && before < end; ++i) {
    caller.call(p.op, p.request, response);
    auto after = Clock::now();
    check_response(p, response, false);
    m.samples.push_back(ns_between(before, after));
    before = after;
  }
  m.cpu = meter.since(cpu0);
  m.seconds = std::chrono::duration<double>(before - begin).count();
  return m;
}

Measurement measure_blocking(System& system, const Payload& p, std::size_t threads,
                             const ClientOptions& o, const CpuMeter& meter) {
  // Connect every caller before the clock starts.
  std::vector<std::unique_ptr<BlockingCaller>> callers;
  for (std::size_t i = 0; i < threads; ++i) callers.push_back(system.blocking());

  const std::size_t cap = std::max<std::size_t>(1, o.max_calls / threads);
  std::vector<Samples> samples(threads);
  std::vector<Clock::time_point> ends(threads);
  std::latch ready(static_cast<std::ptrdiff_t>(threads) + 1);
  Clock::time_point t0, t1;  // written before ready counts down to zero: visible to all threads
  std::mutex error_mutex;
  std::string error;

  std::vector<std::thread> pool;
  for (std::size_t i = 0; i < threads; ++i) {
    pool.emplace_back([&, i] {
      samples[i].reserve(std::min<std::size_t>(cap, 1 << 16));
      ready.arrive_and_wait();
      std::string response;
      try {
        for (;;) {
          auto start = Clock::now();
          if (start >= t1 || samples[i].size() >= cap) {
            ends[i] = start;
            break;
          }
          callers[i]->call(p.op, p.request, response);
          auto done = Clock::now();
          check_response(p, response, done < t0);
          // Count a call when it completes inside the window: calls started in
          // the warm-up still finish in it, so the pipeline is full from t0.
          if (done >= t0) samples[i].push_back(ns_between(start, done));
        }
      } catch (const std::exception& e) {
        std::lock_guard lock(error_mutex);
        if (error.empty()) error = e.what();
        ends[i] = Clock::now();
      }
    });
  }
  t0 = Clock::now() + seconds(o.warmup_s);
  t1 = t0 + seconds(o.seconds);
  ready.arrive_and_wait();
  std::this_thread::sleep_until(t0);  // not a synchronisation: the window's start
  const CpuSample cpu0 = meter.sample();
  for (auto& t : pool) t.join();
  const CpuUse cpu = meter.since(cpu0);
  if (!error.empty()) throw std::runtime_error(error);

  Measurement m;
  m.cpu = cpu;
  for (auto& s : samples) m.samples.insert(m.samples.end(), s.begin(), s.end());
  m.seconds =
      std::chrono::duration<double>(*std::max_element(ends.begin(), ends.end()) - t0).count();
  return m;
}

bool measure_async(System& system, const Payload& p, std::size_t slots, const ClientOptions& o,
                   const CpuMeter& meter, Measurement& out) {
  // Per-slot state is touched only by the one call of that slot in flight, and
  // the system orders a slot's completion after its start: no lock needed.
  struct Slot {
    Clock::time_point start, end;
    Samples samples;
  };
  std::vector<Slot> slot(slots);
  const std::size_t cap = std::max<std::size_t>(1, o.max_calls / slots);
  Clock::time_point t0, t1;
  std::atomic<std::size_t> outstanding{slots};
  std::mutex mutex;  // guards error and the wake-up of the measuring thread
  std::condition_variable all_done;
  std::string error;
  AsyncCaller* caller = nullptr;

  auto finish = [&](std::size_t i, Clock::time_point now) {
    slot[i].end = now;
    if (outstanding.fetch_sub(1) == 1) {
      std::lock_guard lock(mutex);
      all_done.notify_all();
    }
  };
  auto done = [&](std::size_t i, std::string_view response, std::string_view err) {
    auto now = Clock::now();
    Slot& s = slot[i];
    try {
      if (!err.empty()) throw std::runtime_error(std::string(err));
      check_response(p, response, now < t0);
    } catch (const std::exception& e) {
      {
        std::lock_guard lock(mutex);
        if (error.empty()) error = e.what();
      }
      finish(i, now);
      return;
    }
    if (now >= t0) s.samples.push_back(ns_between(s.start, now));
    if (now >= t1 || s.samples.size() >= cap) {
      finish(i, now);
      return;
    }
    s.start = now;
    caller->start(i, p.op, p.request);
  };

  auto owned = system.async(slots, done);
  if (!owned) return false;
  caller = owned.get();
  for (auto& s : slot) s.samples.reserve(std::min<std::size_t>(cap, 1 << 16));
  t0 = Clock::now() + seconds(o.warmup_s);
  t1 = t0 + seconds(o.seconds);
  for (std::size_t i = 0; i < slots; ++i) {
    slot[i].start = Clock::now();
    caller->start(i, p.op, p.request);
  }
  std::this_thread::sleep_until(t0);  // not a synchronisation: the window's start
  const CpuSample cpu0 = meter.sample();
  {
    std::unique_lock lock(mutex);
    all_done.wait(lock, [&] { return outstanding.load() == 0; });
  }
  const CpuUse cpu = meter.since(cpu0);
  owned.reset();  // every call has completed: the caller can go
  if (!error.empty()) throw std::runtime_error(error);

  out = Measurement{};
  out.cpu = cpu;
  Clock::time_point last = t0;
  for (auto& s : slot) {
    out.samples.insert(out.samples.end(), s.samples.begin(), s.samples.end());
    last = std::max(last, s.end);
  }
  out.seconds = std::chrono::duration<double>(last - t0).count();
  return true;
}

namespace {
// The CPU fields of a JSON line (bench/harness/README.md): per call in µs, and
// the machine's share used by other processes and by the hypervisor.
std::string cpu_json(const CpuUse& c, std::size_t calls) {
  const double n = calls > 0 ? static_cast<double>(calls) : 1;
  const double others = c.machine_busy_s - c.client_s - (c.has_server ? c.server_s : 0);
  const double all = c.machine_all_s > 0 ? c.machine_all_s : 1;
  char server[96] = "\"server_cpu_s\":null,\"server_cpu_us\":null";
  if (c.has_server) {
    std::snprintf(server, sizeof server, "\"server_cpu_s\":%.6f,\"server_cpu_us\":%.3f", c.server_s,
                  c.server_s * 1e6 / n);
  }
  char b[320];
  std::snprintf(b, sizeof b,
                "\"client_cpu_s\":%.6f,\"client_cpu_us\":%.3f,%s,\"others_cpu_share\":%.3f,"
                "\"steal_share\":%.3f",
                c.client_s, c.client_s * 1e6 / n, server, std::max(0.0, others) / all,
                c.machine_steal_s / all);
  return b;
}

void print_json(const ClientOptions& o, const Payload& p, const char* mode, std::size_t inflight,
                Measurement& m) {
  Summary s = summarize(m.samples);
  double rate = m.seconds > 0 ? static_cast<double>(s.calls) / m.seconds : 0;
  std::printf(
      "{\"system\":\"%s\",\"payload\":\"%s\",\"bytes\":%zu,\"mode\":\"%s\",\"inflight\":%zu,"
      "\"calls\":%zu,\"seconds\":%.3f,\"calls_per_s\":%.0f,\"p50_us\":%.1f,\"p90_us\":%.1f,"
      "\"p99_us\":%.1f,\"max_us\":%.1f,\"mean_us\":%.1f,%s}\n",
      o.system.c_str(), p.name.c_str(), p.request.size(), mode, inflight, s.calls, m.seconds, rate,
      s.p50_us, s.p90_us, s.p99_us, s.max_us, s.mean_us, cpu_json(m.cpu, s.calls).c_str());
  std::fflush(stdout);
}
}  // namespace

int run_client(int argc, char** argv,
               const std::function<std::unique_ptr<System>(const Target&)>& make) {
  ClientOptions o = parse_client_options(argc, argv);
  auto has = [](const std::vector<std::string>& v, const char* x) {
    return std::find(v.begin(), v.end(), x) != v.end();
  };
  std::string where;  // what was being measured, for the error message
  try {
    where = "connecting";
    CpuMeter meter(o.server_pid);
    auto system = make(o.target);
    for (const auto& name : o.payloads) {
      const Payload& p = payload_by_name(name);
      if (has(o.modes, "sequential")) {
        where = name + " sequential";
        auto caller = system->blocking();
        auto m = measure_sequential(*caller, p, o.seq_warmup, o.seq_calls, o.seq_seconds, meter);
        print_json(o, p, "sequential", 1, m);
      }
      for (const char* mode : {"blocking", "async"}) {
        if (!has(o.modes, mode)) continue;
        for (std::size_t n : o.inflight) {
          where = name + " " + mode + " x" + std::to_string(n);
          Measurement m;
          if (std::string_view(mode) == "blocking") {
            m = measure_blocking(*system, p, n, o, meter);
          } else if (!measure_async(*system, p, n, o, meter, m)) {
            break;  // no async form: nothing to print
          }
          print_json(o, p, mode, n, m);
        }
      }
    }
  } catch (const std::exception& e) {
    std::cerr << o.system << " client: " << where << ": " << e.what() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace flybench
