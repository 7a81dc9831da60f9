// Region identity: which region this process runs in, which region is the
// primary, and whether they are the same. The rules are those of the Elixir
// Fly RPC library:
//
//   my region       FLY_REGION, else MY_REGION, else "local"
//   primary region  PRIMARY_REGION, else "local"
//   is primary      my region == primary region
//
// An empty variable counts as unset (shells often export `FLY_REGION=`).
// A set value must be a region code: 1 to 32 characters of lowercase ASCII
// letters, digits and '-', starting with a letter or digit ("syd", "lax",
// "us-east-1"). Anything else is a fly::ConfigError naming the variable, so a
// typo fails at start-up instead of silently routing nowhere.
#pragma once

#include <string>
#include <string_view>

namespace fly {

/// Tag that stands for the primary region in rpc_region(fly::primary, ...),
/// like `:primary` in Elixir.
struct primary_t {
  explicit primary_t() = default;
};
inline constexpr primary_t primary{};

/// The region identity of a process. Cheap to copy.
struct RegionIdentity {
  std::string my_region = "local";
  std::string primary_region = "local";

  bool is_primary() const noexcept { return my_region == primary_region; }

  /// Reads FLY_REGION / MY_REGION / PRIMARY_REGION now. Throws fly::ConfigError
  /// for a malformed value.
  static RegionIdentity from_env();
};

/// The process-wide identity, read from the environment on first use and then
/// fixed for the life of the process (the environment of a deployed instance
/// does not change). Thread-safe. Throws fly::ConfigError on first use if a
/// variable is malformed.
const RegionIdentity& process_identity();

/// This process's region ("syd"), per the rules above.
const std::string& my_region();
/// The primary region, per the rules above.
const std::string& primary_region();
/// True when this process runs in the primary region.
bool is_primary();
/// True when running on Fly.io (FLY_APP_NAME and FLY_REGION are both set).
bool running_on_fly();

/// True if `code` is a valid region code (see above).
bool is_valid_region(std::string_view code) noexcept;

/// Throws fly::ConfigError naming `setting` unless `code` is a valid region.
void validate_region(std::string_view setting, std::string_view code);

}  // namespace fly
