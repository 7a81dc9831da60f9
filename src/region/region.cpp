// Region identity from the environment (include/fly/region.hpp has the rules).
#include "fly/region.hpp"

#include <cstdlib>

#include "fly/errors.hpp"

namespace fly {

namespace {

// Returns the variable's value, or nullptr when it is unset or empty.
const char* env_value(const char* name) {
  const char* v = std::getenv(name);
  return (v != nullptr && *v != '\0') ? v : nullptr;
}

}  // namespace

bool is_valid_region(std::string_view code) noexcept {
  if (code.empty() || code.size() > 32) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(code.front())) return false;
  for (char c : code) {
    if (!alnum(c) && c != '-') return false;
  }
  return true;
}

void validate_region(std::string_view setting, std::string_view code) {
  if (!is_valid_region(code)) {
    throw ConfigError(std::string(setting), std::string(code),
                      "a region code is 1-32 lowercase letters, digits or '-', e.g. \"syd\"");
  }
}

RegionIdentity RegionIdentity::from_env() {
  RegionIdentity id;
  if (const char* v = env_value("FLY_REGION")) {
    validate_region("FLY_REGION", v);
    id.my_region = v;
  } else if (const char* m = env_value("MY_REGION")) {
    validate_region("MY_REGION", m);
    id.my_region = m;
  }
  if (const char* p = env_value("PRIMARY_REGION")) {
    validate_region("PRIMARY_REGION", p);
    id.primary_region = p;
  }
  return id;
}

const RegionIdentity& process_identity() {
  // A function-local static: initialised once, thread-safe; if from_env()
  // throws, the next call tries again (and throws again).
  static const RegionIdentity identity = RegionIdentity::from_env();
  return identity;
}

const std::string& my_region() {
  return process_identity().my_region;
}
const std::string& primary_region() {
  return process_identity().primary_region;
}
bool is_primary() {
  return process_identity().is_primary();
}

bool running_on_fly() {
  return env_value("FLY_APP_NAME") != nullptr && env_value("FLY_REGION") != nullptr;
}

}  // namespace fly
