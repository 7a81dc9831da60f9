// The database URL of one node, as fly_postgres derives it on Fly.io.
//
// Fly gives every machine of an app the same DATABASE_URL, pointing at the
// Postgres app (e.g. postgres://u:p@my-db.internal:5432/app). In production
// each node rewrites it:
//   - host: "top1.nearest.of.<host>" (the nearest Postgres machine), unless the
//     host contains ".flycast" (Fly's proxy picks) or already starts with
//     "top1.nearest.of."; a "top2.nearest.of." prefix becomes "top1.nearest.of.";
//   - port: 5433 on a node outside the primary region (the port of Fly
//     Postgres where a replica serves reads; 5432 reaches the leader).
// In development the URL is used as given.
#pragma once

#include <string>
#include <string_view>

namespace fly::postgres {

struct UrlContext {
  /// Rewrite at all (production). Default false: the URL is used as is.
  bool production = false;
  /// This node runs in the primary region (fly::is_primary()).
  bool primary = true;
};

/// The port of a Fly Postgres replica (reads on a non-primary node).
inline constexpr int kReplicaPort = 5433;

/// Rewrites `url` (postgres:// or postgresql://, one host, IPv6 as [addr])
/// for `ctx`. Throws fly::ConfigError naming `setting` (e.g. "DATABASE_URL")
/// for a URL it cannot rewrite: another scheme, no host, several hosts, a bad
/// port. The password never appears in the error.
std::string rewrite_database_url(std::string_view url, const UrlContext& ctx,
                                 std::string_view setting = "DATABASE_URL");

}  // namespace fly::postgres
