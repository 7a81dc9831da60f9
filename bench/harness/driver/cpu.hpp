// CPU time of the client process, of the server process and of the whole
// machine, sampled at the start and end of a measured point. Wall-clock
// latency on a shared virtual machine measures the hypervisor as much as the
// code (an idle virtual CPU takes tens of microseconds to wake); the CPU time a
// call costs each process depends on it much less, so it is the steadier
// figure (what still moves it: docs/PERFORMANCE.md, "CPU time per call").
#pragma once

#include <sys/types.h>

#include <cstdint>

namespace flybench {

/// One reading. Process times are the kernel's run-time accounting
/// (sum_exec_runtime), in nanoseconds; the machine's are /proc/stat's
/// aggregate "cpu" line, in clock ticks (USER_HZ).
struct CpuSample {
  std::uint64_t client_ns = 0;            // getrusage(RUSAGE_SELF): user + system
  std::uint64_t server_ns = 0;            // clock_getcpuclockid(server pid); 0 without one
  std::uint64_t machine_busy_ticks = 0;   // every CPU: not idle, not iowait, not steal
  std::uint64_t machine_steal_ticks = 0;  // taken by the hypervisor for other guests
  std::uint64_t machine_all_ticks = 0;    // every CPU, every state
};

/// What a point cost: the difference of two samples.
struct CpuUse {
  double client_s = 0, server_s = 0;
  double machine_busy_s = 0, machine_steal_s = 0, machine_all_s = 0;
  bool has_server = false;
};

/// Samples this process and, when given one, the server process. The server's
/// clock is the kernel's per-process CPU clock (every thread, including those
/// that have exited), readable for any process of the same user.
class CpuMeter {
 public:
  /// server_pid 0: no server figures. client_pid 0: this process (getrusage);
  /// else that process's CPU clock (the Erlang client's probe measures its
  /// BEAM). Throws std::runtime_error when a pid has no CPU clock (no such
  /// process).
  explicit CpuMeter(pid_t server_pid, pid_t client_pid = 0);
  CpuSample sample() const;
  CpuUse since(const CpuSample& before) const;

 private:
  pid_t server_pid_, client_pid_;
  clockid_t server_clock_{}, client_clock_{};
};

}  // namespace flybench
