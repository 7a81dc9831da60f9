// The cluster cookie when FLY_RPC_COOKIE is not set: a per-user file, like
// ~/.erlang.cookie, created with a random secret on first use.
#pragma once

#include <string>

namespace fly::node {

/// Path of the cookie file: $HOME/.flyrpc.cookie (home from the password
/// database when HOME is unset).
std::string cookie_file_path();

/// Reads the cookie file, creating it (mode 0600, 32 random alphanumerics)
/// if it does not exist. Throws fly::ConfigError naming the file if it
/// cannot be read or created, is empty, or is readable by others.
std::string read_or_create_cookie();

/// Throws fly::ConfigError(setting, ...) unless `cookie` is 1-1024 bytes.
void validate_cookie(const std::string& setting, const std::string& cookie);

}  // namespace fly::node
