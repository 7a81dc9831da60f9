// The eight steps of `flyrpc demo`, in the order they run. Each narrates what
// it does on ctx.out, shows a command that does the same by hand, and records
// its checks there; a fly::Error or other exception escaping a step is
// recorded by the caller as a failed check of that step.
//
// Called from the demo's main thread; a step may start threads of its own and
// joins them before returning.
#pragma once

#include "demo_cluster.hpp"

namespace flyrpc_cli {

/// 1. Fly.region_table on every node; they must all agree.
void step_region_tables(DemoContext& ctx);
/// 2. rpc_region to each region: which node answered, and String.upcase.
void step_rpc_region(DemoContext& ctx);
/// 3. rpc_primary from this node, which is not in the primary region.
void step_rpc_primary(DemoContext& ctx);
/// 4. A call to this node's own region runs in the calling thread.
void step_local_call(DemoContext& ctx);
/// 5. Process.sleep(2000) with a 300 ms timeout: fly::Timeout.
void step_timeout(DemoContext& ctx);
/// 6. Kernel.raise("boom"): fly::RemoteError with node, type and message.
void step_remote_error(DemoContext& ctx);
/// 7. SIGKILL a node while a call to it is in flight: fly::NodeDown at once,
/// and every table drops the node.
void step_node_killed(DemoContext& ctx);
/// 8. A burst of calls from several threads: latency percentiles, calls/s.
void step_burst(DemoContext& ctx);

}  // namespace flyrpc_cli
