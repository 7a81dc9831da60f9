// Where one call goes: run it here, or send it to a connected member.
// Built by Node's routing (src/node/node.cpp), read by the call templates
// (fly/detail/node_impl.hpp, fly/detail/async_impl.hpp).
#pragma once

#include <memory>
#include <string_view>

namespace fly::net {
class Peer;  // a connected member: src/net
}  // namespace fly::net

namespace fly::detail {

class FunctionEntry;  // an exported function: fly/detail/function_entry.hpp

/// Exactly one of `local` and `peer` is set.
struct Route {
  const FunctionEntry* local = nullptr;  ///< this node's own entry; lives as long as the Node
  net::Peer* peer = nullptr;             ///< kept alive by `keep`
  std::shared_ptr<const void> keep;      ///< owns the chosen member while the call runs
  std::string_view node;    ///< the chosen node's name; lives as long as `keep`/the Node
  std::string_view region;  ///< the chosen node's region (metrics); same lifetime
};

}  // namespace fly::detail
