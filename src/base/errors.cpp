// Messages of the public exception types. Each message is one line that says
// what happened and what to look at, because it is what users see in logs.
#include "fly/errors.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace fly {

const char* to_string(Errc code) noexcept {
  switch (code) {
    case Errc::ok:
      return "ok";
    case Errc::no_node_in_region:
      return "no_node_in_region";
    case Errc::unknown_function:
      return "unknown_function";
    case Errc::bad_arguments:
      return "bad_arguments";
    case Errc::remote_error:
      return "remote_error";
    case Errc::timeout:
      return "timeout";
    case Errc::node_down:
      return "node_down";
    case Errc::cancelled:
      return "cancelled";
    case Errc::unavailable:
      return "unavailable";
    case Errc::config:
      return "config";
    case Errc::protocol:
      return "protocol";
    case Errc::not_connected:
      return "not_connected";
  }
  return "unknown";
}

namespace {
std::string no_node_message(const std::string& region, const std::vector<std::string>& available) {
  if (available.empty()) {
    return fmt::format("no node found running in region \"{}\" (no region has a visible node yet)",
                       region);
  }
  return fmt::format("no node found running in region \"{}\" (regions with nodes: {})", region,
                     fmt::join(available, ", "));
}
}  // namespace

NoNodeInRegion::NoNodeInRegion(std::string region, std::vector<std::string> available_regions)
    : Error(Errc::no_node_in_region, no_node_message(region, available_regions)),
      region_(std::move(region)),
      available_(std::move(available_regions)) {}

UnknownFunction::UnknownFunction(std::string function, std::string target)
    : Error(Errc::unknown_function,
            fmt::format("unknown function \"{}\": not exported by {}", function, target)),
      function_(std::move(function)),
      target_(std::move(target)) {}

BadArguments::BadArguments(std::string function, std::string expected_signature, std::string detail)
    : Error(Errc::bad_arguments,
            // The caller's own checks (arguments over the frame size) know no
            // signature: then there is nothing to say it was expected.
            expected_signature.empty() ? fmt::format("bad arguments for {}: {}", function, detail)
                                       : fmt::format("bad arguments for {}: {} (expected {})",
                                                     function, detail, expected_signature)),
      function_(std::move(function)),
      expected_(std::move(expected_signature)),
      detail_(std::move(detail)) {}

RemoteError::RemoteError(std::string node, std::string function, std::string exception_type,
                         std::string remote_message)
    : Error(Errc::remote_error,
            fmt::format("{} raised {} on {}: {}", function, exception_type,
                        node.empty() ? std::string("this node") : node, remote_message)),
      node_(std::move(node)),
      function_(std::move(function)),
      type_(std::move(exception_type)),
      remote_message_(std::move(remote_message)) {}

Timeout::Timeout(std::string function, std::string node, std::chrono::milliseconds timeout)
    : Error(Errc::timeout,
            fmt::format("call to {} on {} timed out after {} ms", function, node, timeout.count())),
      function_(std::move(function)),
      node_(std::move(node)),
      timeout_(timeout) {}

NodeDown::NodeDown(std::string node, std::string function, std::string reason)
    : Error(Errc::node_down,
            fmt::format("node {} went down during call to {}: {}", node, function, reason)),
      node_(std::move(node)),
      function_(std::move(function)),
      reason_(std::move(reason)) {}

NotConnected::NotConnected(std::string node)
    : Error(Errc::not_connected, fmt::format("node \"{}\" is not connected", node)),
      node_(std::move(node)) {}

Unavailable::Unavailable(std::string node, std::string function, std::string reason)
    : Error(Errc::unavailable,
            fmt::format("node {} refused call to {}: {}", node, function, reason)),
      node_(std::move(node)) {}

Cancelled::Cancelled(std::string function)
    : Error(Errc::cancelled, fmt::format("call to {} was cancelled", function)) {}

ConfigError::ConfigError(std::string setting, std::string value, const std::string& why)
    : Error(Errc::config, fmt::format("invalid {}=\"{}\": {}", setting, value, why)),
      setting_(std::move(setting)),
      value_(std::move(value)) {}

}  // namespace fly
