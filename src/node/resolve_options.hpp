// Turning the NodeOptions a user gave into the ones a node runs with.
#pragma once

#include "fly/node_options.hpp"

namespace fly::node {

/// Fills in the defaults that need the environment — the name
/// ("<host>-<pid>" when empty) and the cookie (~/.flyrpc.cookie, created with
/// a random secret on first use) — then validates every option. Throws
/// fly::ConfigError naming the first bad one; `options` may then be partly
/// filled. Called once, by the Node's constructor.
void resolve_options(NodeOptions& options);

}  // namespace fly::node
