// The library's logger: every log line of flyrpc goes through fly::log::get().
//
// A library must not take over the application's logging. So flyrpc logs
// through a logger of its own, named "flyrpc" (registered with spdlog, so
// spdlog::get("flyrpc") and SPDLOG_LEVEL=flyrpc=debug reach it), writing to
// stderr — stdout belongs to the application. If the application registered a
// logger named "flyrpc" before flyrpc's first line, that one is used as it is.
// NodeOptions::logger replaces it with the application's own.
//
// Level, when flyrpc makes the logger: FLY_RPC_LOG_LEVEL, else the level
// SPDLOG_LEVEL gives "flyrpc" or everything (spdlog's syntax:
// "info,flyrpc=debug"), else info. Malformed values are ignored here;
// NodeOptions::from_env() reports them (check_log_level).
#pragma once

#include <spdlog/logger.h>

#include <memory>
#include <optional>
#include <string_view>

namespace fly::log {

/// The logger to log to. Lock-free; any thread.
spdlog::logger& get();

/// The same logger, shared (to hand back to set() later, as tests do).
std::shared_ptr<spdlog::logger> get_shared();

/// Makes `logger` the library's logger from now on (process-wide: the library
/// has one). A null pointer does nothing. Loggers handed over are kept alive
/// until the process exits (a line being written through the previous one
/// must not lose it). Any thread.
void set(std::shared_ptr<spdlog::logger> logger);

/// "trace", "debug", "info", "warn"/"warning", "error"/"err", "critical",
/// "off", in any case -> the level; anything else -> nullopt.
std::optional<spdlog::level::level_enum> parse_level(std::string_view text);

/// Throws fly::ConfigError naming FLY_RPC_LOG_LEVEL (or SPDLOG_LEVEL) if it is
/// set and not a level (resp. not spdlog's "level,name=level,..." syntax).
void check_env_levels();

}  // namespace fly::log
