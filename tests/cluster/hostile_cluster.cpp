#include "hostile_cluster.hpp"

#include <sstream>

#include "support/wait.hpp"

namespace flytest {

using namespace std::chrono_literals;

void HostileCluster::start(const std::vector<std::string>& syd_flags) {
  cookie = random_cookie();
  std::vector<std::string> flags = {"--verbose"};
  flags.insert(flags.end(), syd_flags.begin(), syd_flags.end());
  syd = std::make_unique<NodeProcess>(NodeSpec{"syd-1", "syd", {}, flags, {}}, cookie, "syd");
  ASSERT_TRUE(syd->wait_listening(10s)) << syd->err();
  lax = std::make_unique<NodeProcess>(NodeSpec{"lax-1", "lax", {syd->address()}, {}, {}}, cookie,
                                      "syd");
  ASSERT_TRUE(lax->wait_listening(10s)) << lax->err();
  // Up on both sides, without a call: functions_run() starts at 0.
  ASSERT_EVENTUALLY(syd->out().find("up lax-1 ") != std::string::npos, 10000) << syd->out();
  ASSERT_EVENTUALLY(lax->out().find("up syd-1 ") != std::string::npos, 10000) << lax->out();
}

bool HostileCluster::still_serving() {
  if (!syd->process().running()) return false;
  auto r = cli_call(cookie, {"--seeds", lax->address(), "--region", "syd", "--timeout", "5000",
                             "String.upcase", "\"ok\""});
  return r.exit_code == 0 && r.out == "\"OK\"\n";
}

std::size_t HostileCluster::functions_run() const {
  return count_of(syd->err(), "flyrpc RECV");
}

std::string HostileCluster::syd_log_line(const std::string& needle) const {
  std::istringstream in(syd->err());
  std::string line;
  while (std::getline(in, line)) {
    if (line.find(needle) != std::string::npos) return line;
  }
  return "";
}

std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

}  // namespace flytest
