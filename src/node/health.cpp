#include "node/health.hpp"

#include <fmt/format.h>

#include <string>
#include <string_view>

#include "node/node_core.hpp"

namespace fly::detail {

namespace {

// A string as a JSON string literal (node names and regions are validated,
// but the health body must stay valid JSON whatever they hold).
std::string json_string(std::string_view v) {
  std::string out = "\"";
  for (const char ch : v) {
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (static_cast<unsigned char>(ch) < 0x20) {
      out += fmt::format("\\u{:04x}", static_cast<unsigned>(ch));
    } else {
      out += ch;
    }
  }
  return out + '"';
}

}  // namespace

// GET /health: healthy once the node has joined — it listens, and when seeds or
// a DNS name are configured, it is connected to a peer or a DNS poll answered
// (the first machine of an app finds only itself, and that is a cluster of
// one); once joined, it stays so. Unhealthy before and from the moment stop()
// begins.
telemetry::HealthReport node_health(detail::NodeCore& c) {
  const auto& o = c.options;
  const std::string who =
      fmt::format(R"("node":{},"region":{},"primary_region":{})", json_string(o.name),
                  json_string(o.region), json_string(o.primary_region));
  if (c.stopping.load()) return {false, fmt::format(R"({{"status":"stopping",{}}})", who)};
  if (!c.listening.load()) return {false, fmt::format(R"({{"status":"starting",{}}})", who)};
  const std::size_t peers = c.cluster->snapshot()->connected.size();
  const bool discovers = !o.seeds.empty() || !o.dns_name.empty();
  bool joined = c.joined.load() || !discovers || peers > 0 || c.dns_answered.load();
  if (joined) c.joined.store(true);  // losing every peer later is not un-joining
  return {joined,
          fmt::format(R"({{"status":"{}",{},"peers":{}}})", joined ? "ok" : "joining", who, peers)};
}

}  // namespace fly::detail
