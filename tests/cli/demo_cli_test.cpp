// `flyrpc demo` through the real binary: every step behaves, and nothing is
// left running — also when it is interrupted.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "support/process.hpp"
#include "support/wait.hpp"

namespace {

using namespace std::chrono_literals;

// Each run gets a unique value of this variable; the demo passes its
// environment on to its nodes, so /proc/*/environ finds them (and nothing else).
constexpr const char* kMarkVar = "FLYRPC_DEMO_TEST_MARK";

std::string unique_mark() {
  std::random_device rd;
  return "demo-test-" + std::to_string(::getpid()) + "-" + std::to_string(rd());
}

std::map<std::string, std::string> demo_env(const std::string& mark) {
  // Plain text: a pipe is not a terminal, and no UTF-8 locale means "ok"/"FAIL".
  return {{kMarkVar, mark}, {"LC_ALL", "C"}};
}

// Processes (other than `except`) whose environment carries `mark`.
std::vector<pid_t> processes_with_mark(const std::string& mark, pid_t except) {
  const std::string needle = std::string(kMarkVar) + "=" + mark;
  std::vector<pid_t> found;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename();
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    const pid_t pid = std::stoi(name);
    if (pid == except) continue;
    std::ifstream in(entry.path() / "environ", std::ios::binary);
    const std::string env((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // Each variable is NUL-terminated.
    std::size_t at = 0;
    for (std::size_t end; (end = env.find('\0', at)) != std::string::npos; at = end + 1) {
      if (env.compare(at, end - at, needle) == 0) {
        found.push_back(pid);
        break;
      }
    }
  }
  return found;
}

bool contains(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

TEST(DemoCli, EveryStepBehavesAndItExitsZero) {
  const std::string mark = unique_mark();
  auto r = flytest::run({FLYRPC_CLI_PATH, "demo"}, demo_env(mark), {}, 60s);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  for (const char* marker : {"[start]", "[1/8]", "[2/8]", "[3/8]", "[4/8]", "[5/8]", "[6/8]",
                             "[7/8]", "[8/8]", "[stop]"}) {
    EXPECT_TRUE(contains(r.out, marker)) << "missing " << marker << "\n" << r.out;
  }
  // One line per step's outcome, as the user reads them.
  for (const char* outcome : {
           "ok demo connected to all 5 other nodes",
           "ok all 6 tables agree: 6 nodes in 3 regions",
           "ok every call ran on a node of the region asked for",
           "ok rpc_primary ran on syd-",
           "ok Demo.where ran in this process, on the calling thread",
           "ok fly::Timeout after",
           "ok the error came back typed, from hkg-1",
           "ok the in-flight call failed with fly::NodeDown",
           "ok hkg-1 left all 5 tables",
           "ok rpc_region(\"hkg\") now fails with fly::NoNodeInRegion",
           "ok all 2000 calls returned \"FLY\"",
           "ok 4 of 4 nodes left gracefully (exit 0)",
           "ok all 10 steps behaved as expected",
       }) {
    EXPECT_TRUE(contains(r.out, outcome)) << "missing: " << outcome << "\n" << r.out;
  }
  // The commands a user could type.
  EXPECT_TRUE(contains(r.out, "$ flyrpc call --seeds 127.0.0.1:")) << r.out;
  EXPECT_TRUE(contains(r.out, "--region hkg String.upcase '\"fly\"'")) << r.out;
  EXPECT_FALSE(contains(r.out, "FAIL")) << r.out;
  EXPECT_FALSE(contains(r.out, "\x1b[")) << "colour on a pipe:\n" << r.out;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(processes_with_mark(mark, -1), std::vector<pid_t>{});
}

// Ctrl-C (SIGINT) or SIGTERM mid-run: exit 128+signal, every node killed and reaped.
void interrupt_mid_run(int sig, const char* wait_for) {
  const std::string mark = unique_mark();
  // A burst long enough that the demo cannot finish before the signal lands.
  auto demo =
      flytest::Process::spawn({FLYRPC_CLI_PATH, "demo", "--calls", "1000000"}, demo_env(mark));
  ASSERT_EVENTUALLY(contains(demo.stdout_text(), wait_for), 30000) << demo.stdout_text();
  // The scan does see the cluster: five node processes.
  EXPECT_EQ(processes_with_mark(mark, demo.pid()).size(), 5u) << demo.stdout_text();

  demo.signal(sig);
  auto r = demo.wait_for(20s);
  ASSERT_TRUE(r.has_value()) << "the demo did not exit after the signal";
  EXPECT_EQ(r->exit_code, 128 + sig) << r->out << r->err;
  EXPECT_TRUE(contains(r->out, "interrupted by SIG")) << r->out;
  EXPECT_TRUE(contains(r->out, "none is left running")) << r->out;
  // Killed and reaped before the demo exited: gone now, not eventually.
  EXPECT_EQ(processes_with_mark(mark, demo.pid()), std::vector<pid_t>{});
}

TEST(DemoCli, CtrlCAsSoonAsTheClusterIsUpLeavesNoProcessBehind) {
  interrupt_mid_run(SIGINT, "[1/8]");
}

TEST(DemoCli, SigtermDuringTheBurstLeavesNoProcessBehind) {
  // Step 7 has killed hkg-1 by then: four nodes left, plus the calls in flight.
  const std::string mark = unique_mark();
  auto demo =
      flytest::Process::spawn({FLYRPC_CLI_PATH, "demo", "--calls", "1000000"}, demo_env(mark));
  ASSERT_EVENTUALLY(contains(demo.stdout_text(), "[8/8]"), 30000) << demo.stdout_text();
  EXPECT_EQ(processes_with_mark(mark, demo.pid()).size(), 4u) << demo.stdout_text();
  demo.signal(SIGTERM);
  auto r = demo.wait_for(20s);
  ASSERT_TRUE(r.has_value()) << "the demo did not exit after SIGTERM";
  EXPECT_EQ(r->exit_code, 128 + SIGTERM) << r->out << r->err;
  EXPECT_EQ(processes_with_mark(mark, demo.pid()), std::vector<pid_t>{});
}

TEST(DemoCli, KeepLeavesTheClusterUpUntilCtrlCThenStopsItGracefully) {
  const std::string mark = unique_mark();
  auto demo = flytest::Process::spawn({FLYRPC_CLI_PATH, "demo", "--keep", "--calls", "100"},
                                      demo_env(mark));
  ASSERT_EVENTUALLY(contains(demo.stdout_text(), "Press Ctrl-C to stop it."), 30000)
      << demo.stdout_text();
  const std::string out = demo.stdout_text();
  EXPECT_TRUE(contains(out, "export FLY_RPC_COOKIE=")) << out;
  EXPECT_EQ(processes_with_mark(mark, demo.pid()).size(), 4u) << out;
  demo.signal(SIGINT);
  auto r = demo.wait_for(20s);
  ASSERT_TRUE(r.has_value()) << "the demo did not exit after Ctrl-C";
  EXPECT_EQ(r->exit_code, 0) << r->out << r->err;
  EXPECT_TRUE(contains(r->out, "ok 4 of 4 nodes left gracefully (exit 0)")) << r->out;
  EXPECT_TRUE(contains(r->out, "ok all 10 steps behaved as expected")) << r->out;
  EXPECT_EQ(processes_with_mark(mark, demo.pid()), std::vector<pid_t>{});
}

TEST(DemoCli, HelpHasExamplesAndBadFlagsAreUsageErrors) {
  auto help = flytest::run({FLYRPC_CLI_PATH, "demo", "--help"});
  EXPECT_EQ(help.exit_code, 0) << help.err;
  EXPECT_TRUE(contains(help.out, "Examples:")) << help.out;
  EXPECT_TRUE(contains(help.out, "flyrpc demo --keep")) << help.out;
  EXPECT_TRUE(contains(help.out, "Exit status")) << help.out;

  auto bad = flytest::run({FLYRPC_CLI_PATH, "demo", "--calls", "0"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_TRUE(contains(bad.err, "--calls")) << bad.err;
}

}  // namespace
