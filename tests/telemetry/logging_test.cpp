// flyrpc as a good library citizen: its lines go to its own "flyrpc" logger on
// stderr, never to the application's stdout; FLY_RPC_LOG_LEVEL and
// SPDLOG_LEVEL set its level, garbage in them or in FLY_RPC_VERBOSE is an
// error naming the variable, and NodeOptions::logger takes the lines instead.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "base/log.hpp"
#include "fly/node.hpp"
#include "support/in_process_node.hpp"
#include "support/process.hpp"

namespace {

using namespace std::chrono_literals;

const std::vector<std::string> kLogVars = {
    "FLY_RPC_VERBOSE", "FLY_RPC_LOG_LEVEL", "SPDLOG_LEVEL",   "FLY_RPC_SEEDS",
    "FLY_APP_NAME",    "FLY_RPC_DNS_NAME",  "FLY_RPC_METRICS"};

flytest::ProcessResult quiet_node(std::map<std::string, std::string> env) {
  env.emplace("FLY_RPC_COOKIE", "quiet-cookie");  // no ~/.flyrpc.cookie written
  return flytest::run({QUIET_NODE_PATH}, env, kLogVars, 60s);
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(Logging, ALibraryUsersStdoutStaysEmpty) {
  const auto r = quiet_node({{"FLY_RPC_VERBOSE", "1"}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  // The lines are there, on stderr, through the logger named flyrpc.
  EXPECT_TRUE(has(r.err, "[flyrpc] [info] flyrpc: node quiet-syd (syd, primary syd) started"))
      << r.err;
  EXPECT_TRUE(has(r.err, "[flyrpc] [info] flyrpc SEND Test.upcase/1")) << r.err;
  EXPECT_TRUE(has(r.err, "[flyrpc] [info] flyrpc RESP Test.upcase")) << r.err;
  // TIMEOUT at warning level, as the Elixir library logs it as a problem.
  EXPECT_TRUE(has(r.err, "[flyrpc] [warning] flyrpc TIMEOUT Test.block after 100 ms")) << r.err;
}

TEST(Logging, VerboseIsOffByDefault) {
  const auto r = quiet_node({});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(has(r.err, "started")) << r.err;
  EXPECT_FALSE(has(r.err, "flyrpc SEND")) << r.err;
}

TEST(Logging, FlyRpcLogLevelSetsTheLevel) {
  const auto r = quiet_node({{"FLY_RPC_VERBOSE", "yes"}, {"FLY_RPC_LOG_LEVEL", "warn"}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(has(r.err, "[info]")) << r.err;
  EXPECT_TRUE(has(r.err, "[warning] flyrpc TIMEOUT")) << r.err;
  // And it wins over SPDLOG_LEVEL.
  const auto off = quiet_node({{"FLY_RPC_LOG_LEVEL", "off"}, {"SPDLOG_LEVEL", "debug"}});
  EXPECT_EQ(off.exit_code, 0) << off.err;
  EXPECT_EQ(off.err, "");
}

TEST(Logging, SpdlogLevelAsSpdlogReadsIt) {
  auto r = quiet_node({{"FLY_RPC_VERBOSE", "true"}, {"SPDLOG_LEVEL", "error"}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  r = quiet_node({{"FLY_RPC_VERBOSE", "true"}, {"SPDLOG_LEVEL", "INFO,flyrpc=Warn"}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(has(r.err, "[info]")) << r.err;
  EXPECT_TRUE(has(r.err, "[warning] flyrpc TIMEOUT")) << r.err;
}

TEST(Logging, GarbageInALoggingVariableIsAnErrorNamingIt) {
  for (const auto& [var, value] :
       std::vector<std::pair<std::string, std::string>>{{"FLY_RPC_VERBOSE", "maybe"},
                                                        {"FLY_RPC_VERBOSE", "2"},
                                                        {"FLY_RPC_LOG_LEVEL", "loud"},
                                                        {"SPDLOG_LEVEL", "flyrpc=chatty"}}) {
    const auto r = quiet_node({{var, value}});
    EXPECT_EQ(r.exit_code, 2) << var << "=" << value << "\n" << r.err;
    EXPECT_TRUE(has(r.err, var) && has(r.err, value)) << r.err;
    EXPECT_EQ(r.out, "");
  }
  const auto off = quiet_node({{"FLY_RPC_VERBOSE", "no"}});
  EXPECT_EQ(off.exit_code, 0) << off.err;
  EXPECT_FALSE(has(off.err, "flyrpc SEND")) << off.err;
}

TEST(Logging, NodeOptionsLoggerReceivesTheLines) {
  const auto previous = fly::log::get_shared();
  std::ostringstream captured;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(captured);
  auto mine = std::make_shared<spdlog::logger>("my-app", sink);
  auto o = flytest::in_process_options("logger-1", "syd");
  o.logger = mine;
  {
    fly::Node node(o);
    node.start();
    node.stop();
  }
  fly::log::set(previous);
  mine->flush();
  EXPECT_TRUE(has(captured.str(), "flyrpc: node logger-1 (syd, primary syd) started"))
      << captured.str();
  EXPECT_EQ(&fly::log::get(), previous.get());
}

}  // namespace
