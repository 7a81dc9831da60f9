// The functions every `flyrpc node` exports (names fixed by the CLI contract).
#pragma once

#include "fly/node.hpp"

namespace flyrpc_cli {

/// String.upcase(string) -> string, Kernel.+(int, int) -> int,
/// Fly.my_region() -> string, Fly.primary_region() -> string,
/// Kernel.node() -> string, Process.sleep(ms) -> null, Kernel.raise(message),
/// Echo.bytes(binary) -> binary, Fly.region_table() -> {region: [node]}.
void expose_builtins(fly::Node& node);

}  // namespace flyrpc_cli
