#include "support/slack.hpp"

#include <cstdlib>
#include <iostream>

namespace flytest {

namespace {
int read_factor() {
  const char* env = std::getenv("FLYRPC_TEST_SLACK");
  if (env != nullptr && *env != '\0') {
    char* end = nullptr;
    const long n = std::strtol(env, &end, 10);
    if (*end == '\0' && n >= 1 && n <= 1000) return static_cast<int>(n);
    // A typo must not silently leave the bounds unscaled (or scaled by 0).
    std::cerr << "FLYRPC_TEST_SLACK=" << env << " is not a factor from 1 to 1000\n";
    std::abort();
  }
  return kSanitized ? 3 : 1;
}
}  // namespace

int slack_factor() {
  static const int factor = read_factor();
  return factor;
}

std::chrono::milliseconds slack(std::chrono::milliseconds bound) {
  return bound * slack_factor();
}

}  // namespace flytest
