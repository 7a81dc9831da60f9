#include "demo_processes.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace flyrpc_cli {

struct ChildProcesses::Child {
  flyproc::Child process;
  int fd = -1;  // read end of the child's stdout+stderr pipe; owned by the reader thread
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
  flyproc::SpawnSpec spec;
  spec.argv.push_back(exe_);
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  spec.env = env_;
  spec.die_with_parent = true;

  // Held across the spawn: kill_all() on another thread either sees this
  // child or stops it from being started.
  std::lock_guard lock(mutex_);
  if (closed_) throw std::runtime_error("the demo is stopping; no more nodes are started");
  int fds[2];
  // O_CLOEXEC: later children must not inherit this pipe, or it would never
  // reach end-of-file.
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  }
  spec.stdout_fd = fds[1];
  spec.stderr_fd = fds[1];
  pid_t pid;
  try {
    pid = flyproc::spawn(spec);
  } catch (...) {
    ::close(fds[0]);
    ::close(fds[1]);
    throw;
  }
  ::close(fds[1]);
  auto child = std::make_unique<Child>();
  child->process = flyproc::Child(pid);
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
  return children_.at(child)->process.pid();
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
  children_.at(child)->process.signal(sig);
}

std::optional<int> ChildProcesses::wait_exit(std::size_t child, Clock::time_point deadline) {
  std::optional<int> status;
  // The lock is held for each poll only, not across the pauses in between.
  flyproc::poll_until(
      [&] {
        std::lock_guard lock(mutex_);
        flyproc::Child& c = children_.at(child)->process;
        if (c.poll()) status = c.status();
        return status.has_value();
      },
      deadline);
  return status;
}

std::size_t ChildProcesses::kill_all() {
  std::lock_guard lock(mutex_);
  closed_ = true;
  std::size_t killed = 0;
  for (auto& c : children_) {
    c->process.signal_group(SIGKILL);
    if (c->process.kill_and_reap()) ++killed;
  }
  return killed;
}

}  // namespace flyrpc_cli
