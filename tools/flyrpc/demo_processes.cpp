#include "demo_processes.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace flyrpc_cli {

struct ChildProcesses::Child {
  pid_t pid = -1;
  int fd = -1;  // read end of the child's stdout+stderr pipe; owned by the reader thread
  bool reaped = false;
  int status = 0;
  bool eof = false;
  std::vector<Line> lines;
  std::thread reader;
};

ChildProcesses::ChildProcesses(std::string exe, std::vector<std::string> env)
    : exe_(std::move(exe)), env_(std::move(env)) {}

ChildProcesses::~ChildProcesses() {
  kill_all();
  // The children are dead, so every pipe reaches end-of-file and each reader
  // returns. children_ no longer changes (closed_), so no lock is needed.
  for (auto& c : children_) {
    if (c->reader.joinable()) c->reader.join();
  }
}

std::size_t ChildProcesses::spawn(const std::vector<std::string>& args) {
  // Everything the child needs is built before fork(): between fork and exec
  // a child of a multi-threaded process may only make async-signal-safe calls.
  std::vector<std::string> argv_strings;
  argv_strings.push_back(exe_);
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_strings = env_;
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  sigset_t no_signals;
  sigemptyset(&no_signals);

  // Held across fork(): kill_all() on another thread either sees this child
  // or stops it from being started.
  std::lock_guard lock(mutex_);
  if (closed_) throw std::runtime_error("the demo is stopping; no more nodes are started");
  int fds[2];
  // O_CLOEXEC: later children must not inherit this pipe, or it would never
  // reach end-of-file.
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    throw std::runtime_error(std::string("fork: ") + std::strerror(err));
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the demo died before prctl
    const int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    ::dup2(fds[1], 1);
    ::dup2(fds[1], 2);
    // Nothing else of the demo (sockets, other pipes) leaks into the node.
    ::close_range(3, ~0U, 0);
    // The demo blocks SIGINT/SIGTERM to read them from a signalfd; the node
    // must receive them normally.
    ::sigprocmask(SIG_SETMASK, &no_signals, nullptr);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also here, so it holds before we ever signal the group
  ::close(fds[1]);
  auto child = std::make_unique<Child>();
  child->pid = pid;
  child->fd = fds[0];
  Child& ref = *child;
  children_.push_back(std::move(child));
  ref.reader = std::thread([this, &ref] { read_loop(ref); });
  return children_.size() - 1;
}

void ChildProcesses::read_loop(Child& child) {
  std::string pending;
  char buf[4096];
  while (true) {
    const ssize_t n = ::read(child.fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    const auto now = Clock::now();
    std::lock_guard lock(mutex_);
    if (n <= 0) {
      if (!pending.empty()) child.lines.push_back({now, std::move(pending)});
      child.eof = true;
      lines_changed_.notify_all();
      break;
    }
    pending.append(buf, static_cast<std::size_t>(n));
    std::size_t start = 0;
    for (std::size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1) {
      child.lines.push_back({now, pending.substr(start, nl - start)});
    }
    pending.erase(0, start);
    lines_changed_.notify_all();
  }
  ::close(child.fd);
}

std::size_t ChildProcesses::size() const {
  std::lock_guard lock(mutex_);
  return children_.size();
}

pid_t ChildProcesses::pid(std::size_t child) const {
  std::lock_guard lock(mutex_);
  return children_.at(child)->pid;
}

std::optional<ChildProcesses::Line> ChildProcesses::wait_for_line(
    std::size_t child, const std::function<bool(std::string_view)>& match,
    Clock::time_point deadline, std::size_t from) const {
  std::unique_lock lock(mutex_);
  const Child& c = *children_.at(child);
  std::size_t next = from;
  while (true) {
    for (; next < c.lines.size(); ++next) {
      if (match(c.lines[next].text)) return c.lines[next];
    }
    if (c.eof) return std::nullopt;
    if (lines_changed_.wait_until(lock, deadline) == std::cv_status::timeout &&
        next == c.lines.size()) {
      return std::nullopt;
    }
  }
}

std::vector<ChildProcesses::Line> ChildProcesses::lines(std::size_t child) const {
  std::lock_guard lock(mutex_);
  return children_.at(child)->lines;
}

void ChildProcesses::signal(std::size_t child, int sig) {
  std::lock_guard lock(mutex_);
  const Child& c = *children_.at(child);
  if (!c.reaped) ::kill(c.pid, sig);
}

std::optional<int> ChildProcesses::wait_exit(std::size_t child, Clock::time_point deadline) {
  while (true) {
    {
      std::lock_guard lock(mutex_);
      Child& c = *children_.at(child);
      if (c.reaped) return c.status;
      int status = 0;
      if (::waitpid(c.pid, &status, WNOHANG) == c.pid) {
        c.reaped = true;
        c.status = status;
        return status;
      }
    }
    if (Clock::now() >= deadline) return std::nullopt;
    // Polling waitpid (a child's exit has no portable wake-up we could share
    // with kill_all); the interval bounds how late an exit is noticed.
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

std::size_t ChildProcesses::kill_all() {
  std::lock_guard lock(mutex_);
  closed_ = true;
  std::size_t killed = 0;
  for (auto& c : children_) {
    if (c->reaped) continue;
    ::kill(-c->pid, SIGKILL);
    ::kill(c->pid, SIGKILL);
    int status = 0;
    while (::waitpid(c->pid, &status, 0) < 0 && errno == EINTR) {
    }
    c->reaped = true;
    c->status = status;
    ++killed;
  }
  return killed;
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

}  // namespace flyrpc_cli
