#include "builtins.hpp"

#include <cctype>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "fly/this_call.hpp"

namespace flyrpc_cli {

void expose_builtins(fly::Node& node) {
  // Pure and quick: run inline on the I/O thread.
  const fly::ExposeOptions inline_fn{.non_blocking = true};
  node.expose(
      "String.upcase",
      [](std::string s) {
        for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        return s;
      },
      inline_fn);
  node.expose(
      "Kernel.+", [](std::int64_t a, std::int64_t b) { return a + b; }, inline_fn);
  node.expose(
      "Fly.my_region", [&node] { return node.region(); }, inline_fn);
  node.expose(
      "Fly.primary_region", [&node] { return node.primary_region(); }, inline_fn);
  node.expose(
      "Kernel.node", [&node] { return node.name(); }, inline_fn);
  node.expose(
      "Echo.bytes", [](std::vector<unsigned char> bytes) { return bytes; }, inline_fn);
  node.expose("Fly.region_table", [&node] {
    std::map<std::string, std::vector<std::string>> table;
    for (const auto& n : node.nodes()) table[n.region].push_back(n.name);
    return table;
  });
  // Blocking: on the worker pool. Sleeps in slices so a cancelled call
  // (the caller timed out) stops early.
  node.expose("Process.sleep", [](std::int64_t ms) {
    if (ms < 0 || ms > 3'600'000) throw std::invalid_argument("sleep time must be 0..3600000 ms");
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (std::chrono::steady_clock::now() < until && !fly::this_call::cancelled()) {
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
          std::chrono::milliseconds(10), until - std::chrono::steady_clock::now()));
    }
  });
  node.expose("Kernel.raise",
              [](std::string message) -> void { throw std::runtime_error(message); });
}

}  // namespace flyrpc_cli
