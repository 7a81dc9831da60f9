// A node out of file descriptors: a `flyrpc node` under a low RLIMIT_NOFILE
// with more idle connections held open than it can accept. Its accept loop
// must back off (CPU time stays low, measured from /proc/<pid>/stat, not from
// latency), say so at most about once a second, and recover by itself once
// the connections go away. Needs no root: the limit is set with `ulimit -n`
// in the child's shell.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "support/cluster_harness.hpp"
#include "support/process.hpp"
#include "support/wait.hpp"

namespace {

using namespace std::chrono_literals;

// utime + stime of `pid`, in seconds.
double cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Fields after the command name, which is in parentheses and may hold spaces.
  std::istringstream rest(stat.substr(stat.rfind(')') + 2));
  std::string field;
  unsigned long long utime = 0;
  unsigned long long stime = 0;
  for (int i = 3; i <= 15; ++i) {
    rest >> field;
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

std::size_t open_fds(pid_t pid) {
  std::error_code ec;
  std::size_t n = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++n;
  }
  return n;
}

std::size_t count_lines_with(const std::string& text, const std::string& word) {
  std::istringstream in(text);
  std::string line;
  std::size_t n = 0;
  while (std::getline(in, line)) n += line.find(word) != std::string::npos;
  return n;
}

int connect_to(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// The node's UBSAN_OPTIONS: the caller's, plus the suppression of UBSan's own
// false report when its vptr probe cannot open a pipe (see the file).
std::string ubsan_options() {
  const char* inherited = std::getenv("UBSAN_OPTIONS");
  std::string options = inherited != nullptr ? inherited : "";
  if (!options.empty()) options += ':';
  return options + "suppressions=" FLYRPC_SOURCE_DIR "/tests/sanitizers/ubsan_fd_exhaustion.supp";
}

TEST(FdExhaustion, TheAcceptLoopBacksOffLogsRarelyAndRecovers) {
  constexpr int kLimit = 48;
  constexpr int kIdle = 150;
  const std::string cookie = flytest::random_cookie();
  const int port = flytest::free_port();
  // A long handshake timeout: the idle connections the node did accept stay
  // open, so it stays out of descriptors for the whole measurement.
  auto node = flytest::Process::spawn(
      {"/bin/sh", "-c", "ulimit -n " + std::to_string(kLimit) + " && exec \"$0\" \"$@\"",
       FLYRPC_CLI_PATH, "node", "--name", "fd-1", "--region", "fra", "--primary", "fra", "--listen",
       "127.0.0.1:" + std::to_string(port), "--handshake-timeout-ms", "60000"},
      {{"FLY_RPC_COOKIE", cookie}, {"UBSAN_OPTIONS", ubsan_options()}},
      {"FLY_REGION", "MY_REGION", "PRIMARY_REGION", "FLY_RPC_SEEDS", "FLY_APP_NAME",
       "FLY_RPC_DNS_NAME"});
  ASSERT_EVENTUALLY(node.stdout_text().find("listening") != std::string::npos, 10000)
      << node.stderr_text();

  std::vector<int> idle;
  for (int i = 0; i < kIdle; ++i) {
    const int fd = connect_to(port);
    ASSERT_GE(fd, 0) << "connection " << i << ": " << std::strerror(errno);
    idle.push_back(fd);
  }
  // The node has taken every descriptor it may have.
  ASSERT_EVENTUALLY(open_fds(node.pid()) >= static_cast<std::size_t>(kLimit) - 1, 10000)
      << open_fds(node.pid()) << " descriptors open";

  // A measurement window (not synchronisation): out of descriptors, with the
  // backlog full of connections it cannot accept, the node must stay idle.
  const std::size_t lines_before = count_lines_with(node.stderr_text(), "accept");
  const double cpu0 = cpu_seconds(node.pid());
  const auto t0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(3s);
  const double window =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double cpu = cpu_seconds(node.pid()) - cpu0;
  const std::size_t lines = count_lines_with(node.stderr_text(), "accept") - lines_before;
  EXPECT_LT(cpu, 0.15 * window) << cpu << " s of CPU in " << window << " s (a spinning loop)";
  // It says so, at most about once a second.
  EXPECT_GE(count_lines_with(node.stderr_text(), "accept"), 1u) << node.stderr_text();
  EXPECT_LE(lines, static_cast<std::size_t>(window) + 2) << node.stderr_text();
  EXPECT_NE(node.stderr_text().find("Too many open files"), std::string::npos)
      << node.stderr_text();
  // Recognised as running out of descriptors (the long pause), not as one
  // failed connection.
  EXPECT_NE(node.stderr_text().find("ulimit -n"), std::string::npos) << node.stderr_text();

  // The connections go away; the node recovers by itself and serves a call.
  for (int fd : idle) ::close(fd);
  EXPECT_EVENTUALLY(flytest::cli_call(cookie,
                                      {"--seeds", "127.0.0.1:" + std::to_string(port), "--region",
                                       "fra", "--timeout", "3000", "Kernel.node"},
                                      10s)
                            .exit_code == 0,
                    30000)
      << node.stderr_text();
  EXPECT_TRUE(node.running());
}

}  // namespace
