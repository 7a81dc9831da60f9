// A program that uses flyrpc as an application would, for logging_test.cpp:
// NodeOptions::from_env(), two nodes in this process (syd, the primary, and
// lax), calls between them with verbose logging as the environment says, one
// of them timing out, then stop. It writes nothing to stdout itself, so
// whatever appears there came from the library. Exits 0 when every call
// behaved, 2 with the message on stderr when the environment is invalid.
#include <fly/node.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <string>

using namespace std::chrono_literals;

int main() {
  fly::NodeOptions base;
  try {
    base = fly::NodeOptions::from_env();
  } catch (const fly::ConfigError& e) {
    std::fprintf(stderr, "quiet_node: %s\n", e.what());
    return 2;
  }
  base.cookie = "quiet-cookie";
  base.port = 0;
  base.listen_host = "127.0.0.1";
  base.primary_region = "syd";
  base.seeds.clear();
  base.dns_name.clear();
  base.metrics_address.clear();

  auto syd_options = base;
  syd_options.name = "quiet-syd";
  syd_options.region = "syd";
  fly::Node syd(syd_options);
  std::mutex mutex;
  std::condition_variable cv;
  bool released = false;
  syd.expose("Test.upcase", [](std::string s) {
    for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
  });
  syd.expose("Test.block", [&] {
    std::unique_lock lock(mutex);
    cv.wait_for(lock, 30s, [&] { return released; });
    return 0;
  });
  syd.start();

  auto lax_options = base;
  lax_options.name = "quiet-lax";
  lax_options.region = "lax";
  lax_options.seeds = {"127.0.0.1:" + std::to_string(syd.listen_port())};
  fly::Node lax(lax_options);
  lax.start();
  if (!lax.wait_for_region("syd", 10s)) {
    std::fprintf(stderr, "quiet_node: never saw syd\n");
    return 1;
  }
  int status = 0;
  if (lax.rpc_primary<std::string>("Test.upcase", "fly") != "FLY") status = 1;
  try {
    lax.rpc_primary<int>("Test.block", fly::timeout(100ms));
    status = 1;
  } catch (const fly::Timeout&) {
  }
  {
    std::lock_guard lock(mutex);
    released = true;
  }
  cv.notify_all();
  lax.stop();
  syd.stop();
  return status;
}
