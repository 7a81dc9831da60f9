#include "support/process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <utility>

extern char** environ;

namespace flytest {

namespace {
std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string temp_path(const char* what) {
  std::string tmpl = std::string("/tmp/flyrpc-test-") + what + "-XXXXXX";
  int fd = ::mkstemp(tmpl.data());
  if (fd < 0) throw std::runtime_error("mkstemp failed");
  ::close(fd);
  return tmpl;
}
}  // namespace

Process Process::spawn(const std::vector<std::string>& argv,
                       const std::map<std::string, std::string>& env,
                       const std::vector<std::string>& unset) {
  Process p;
  p.out_path_ = temp_path("out");
  p.err_path_ = temp_path("err");

  std::map<std::string, std::string> merged;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv(*e);
    auto eq = kv.find('=');
    if (eq != std::string::npos) merged[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& name : unset) merged.erase(name);
  for (const auto& [k, v] : env) merged[k] = v;
  flyproc::SpawnSpec spec;
  spec.argv = argv;
  for (const auto& [k, v] : merged) spec.env.push_back(k + "=" + v);
  const int out = ::open(p.out_path_.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  const int err = ::open(p.err_path_.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  spec.stdout_fd = out;
  spec.stderr_fd = err;
  try {
    if (out < 0 || err < 0) throw std::runtime_error("cannot open the output files");
    p.child_ = flyproc::Child(flyproc::spawn(spec));
  } catch (const std::exception& e) {
    if (out >= 0) ::close(out);
    if (err >= 0) ::close(err);
    throw std::runtime_error("spawn " + argv.at(0) + ": " + e.what());
  }
  ::close(out);
  ::close(err);
  return p;
}

Process::Process(Process&& o) noexcept {
  *this = std::move(o);
}

Process& Process::operator=(Process&& o) noexcept {
  if (this != &o) {
    child_ = std::move(o.child_);
    collected_ = std::exchange(o.collected_, false);
    result_ = std::move(o.result_);
    out_path_ = std::move(o.out_path_);
    err_path_ = std::move(o.err_path_);
    o.out_path_.clear();
    o.err_path_.clear();
  }
  return *this;
}

Process::~Process() {
  child_.kill_and_reap();
  if (!out_path_.empty()) ::unlink(out_path_.c_str());
  if (!err_path_.empty()) ::unlink(err_path_.c_str());
}

void Process::collect() {
  if (collected_) return;
  collected_ = true;
  const int status = child_.status();
  if (WIFEXITED(status)) {
    result_.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result_.signal = WTERMSIG(status);
  }
  result_.out = read_file(out_path_);
  result_.err = read_file(err_path_);
}

bool Process::running() {
  if (child_.pid() <= 0) return false;
  if (!child_.poll()) return true;
  collect();
  return false;
}

void Process::signal(int sig) {
  child_.signal(sig);
}

std::optional<ProcessResult> Process::wait_for(std::chrono::milliseconds timeout) {
  if (!flyproc::poll_until([&] { return !running(); },
                           std::chrono::steady_clock::now() + timeout)) {
    return std::nullopt;
  }
  if (!collected_) return std::nullopt;
  return result_;
}

std::string Process::stdout_text() const {
  return read_file(out_path_);
}
std::string Process::stderr_text() const {
  return read_file(err_path_);
}

ProcessResult run(const std::vector<std::string>& argv,
                  const std::map<std::string, std::string>& env,
                  const std::vector<std::string>& unset, std::chrono::milliseconds timeout) {
  Process p = Process::spawn(argv, env, unset);
  if (auto r = p.wait_for(timeout)) return *r;
  p.signal(SIGKILL);
  auto r = p.wait_for(std::chrono::seconds(5));
  ProcessResult killed = r.value_or(ProcessResult{});
  killed.err += "\n[test harness: killed after timeout]";
  return killed;
}

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

}  // namespace flytest
