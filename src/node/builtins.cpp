#include "node/builtins.hpp"

#include <msgpack.hpp>

#include <map>
#include <string>
#include <vector>

#include "fly/node.hpp"

namespace fly::node {
namespace {
// One row of Fly.nodes: a msgpack map, so that a reader (the CLI's JSON
// output) sees the field names.
struct NodeRow {
  std::string name;
  std::string region;
  std::string address;
  std::vector<std::string> functions;
  MSGPACK_DEFINE_MAP(name, region, address, functions);
};
}  // namespace
}  // namespace fly::node

namespace fly {
template <>
struct TypeName<node::NodeRow> {
  static std::string get() { return "{name, region, address, functions}"; }
};
}  // namespace fly

namespace fly::node {

void expose_builtins(Node& node) {
  // Registered straight into the registry: the constructor runs before any
  // peer could be told (start() announces them with everything else).
  const ExposeOptions inline_fn{.non_blocking = true};
  FunctionRegistry& functions = node.functions();
  functions.expose(
      "Fly.my_region", [&node] { return node.region(); }, inline_fn);
  functions.expose(
      "Fly.primary_region", [&node] { return node.primary_region(); }, inline_fn);
  functions.expose(
      "Fly.region_table",
      [&node] {
        std::map<std::string, std::vector<std::string>> table;
        for (const auto& n : node.nodes()) table[n.region].push_back(n.name);
        return table;
      },
      inline_fn);
  functions.expose(
      "Fly.nodes",
      [&node] {
        std::vector<NodeRow> rows;
        for (auto& n : node.nodes()) {
          rows.push_back({std::move(n.name), std::move(n.region), std::move(n.address),
                          std::move(n.functions)});
        }
        return rows;
      },
      inline_fn);
}

}  // namespace fly::node
