#include "common/child_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <thread>
#include <utility>

namespace flyproc {

namespace {

// Where execve may find argv[0]: the name itself if it has a '/', else each
// PATH entry (an empty entry is the current directory, as for execvp).
std::vector<std::string> candidates(const std::string& name) {
  if (name.find('/') != std::string::npos) return {name};
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/local/bin:/bin:/usr/bin";
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    const std::size_t colon = dirs.find(':', start);
    std::string dir = dirs.substr(start, colon == std::string::npos ? colon : colon - start);
    out.push_back((dir.empty() ? std::string(".") : dir) + "/" + name);
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return out;
}

// Closes every descriptor from `from` up, except `keep`.
void close_from_except(int from, int keep) {
  if (keep >= from) {
    if (keep > from) ::close_range(static_cast<unsigned>(from), static_cast<unsigned>(keep - 1), 0);
    ::close_range(static_cast<unsigned>(keep + 1), ~0U, 0);
  } else {
    ::close_range(static_cast<unsigned>(from), ~0U, 0);
  }
}

}  // namespace

pid_t spawn(const SpawnSpec& spec) {
  if (spec.argv.empty()) throw std::invalid_argument("spawn: empty argv");
  if (spec.stdout_fd < 0 || spec.stderr_fd < 0) throw std::invalid_argument("spawn: no output fds");
  // Everything the child needs is built before fork(): between fork and exec
  // a child of a multi-threaded process may only make async-signal-safe calls.
  std::vector<std::string> argv_strings = spec.argv;
  std::vector<char*> argv;
  for (auto& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_strings = spec.env;
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  const std::vector<std::string> paths = candidates(spec.argv[0]);

  const int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (devnull < 0) throw std::runtime_error(std::string("open /dev/null: ") + std::strerror(errno));
  // The child reports a failed exec (its errno) here; a successful exec
  // closes the pipe (O_CLOEXEC) and the parent reads end-of-file.
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) {
    const int err = errno;
    ::close(devnull);
    throw std::runtime_error(std::string("pipe: ") + std::strerror(err));
  }
  // No handler of ours may run in the child between fork and exec: block
  // every signal across fork(); the child resets handlers, then unblocks.
  sigset_t all, old_mask, none;
  sigfillset(&all);
  sigemptyset(&none);
  ::pthread_sigmask(SIG_SETMASK, &all, &old_mask);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    for (int sig = 1; sig < NSIG; ++sig) {
      struct sigaction sa;
      if (::sigaction(sig, nullptr, &sa) == 0 && sa.sa_handler != SIG_IGN &&
          sa.sa_handler != SIG_DFL) {
        sa.sa_handler = SIG_DFL;
        sa.sa_flags = 0;
        ::sigaction(sig, &sa, nullptr);
      }
    }
    ::setpgid(0, 0);
    if (spec.die_with_parent) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);  // the parent died before prctl
    }
    ::dup2(devnull, 0);
    ::dup2(spec.stdout_fd, 1);
    ::dup2(spec.stderr_fd, 2);
    close_from_except(3, report[1]);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    int err = ENOENT;
    for (const auto& p : paths) {
      ::execve(p.c_str(), argv.data(), envp.data());
      // As execvp: a missing or unsearchable candidate tries the next one.
      if (errno != ENOENT && errno != ENOTDIR && errno != EACCES) {
        err = errno;
        break;
      }
      if (errno == EACCES) err = EACCES;
    }
    while (::write(report[1], &err, sizeof err) < 0 && errno == EINTR) {
    }
    ::_exit(127);
  }
  const int fork_errno = errno;
  ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  ::close(devnull);
  ::close(report[1]);
  if (pid < 0) {
    ::close(report[0]);
    throw std::runtime_error(std::string("fork: ") + std::strerror(fork_errno));
  }
  ::setpgid(pid, pid);  // also here, so it holds before we ever signal the group
  int child_errno = 0;
  ssize_t n;
  while ((n = ::read(report[0], &child_errno, sizeof child_errno)) < 0 && errno == EINTR) {
  }
  ::close(report[0]);
  if (n > 0) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    throw std::runtime_error("exec " + spec.argv[0] + ": " + std::strerror(child_errno));
  }
  return pid;
}

Child::Child(Child&& o) noexcept {
  *this = std::move(o);
}

Child& Child::operator=(Child&& o) noexcept {
  if (this != &o) {
    kill_and_reap();
    pid_ = std::exchange(o.pid_, -1);
    reaped_ = std::exchange(o.reaped_, false);
    status_ = std::exchange(o.status_, 0);
  }
  return *this;
}

Child::~Child() {
  kill_and_reap();
}

bool Child::poll() {
  if (pid_ <= 0) return false;
  if (reaped_) return true;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    reaped_ = true;
    status_ = status;
  }
  return reaped_;
}

void Child::signal(int sig) {
  if (pid_ > 0 && !reaped_) ::kill(pid_, sig);
}

void Child::signal_group(int sig) {
  if (pid_ > 0 && !reaped_) ::kill(-pid_, sig);
}

bool Child::kill_and_reap() {
  if (pid_ <= 0 || reaped_) return false;
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  reaped_ = true;
  status_ = status;
  return true;
}

bool poll_until(const std::function<bool()>& exited,
                std::chrono::steady_clock::time_point deadline) {
  auto pause = std::chrono::milliseconds(1);
  while (!exited()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(pause);  // a poll interval: returns as soon as it exits
    pause = std::min(pause * 2, std::chrono::milliseconds(20));
  }
  return true;
}

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    const char* abbrev = sigabbrev_np(sig);
    return std::string("killed by SIG") + (abbrev ? abbrev : std::to_string(sig).c_str());
  }
  return "status " + std::to_string(status);
}

}  // namespace flyproc
