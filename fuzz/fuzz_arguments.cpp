// FunctionRegistry::invoke with arbitrary argument bytes: the path a remote
// CALL's args take. It may only ever throw fly::Error subclasses
// (BadArguments, RemoteError, UnknownFunction); anything else is a bug.
//
// Input byte 0 picks the function; the rest are the msgpack-encoded args.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "fly/errors.hpp"
#include "fly/function.hpp"

namespace {

struct Point {
  int x = 0;
  double y = 0;
  std::string label;
  std::vector<std::uint8_t> tags;
  MSGPACK_DEFINE(x, y, label, tags);
};

const fly::FunctionRegistry& registry() {
  static fly::FunctionRegistry* reg = [] {
    auto* r = new fly::FunctionRegistry;
    // Widened, so that the harness itself has no signed overflow for UBSan to
    // report: only the library's code is under test.
    r->expose("Kernel.+", [](int a, int b) { return std::int64_t{a} + b; });
    r->expose("String.upcase", [](std::string s) {
      for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      return s;
    });
    r->expose("Stats.sum", [](const std::vector<double>& v) {
      double s = 0;
      for (double d : v) s += d;
      return s;
    });
    r->expose("Map.size",
              [](const std::map<std::string, std::vector<int>>& m) { return m.size(); });
    r->expose("Point.shift", [](Point p, std::int64_t dx) {
      p.x = static_cast<int>(static_cast<unsigned>(p.x) + static_cast<unsigned>(dx & 0xffff));
      return p;
    });
    r->expose("Tuple.swap", [](std::tuple<bool, std::string, std::uint16_t> t) {
      return std::make_tuple(std::get<2>(t), std::get<1>(t), !std::get<0>(t));
    });
    r->expose("Maybe.get", [](std::optional<std::string> s) { return s.value_or("none"); });
    r->expose("Bytes.len", [](const std::vector<char>& b) { return b.size(); });
    r->expose("Kernel.raise", [](const std::string& m) -> int {
      if (m.size() % 2) throw std::invalid_argument(m);
      return 1;
    });
    r->expose("Nothing.do", []() {});
    return r;
  }();
  return *reg;
}

const char* const kNames[] = {"Kernel.+",     "String.upcase", "Stats.sum", "Map.size",
                              "Point.shift",  "Tuple.swap",    "Maybe.get", "Bytes.len",
                              "Kernel.raise", "Nothing.do",    "No.such"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const char* name = kNames[data[0] % (sizeof kNames / sizeof kNames[0])];
  std::vector<char> args(data + 1, data + size);  // exact size: ASan sees overreads
  fly::detail::Buffer out;
  try {
    registry().invoke(name, std::span<const char>(args.data(), args.size()), out);
  } catch (const fly::Error&) {
    // The only acceptable failure.
  } catch (const std::exception& e) {
    std::fprintf(stderr, "non-fly exception from %s: %s\n", name, e.what());
    std::abort();
  } catch (...) {
    std::fprintf(stderr, "non-std exception from %s\n", name);
    std::abort();
  }
  return 0;
}
