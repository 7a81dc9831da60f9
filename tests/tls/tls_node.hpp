// In-process nodes with TLS for the tests in this folder.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "fly/node.hpp"
#include "support/in_process_node.hpp"
#include "support/test_pki.hpp"

namespace tlstest {

/// flytest::in_process_options with `tls` (default: no TLS).
inline fly::NodeOptions tls_node_options(const std::string& name, const std::string& region,
                                         const std::vector<std::string>& seeds,
                                         const fly::TlsOptions& tls = {}) {
  fly::NodeOptions o = flytest::in_process_options(name, region, seeds);
  o.tls = tls;
  return o;
}

/// A started node with the test functions exposed.
inline std::unique_ptr<fly::Node> start_node(fly::NodeOptions options) {
  auto node = std::make_unique<fly::Node>(std::move(options));
  flytest::expose_test_functions(*node);
  node->start();
  return node;
}

/// Options of a hidden node that does not listen (a tool, a client).
inline fly::NodeOptions client_options(const std::string& name,
                                       const std::vector<std::string>& seeds,
                                       const fly::TlsOptions& tls) {
  fly::NodeOptions o = tls_node_options(name, "cli", seeds, tls);
  o.hidden = true;
  o.listen_host.clear();
  return o;
}

}  // namespace tlstest
