// fly_service: a long-running flyrpc node, configured by the environment
// alone, as deployed on Fly.io by deploy/ (docs/DEPLOY.md). Every machine of
// the app runs it; each exposes
//
//   Fly.region()          -> this machine's region
//   Fly.whoami()          -> {"node", "region", "primary_region", "is_primary"}
//   Notes.add(text)       -> how many notes the primary holds: runs on the
//                            primary only (the "writable database" of the app)
//   Notes.count()         -> the same count, read on the primary
//
// and Notes.add / Notes.count called on any machine are forwarded to a node of
// the primary region with rpc_primary, as a Fly app forwards its writes. It
// stops cleanly (drain, goodbye) on SIGTERM or SIGINT, which is what Fly
// sends before it stops a machine.
#include <fly/node.hpp>
#include <fly/version.hpp>

#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace {

// The primary's state. Only the primary region's nodes write it.
struct Notes {
  std::mutex mutex;
  std::vector<std::string> texts;
};

}  // namespace

int main() {
  // Block the stop signals in every thread (the node's threads inherit the
  // mask), so that only sigwait below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  fly::NodeOptions options;
  try {
    options = fly::NodeOptions::from_env();
  } catch (const fly::ConfigError& e) {
    std::fprintf(stderr, "fly_service: %s\n", e.what());
    return 2;
  }
  try {
    fly::Node node(options);
    Notes notes;
    node.expose("Fly.region", [&node] { return node.region(); });
    node.expose("Fly.whoami", [&node] {
      return std::map<std::string, std::string>{
          {"node", node.name()},
          {"region", node.region()},
          {"primary_region", node.primary_region()},
          {"is_primary", node.is_primary() ? "true" : "false"}};
    });
    node.expose("Notes.add", [&node, &notes](std::string text) -> std::size_t {
      if (!node.is_primary()) return node.rpc_primary<std::size_t>("Notes.add", text);
      std::lock_guard lock(notes.mutex);
      notes.texts.push_back(std::move(text));
      return notes.texts.size();
    });
    node.expose("Notes.count", [&node, &notes]() -> std::size_t {
      if (!node.is_primary()) return node.rpc_primary<std::size_t>("Notes.count");
      std::lock_guard lock(notes.mutex);
      return notes.texts.size();
    });
    node.start();
    std::fprintf(stderr, "fly_service: flyrpc %s, node %s in %s (primary %s), port %u\n",
                 std::string(fly::version()).c_str(), node.name().c_str(), node.region().c_str(),
                 node.primary_region().c_str(), static_cast<unsigned>(node.listen_port()));
    int signal = 0;
    sigwait(&stop_signals, &signal);
    std::fprintf(stderr, "fly_service: signal %d, stopping\n", signal);
    node.stop();
    return 0;
  } catch (const fly::Error& e) {
    std::fprintf(stderr, "fly_service: %s\n", e.what());
    return 1;
  }
}
