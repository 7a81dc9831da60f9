// Starting and reaping child processes: the one spawner behind the flyrpc
// demo's nodes (tools/flyrpc/demo_processes.hpp) and the tests' processes
// (tests/support/process.hpp). Not part of libflyrpc; a static library both
// link.
//
// What every child gets: stdin from /dev/null, stdout and stderr on the fds
// the caller passes, its own process group (so a group can be signalled
// without reaching us), an empty signal mask and default signal handlers
// (the demo blocks SIGINT/SIGTERM to read them from a signalfd; a child must
// receive them normally), and no other descriptor of ours.
//
// Cost: one fork+exec. fork() copies the page tables of the caller, which is
// fine for the demo and the tests; nothing here is on a call path.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace flyproc {

struct SpawnSpec {
  /// argv[0] is a path, or a name looked up in this process's PATH (as
  /// execvp does).
  std::vector<std::string> argv;
  /// The child's whole environment, "NAME=value" each.
  std::vector<std::string> env;
  int stdout_fd = -1;  ///< becomes the child's fd 1 (required)
  int stderr_fd = -1;  ///< becomes the child's fd 2 (required; may equal stdout_fd)
  /// PR_SET_PDEATHSIG(SIGKILL): the child is killed when the thread that
  /// spawned it exits, so spawn from a thread that lives as long as the
  /// child (the main thread).
  bool die_with_parent = false;
};

/// Starts a child and returns its pid once it has exec'ed. Throws
/// std::runtime_error if fork fails or the program cannot be executed (not
/// found, not executable), as posix_spawnp reports it. Thread-safe; between
/// fork and exec the child makes only async-signal-safe calls.
pid_t spawn(const SpawnSpec& spec);

/// One child, reaped at most once. Kills (SIGKILL) and reaps it on
/// destruction if it is still running, so no child outlives its owner.
/// Not thread-safe: the owner serialises calls.
class Child {
 public:
  Child() = default;
  explicit Child(pid_t pid) : pid_(pid) {}
  Child(Child&& o) noexcept;
  Child& operator=(Child&& o) noexcept;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child();

  pid_t pid() const { return pid_; }
  bool reaped() const { return reaped_; }
  /// The wait status (waitpid); meaningful once reaped().
  int status() const { return status_; }

  /// Reaps the child if it has exited (waitpid WNOHANG); true once reaped.
  bool poll();
  /// Sends `sig` to the child; a no-op once reaped (its pid may be reused).
  void signal(int sig);
  /// Sends `sig` to the child's process group; a no-op once reaped.
  void signal_group(int sig);
  /// SIGKILLs the child unless reaped, and waits for it. True if it was
  /// still unreaped.
  bool kill_and_reap();

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  int status_ = 0;
};

/// Calls `exited` until it returns true or `deadline` passes, pausing 1 ms,
/// 2 ms, ... up to 20 ms in between (a child's exit has no wake-up we could
/// share, so this polls waitpid; the pause bounds how late an exit is seen).
/// Returns whether `exited` returned true.
bool poll_until(const std::function<bool()>& exited,
                std::chrono::steady_clock::time_point deadline);

/// "exit 0", "exit 3", "killed by SIGKILL": a wait status for people.
std::string describe_wait_status(int status);

}  // namespace flyproc
