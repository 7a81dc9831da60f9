// The functions every `flyrpc node` exports (names fixed by the CLI contract),
// besides the library's own Fly.* built-ins (src/node/builtins.hpp).
#pragma once

#include "fly/node.hpp"

namespace flyrpc_cli {

/// String.upcase(string) -> string, Kernel.+(int, int) -> int (an overflow is
/// an error), Kernel.node() -> string, Process.sleep(ms) -> null (0..3600000),
/// Kernel.raise(message), Echo.bytes(binary) -> binary.
void expose_builtins(fly::Node& node);

}  // namespace flyrpc_cli
