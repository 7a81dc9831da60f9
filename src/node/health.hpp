// GET /health of a node (docs/TELEMETRY.md): the report the metrics endpoint
// serves, computed from the node's state. Runs on an I/O thread.
#pragma once

#include "telemetry/metrics_server.hpp"

namespace fly::detail {

struct NodeCore;

/// Healthy once the node has joined (see health.cpp); the body is one line of JSON.
telemetry::HealthReport node_health(NodeCore& c);

}  // namespace fly::detail
