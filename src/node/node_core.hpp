// The Node's state behind its pimpl: everything a node owns, in the order it
// must be built and destroyed. Private to src/node (node.cpp builds and stops
// it; routing, the call path and telemetry read it).
//
// Threading: `options` and the layers are fixed after construction; the
// fields under "state" are guarded by state_mutex; the atomics are read by
// /health on I/O threads.
#pragma once

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/thread_pool.hpp>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "cluster/cluster.hpp"
#include "discovery/dns_poller.hpp"
#include "fly/node.hpp"
#include "rpc/dispatcher.hpp"
#include "telemetry/metrics_server.hpp"
#include "telemetry/node_metrics.hpp"

namespace fly::detail {

struct NodeCore {
  explicit NodeCore(NodeOptions o)
      : options(std::move(o)),
        workers(options.worker_threads),
        work(asio::make_work_guard(io)),
        dispatcher(functions, workers, metrics, options.max_frame_size, options.verbose_logging) {}

  NodeOptions options;
  // Declared first so that they outlive everything that records into them.
  telemetry::Telemetry telemetry;
  telemetry::NodeMetrics metrics;
  FunctionRegistry functions;
  asio::io_context io;
  asio::thread_pool workers;
  asio::executor_work_guard<asio::io_context::executor_type> work;
  rpc::Dispatcher dispatcher;
  std::unique_ptr<cluster::Cluster> cluster;
  std::unique_ptr<discovery::DnsPoller> dns;
  std::vector<std::thread> io_threads;
  /// The /metrics endpoint, when options.metrics_address is set (from start()).
  std::unique_ptr<telemetry::MetricsServer> metrics_server;

  std::mutex state_mutex;
  std::condition_variable io_done;
  std::size_t io_running = 0;
  bool started = false;
  bool stopped = false;

  // For /health (read on the I/O threads without state_mutex, which stop()
  // holds while it stops the endpoint).
  std::atomic<bool> listening{false};     // the cluster listens (set by start())
  std::atomic<bool> stopping{false};      // stop() has begun
  std::atomic<bool> dns_answered{false};  // a DNS poll succeeded (even with only this node)
  std::atomic<bool> joined{false};        // /health said "ok" once: it stays so until stop()
  /// stop() left handlers running that ignored their cancellation: the
  /// worker pool must not be joined by the Node (see ~Node).
  std::atomic<bool> abandoned{false};
};

}  // namespace fly::detail
