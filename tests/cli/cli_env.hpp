// Running the real flyrpc binary from a test with a controlled environment:
// nothing from the test's own environment says where a cluster is, what
// region this is, or how loud to log, unless the test passes it.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "support/process.hpp"

namespace clitest {

/// Variables that would change what the CLI does, removed unless given.
inline const std::vector<std::string> kClusterEnv = {"FLY_RPC_SEEDS",
                                                     "FLY_APP_NAME",
                                                     "FLY_RPC_DNS_NAME",
                                                     "FLY_RPC_DNS_SERVER",
                                                     "FLY_RPC_PORT",
                                                     "FLY_REGION",
                                                     "MY_REGION",
                                                     "PRIMARY_REGION",
                                                     "FLY_RPC_VERBOSE",
                                                     "SPDLOG_LEVEL",
                                                     "FLY_PRIVATE_IP",
                                                     "FLY_RPC_METRICS",
                                                     "FLY_RPC_LAZY_CONNECTIONS"};

/// `flyrpc <args...>` with `env` added to a cleaned environment.
inline flytest::ProcessResult flyrpc(const std::vector<std::string>& args,
                                     const std::map<std::string, std::string>& env,
                                     std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  std::vector<std::string> argv = {FLYRPC_CLI_PATH};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<std::string> unset;
  for (const auto& v : kClusterEnv) {
    if (env.count(v) == 0) unset.push_back(v);
  }
  return flytest::run(argv, env, unset, timeout);
}

/// For EXPECT_TRUE: the command exited 0 and printed exactly `out` on stdout;
/// else what it did instead (its exit status, stdout and stderr).
inline ::testing::AssertionResult printed(const flytest::ProcessResult& r, const std::string& out) {
  if (r.exit_code == 0 && r.out == out) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "expected exit 0 and stdout \"" << out << "\", got exit " << r.exit_code
         << " and stdout \"" << r.out << "\"; stderr: " << r.err;
}

}  // namespace clitest
