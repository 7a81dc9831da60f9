#include "cpu.hpp"

#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>

namespace flybench {

namespace {

std::uint64_t ns_of(const timespec& t) {
  return static_cast<std::uint64_t>(t.tv_sec) * 1000000000u + static_cast<std::uint64_t>(t.tv_nsec);
}
std::uint64_t ns_of(const timeval& t) {
  return static_cast<std::uint64_t>(t.tv_sec) * 1000000000u +
         static_cast<std::uint64_t>(t.tv_usec) * 1000u;
}

// /proc/stat's first line: "cpu user nice system idle iowait irq softirq steal ...".
void read_machine(CpuSample& s) {
  std::ifstream in("/proc/stat");
  std::string label;
  std::uint64_t v[8] = {};
  in >> label;
  for (auto& x : v) in >> x;
  if (!in || label != "cpu") return;  // leaves zeros: the report then shows no machine figures
  const std::uint64_t idle = v[3] + v[4];
  s.machine_steal_ticks = v[7];
  s.machine_all_ticks = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
  s.machine_busy_ticks = s.machine_all_ticks - idle - v[7];
}

}  // namespace

namespace {

// The CPU clock of process `pid`, checked readable; `option` names it in errors.
clockid_t process_clock(pid_t pid, const char* option) {
  clockid_t clock{};
  if (int e = clock_getcpuclockid(pid, &clock); e != 0) {
    throw std::runtime_error(std::string(option) + " " + std::to_string(pid) +
                             ": no CPU clock for it (" + std::strerror(e) + ")");
  }
  timespec t{};
  if (clock_gettime(clock, &t) != 0) {
    throw std::runtime_error(std::string(option) + " " + std::to_string(pid) +
                             ": cannot read its CPU clock (" + std::strerror(errno) + ")");
  }
  return clock;
}

}  // namespace

CpuMeter::CpuMeter(pid_t server_pid, pid_t client_pid)
    : server_pid_(server_pid), client_pid_(client_pid) {
  if (server_pid_ != 0) server_clock_ = process_clock(server_pid_, "--server-pid");
  if (client_pid_ != 0) client_clock_ = process_clock(client_pid_, "--client-pid");
}

CpuSample CpuMeter::sample() const {
  CpuSample s;
  timespec t{};
  if (client_pid_ != 0) {
    if (clock_gettime(client_clock_, &t) != 0) {
      throw std::runtime_error("the client process (pid " + std::to_string(client_pid_) +
                               ") has gone: " + std::strerror(errno));
    }
    s.client_ns = ns_of(t);
  } else {
    rusage self{};
    getrusage(RUSAGE_SELF, &self);
    s.client_ns = ns_of(self.ru_utime) + ns_of(self.ru_stime);
  }
  if (server_pid_ != 0) {
    if (clock_gettime(server_clock_, &t) != 0) {
      throw std::runtime_error("the server process (pid " + std::to_string(server_pid_) +
                               ") has gone: " + std::strerror(errno));
    }
    s.server_ns = ns_of(t);
  }
  read_machine(s);
  return s;
}

CpuUse CpuMeter::since(const CpuSample& before) const {
  const CpuSample now = sample();
  static const double tick = 1.0 / static_cast<double>(sysconf(_SC_CLK_TCK));
  CpuUse u;
  u.client_s = static_cast<double>(now.client_ns - before.client_ns) / 1e9;
  u.has_server = server_pid_ != 0;
  u.server_s = static_cast<double>(now.server_ns - before.server_ns) / 1e9;
  u.machine_busy_s = static_cast<double>(now.machine_busy_ticks - before.machine_busy_ticks) * tick;
  u.machine_steal_s =
      static_cast<double>(now.machine_steal_ticks - before.machine_steal_ticks) * tick;
  u.machine_all_s = static_cast<double>(now.machine_all_ticks - before.machine_all_ticks) * tick;
  return u;
}

}  // namespace flybench
