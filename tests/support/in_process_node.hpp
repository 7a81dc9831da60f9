// fly::Node instances inside a test process, over real loopback sockets: the
// options every such test starts from, the address another node seeds with,
// and the small set of functions the tests call. One place, so that the rpc,
// telemetry and cluster tests build their in-process nodes the same way.
#pragma once

#include <string>
#include <vector>

#include "fly/node.hpp"

namespace flytest {

/// Options for an in-process node named `name` in `region` (primary "syd"),
/// listening on 127.0.0.1 at a free port, joining `seeds`, with `cookie`.
/// Heartbeats (200 ms, timeout 1 s) and reconnects (20..200 ms) are short, so
/// tests see joins and failures within a second or two.
fly::NodeOptions in_process_options(const std::string& name, const std::string& region,
                                    const std::vector<std::string>& seeds = {},
                                    const std::string& cookie = "test-cookie");

/// "127.0.0.1:<port>" of a started, listening node: the seed for another.
std::string seed_of(const fly::Node& node);

/// Exposes String.upcase, Kernel.node, Kernel.+ (non-blocking), Kernel.raise
/// (throws std::invalid_argument with its argument), Process.sleep (ms; ends
/// early when the call is cancelled) and Deadline.left (ms left of the call).
/// `node` must outlive its calls (Kernel.node reads its name).
void expose_test_functions(fly::Node& node);

}  // namespace flytest
