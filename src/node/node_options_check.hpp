#pragma once

#include "fly/node.hpp"

namespace fly::node {

/// Validates every option (throws fly::ConfigError naming it) and fills in
/// the defaults that need the environment (name, cookie file).
void check_options(NodeOptions& options);

}  // namespace fly::node
