// Child processes for tests: spawn the real flyrpc binary (or any program)
// with extra environment, its output going to files, and wait on it with a
// deadline. The destructor kills and reaps whatever is still running, so a
// failing test leaves no process behind. Started by the spawner the flyrpc
// tool shares (tools/common/child_process.hpp): each in its own process group.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/child_process.hpp"

namespace flytest {

struct ProcessResult {
  int exit_code = -1;  ///< exit status, or -1 if killed by a signal
  int signal = 0;      ///< the signal that killed it, or 0
  std::string out;     ///< everything it wrote to stdout
  std::string err;     ///< everything it wrote to stderr
};

class Process {
 public:
  /// Starts `argv[0]` with `argv`; `env` entries are added to (or, with an
  /// empty value and `unset` true, removed from) the inherited environment.
  /// Variables in `unset` are removed first.
  static Process spawn(const std::vector<std::string>& argv,
                       const std::map<std::string, std::string>& env = {},
                       const std::vector<std::string>& unset = {});

  Process(Process&& o) noexcept;
  Process& operator=(Process&& o) noexcept;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  ~Process();

  pid_t pid() const { return child_.pid(); }
  bool running();
  /// Sends `sig` (no-op once reaped).
  void signal(int sig);
  /// Waits up to `timeout` for exit; nullopt if still running.
  std::optional<ProcessResult> wait_for(std::chrono::milliseconds timeout);
  /// What the process has written to stdout / stderr so far.
  std::string stdout_text() const;
  std::string stderr_text() const;

 private:
  Process() = default;
  void collect();

  flyproc::Child child_;
  bool collected_ = false;  // result_ is filled in
  ProcessResult result_;
  std::string out_path_;
  std::string err_path_;
};

/// Runs a program to completion (killing it after `timeout`).
ProcessResult run(const std::vector<std::string>& argv,
                  const std::map<std::string, std::string>& env = {},
                  const std::vector<std::string>& unset = {},
                  std::chrono::milliseconds timeout = std::chrono::seconds(30));

/// A loopback TCP port that was free a moment ago.
int free_port();

}  // namespace flytest
