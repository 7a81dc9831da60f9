#include "fly/postgres/database.hpp"

#include <charconv>
#include <cstdlib>
#include <string>

#include "fly/errors.hpp"

namespace fly::postgres {

namespace {

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : nullptr;
}

bool env_flag(const char* name, bool fallback) {
  const char* v = env(name);
  if (!v) return fallback;
  const std::string s(v);
  if (s == "1" || s == "true" || s == "yes") return true;
  if (s == "0" || s == "false" || s == "no") return false;
  throw ConfigError(name, s, "expected 1/true/yes or 0/false/no");
}

long env_number(const char* name, long fallback, long min, long max) {
  const char* v = env(name);
  if (!v) return fallback;
  const std::string s(v);
  long n = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || p != s.data() + s.size() || n < min || n > max) {
    throw ConfigError(
        name, s,
        "expected a whole number from " + std::to_string(min) + " to " + std::to_string(max));
  }
  return n;
}

}  // namespace

DatabaseOptions DatabaseOptions::from_env(bool primary) {
  DatabaseOptions o;
  const char* url = env("DATABASE_URL");
  if (!url) throw ConfigError("DATABASE_URL", "", "not set: the database URL is required");
  o.url = url;
  o.primary = primary;
  if (const char* mode = env("FLY_POSTGRES_ENV")) {
    const std::string m(mode);
    if (m == "production") {
      o.production = true;
    } else if (m == "development") {
      o.production = false;
    } else {
      throw ConfigError("FLY_POSTGRES_ENV", m, "expected production or development");
    }
  } else {
    o.production = env("FLY_APP_NAME") != nullptr;
  }
  o.read_only_reader = env_flag("FLY_POSTGRES_READ_ONLY_LOCAL", false);
  o.replication_timeout = std::chrono::milliseconds(
      env_number("FLY_POSTGRES_REPLICATION_TIMEOUT_MS", 5000, 1, 3'600'000));
  o.pool_size = static_cast<std::size_t>(env_number("FLY_POSTGRES_POOL_SIZE", 4, 1, 1000));
  o.tracker.verbose = env_flag("FLY_RPC_VERBOSE", false);
  return o;
}

Database::Database(DatabaseOptions options)
    : options_(std::move(options)),
      url_(rewrite_database_url(options_.url, UrlContext{options_.production, options_.primary})) {
  std::function<void(Connection&)> read_only;
  if (options_.read_only_reader) {
    read_only = [](Connection& c) { c.exec("SET default_transaction_read_only = on"); };
  }
  reader_ = std::make_unique<ConnectionPool>(url_, options_.pool_size, std::move(read_only));
  // A write's position is read after its COMMIT returns; with
  // synchronous_commit = off the commit record may not be written yet then,
  // and a replica could reach the position without the write. Writer
  // sessions configured so (server, database, role or URL) commit with
  // `local` instead: flushed here, no wait for standbys.
  writer_ = std::make_unique<ConnectionPool>(url_, options_.pool_size, [](Connection& c) {
    if (c.exec("SELECT current_setting('synchronous_commit')").text(0, 0) == "off") {
      c.exec("SET synchronous_commit = local");
    }
  });
  tracker_ = LsnTracker::shared(url_, options_.tracker);
}

Database::~Database() = default;

void Database::wait_for(Lsn target, std::chrono::milliseconds timeout) {
  if (options_.primary) return;
  tracker_->wait_for(target, timeout.count() > 0 ? timeout : options_.replication_timeout);
}

std::string Database::metrics_text(const std::string& name) const {
  return tracker_->metrics_text(name);
}

}  // namespace fly::postgres
