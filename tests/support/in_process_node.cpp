#include "support/in_process_node.hpp"

#include <cctype>
#include <stdexcept>
#include <thread>

#include "fly/this_call.hpp"

namespace flytest {

using namespace std::chrono_literals;

fly::NodeOptions in_process_options(const std::string& name, const std::string& region,
                                    const std::vector<std::string>& seeds,
                                    const std::string& cookie) {
  fly::NodeOptions o;
  o.name = name;
  o.region = region;
  o.primary_region = "syd";
  o.listen_host = "127.0.0.1";
  o.port = 0;
  o.cookie = cookie;
  o.seeds = seeds;
  o.heartbeat_interval = 200ms;
  o.heartbeat_timeout = 1000ms;
  o.reconnect_min = 20ms;
  o.reconnect_max = 200ms;
  return o;
}

std::string seed_of(const fly::Node& node) {
  return "127.0.0.1:" + std::to_string(node.listen_port());
}

void expose_test_functions(fly::Node& node) {
  node.expose("String.upcase", [](std::string s) {
    for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
  });
  node.expose("Kernel.node", [&node] { return node.name(); });
  node.expose("Kernel.+", [](int a, int b) { return a + b; }, {.non_blocking = true});
  node.expose("Kernel.raise", [](std::string m) -> int { throw std::invalid_argument(m); });
  node.expose("Process.sleep", [](int ms) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (std::chrono::steady_clock::now() < until && !fly::this_call::cancelled()) {
      std::this_thread::sleep_for(5ms);  // the function under test sleeps; not synchronisation
    }
  });
  node.expose("Deadline.left",
              [] { return static_cast<int>(fly::this_call::remaining().count()); });
}

}  // namespace flytest
