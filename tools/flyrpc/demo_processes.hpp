// The demo's child processes: `flyrpc node`s started by the shared spawner
// (tools/common/child_process.hpp), each in its own process group (so Ctrl-C on the terminal
// reaches only the demo, which then stops them) and with PR_SET_PDEATHSIG(SIGKILL) (so none
// outlives the demo, even when the demo itself is SIGKILLed). Their stdout and stderr go to one
// pipe per child, read line by line by one thread per child.
//
// Thread safety: every member may be called from any thread, except spawn(),
// which must be called from a thread that lives as long as the children
// (PR_SET_PDEATHSIG fires when the thread that forked exits): the main thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/child_process.hpp"

namespace flyrpc_cli {

class ChildProcesses {
 public:
  using Clock = std::chrono::steady_clock;
  /// One line a child wrote (without its '\n') and when the demo read it.
  struct Line {
    Clock::time_point at;
    std::string text;
  };

  /// Children run `exe` with exactly `env` ("NAME=value" each) as environment.
  ChildProcesses(std::string exe, std::vector<std::string> env);
  /// kill_all(), then joins the reader threads.
  ~ChildProcesses();
  ChildProcesses(const ChildProcesses&) = delete;
  ChildProcesses& operator=(const ChildProcesses&) = delete;

  /// Starts `exe args...` with stdin from /dev/null and returns its index.
  /// Throws std::runtime_error if the pipe, fork or exec fails, or once
  /// kill_all() has run (an interrupted demo starts nothing more).
  std::size_t spawn(const std::vector<std::string>& args);

  std::size_t size() const;
  pid_t pid(std::size_t child) const;

  /// The first line of `child`, at index `from` or later, that `match`
  /// accepts, waiting until `deadline`. nullopt if the child closed its
  /// output (it died) or time ran out first.
  std::optional<Line> wait_for_line(std::size_t child,
                                    const std::function<bool(std::string_view)>& match,
                                    Clock::time_point deadline, std::size_t from = 0) const;
  /// Every line of `child` so far.
  std::vector<Line> lines(std::size_t child) const;

  /// Sends `sig` to `child` (no-op once it was reaped).
  void signal(std::size_t child, int sig);
  /// Waits until `child` exits (polling waitpid), reaps it and returns its
  /// wait status; nullopt if it is still running at `deadline`.
  std::optional<int> wait_exit(std::size_t child, Clock::time_point deadline);
  /// SIGKILLs every child not yet reaped (its whole process group) and reaps
  /// it. Afterwards spawn() throws. Idempotent; returns how many it killed.
  std::size_t kill_all();

 private:
  struct Child;
  void read_loop(Child& child);

  const std::string exe_;
  const std::vector<std::string> env_;
  mutable std::mutex mutex_;
  mutable std::condition_variable lines_changed_;
  std::vector<std::unique_ptr<Child>> children_;  // guarded by mutex_; entries never move
  bool closed_ = false;                           // guarded by mutex_
};

using flyproc::describe_wait_status;

}  // namespace flyrpc_cli
