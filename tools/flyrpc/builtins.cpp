#include "builtins.hpp"

#include <cctype>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "fly/this_call.hpp"

namespace flyrpc_cli {

namespace {
// Checked: a sum that does not fit is an error for the caller, never a
// wrapped (undefined) result.
std::int64_t checked_add(std::int64_t a, std::int64_t b) {
  std::int64_t sum = 0;
  if (__builtin_add_overflow(a, b, &sum)) {
    throw std::overflow_error(std::to_string(a) + " + " + std::to_string(b) +
                              " does not fit in a 64-bit signed integer");
  }
  return sum;
}

constexpr std::int64_t kMaxSleepMs = 3'600'000;
}  // namespace

void expose_builtins(fly::Node& node) {
  // Fly.my_region, Fly.primary_region, Fly.region_table and Fly.nodes are the
  // library's own (every fly::Node exports them: src/node/builtins.hpp).
  // Pure and quick: run inline on the I/O thread.
  const fly::ExposeOptions inline_fn{.non_blocking = true};
  node.expose(
      "String.upcase",
      [](std::string s) {
        for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        return s;
      },
      inline_fn);
  node.expose("Kernel.+", checked_add, inline_fn);
  node.expose(
      "Kernel.node", [&node] { return node.name(); }, inline_fn);
  // Its result is exactly as large as its argument, which the frame limit
  // already bounds; a result that does not fit a frame is the library's error.
  node.expose(
      "Echo.bytes", [](std::vector<unsigned char> bytes) { return bytes; }, inline_fn);
  // Blocking: on the worker pool. Sleeps in slices so a cancelled call
  // (the caller timed out) stops early.
  node.expose("Process.sleep", [](std::int64_t ms) {
    if (ms < 0 || ms > kMaxSleepMs) {
      throw std::invalid_argument("sleep time must be 0.." + std::to_string(kMaxSleepMs) +
                                  " ms, got " + std::to_string(ms));
    }
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
