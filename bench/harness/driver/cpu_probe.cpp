// flybench_cpu_probe CLIENT-PID SERVER-PID: the Erlang client's CpuMeter. For
// every line on stdin it prints one line: the CPU time of both processes in
// ns (their per-process CPU clocks) and /proc/stat's busy, steal and total
// ticks: "client_ns server_ns busy steal all". SERVER-PID 0: no server (0).
// It exits at the end of stdin, or with status 1 and a message on stderr when
// a process has gone.
//
// Why a process of its own: a BEAM reading the ~80 /proc/PID/task/*/schedstat
// files itself pays a dirty-I/O scheduler round trip per file, and a shell per
// sample costs a fork; on a busy machine either took longer than a point.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <stdexcept>
#include <string>

#include "cpu.hpp"

namespace {

pid_t pid_arg(const char* s, const char* what) {
  char* end = nullptr;
  long v = std::strtol(s, &end, 10);
  if (*s == '\0' || *end != '\0' || v < 0 || v > (1L << 30)) {
    std::cerr << "flybench_cpu_probe: " << what << ": '" << s << "' is not a process id\n";
    std::exit(2);
  }
  return static_cast<pid_t>(v);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: flybench_cpu_probe CLIENT-PID SERVER-PID\n";
    return 2;
  }
  const pid_t client = pid_arg(argv[1], "CLIENT-PID");
  const pid_t server = pid_arg(argv[2], "SERVER-PID");
  if (client == 0) {
    std::cerr << "flybench_cpu_probe: CLIENT-PID must not be 0\n";
    return 2;
  }
  try {
    const flybench::CpuMeter meter(server, client);
    std::string line;
    while (std::getline(std::cin, line)) {
      const flybench::CpuSample s = meter.sample();
      std::printf("%llu %llu %llu %llu %llu\n", static_cast<unsigned long long>(s.client_ns),
                  static_cast<unsigned long long>(s.server_ns),
                  static_cast<unsigned long long>(s.machine_busy_ticks),
                  static_cast<unsigned long long>(s.machine_steal_ticks),
                  static_cast<unsigned long long>(s.machine_all_ticks));
      std::fflush(stdout);
    }
  } catch (const std::exception& e) {
    std::cerr << "flybench_cpu_probe: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
