// One atomic pointer to the current logger: get() is a relaxed-enough load on
// every log call, with no lock and no reference count. Loggers that were ever
// current stay alive in `kept` until exit, so a pointer just loaded by another
// thread is never left dangling by set().
#include "base/log.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cctype>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include "fly/errors.hpp"

namespace fly::log {

namespace {

std::atomic<spdlog::logger*> current{nullptr};
std::mutex kept_mutex;
std::vector<std::shared_ptr<spdlog::logger>>& kept() {
  static auto* loggers = new std::vector<std::shared_ptr<spdlog::logger>>();  // never destroyed:
  return *loggers;  // lines may be logged from threads still running at exit
}

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : nullptr;
}

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

// SPDLOG_LEVEL as spdlog::cfg reads it: "level" for every logger and/or
// "name=level" entries, comma-separated. `for_flyrpc` receives the level that
// applies to "flyrpc" (its own entry over the global one). False if malformed.
bool parse_spdlog_levels(std::string_view original,
                         std::optional<spdlog::level::level_enum>& for_flyrpc) {
  const std::string lowered = lowercase(original);  // spdlog lowercases it all too
  std::string_view text = lowered;
  std::optional<spdlog::level::level_enum> global, own;
  while (!text.empty()) {
    const auto comma = text.find(',');
    const std::string_view entry = trim(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    if (entry.empty()) continue;
    const auto eq = entry.find('=');
    const auto level =
        parse_level(eq == std::string_view::npos ? entry : trim(entry.substr(eq + 1)));
    if (!level) return false;
    if (eq == std::string_view::npos) {
      global = level;
    } else if (trim(entry.substr(0, eq)) == "flyrpc") {
      own = level;
    }
  }
  for_flyrpc = own ? own : global;
  return true;
}

spdlog::level::level_enum level_from_env() {
  if (const char* v = env("FLY_RPC_LOG_LEVEL")) {
    if (const auto level = parse_level(v)) return *level;
  } else if (const char* s = env("SPDLOG_LEVEL")) {
    std::optional<spdlog::level::level_enum> level;
    if (parse_spdlog_levels(s, level) && level) return *level;
  }
  return spdlog::level::info;
}

spdlog::logger* make_default() {
  static std::once_flag once;
  std::call_once(once, [] {
    std::shared_ptr<spdlog::logger> logger = spdlog::get("flyrpc");
    if (!logger) {
      try {
        logger = spdlog::stderr_color_mt("flyrpc");
        logger->set_level(level_from_env());
      } catch (const spdlog::spdlog_ex&) {
        logger = spdlog::get("flyrpc");  // registered by the application meanwhile
      }
    }
    std::lock_guard lock(kept_mutex);
    kept().push_back(logger);
    spdlog::logger* expected = nullptr;
    current.compare_exchange_strong(expected, logger.get());  // set() may have won
  });
  return current.load(std::memory_order_acquire);
}

}  // namespace

spdlog::logger& get() {
  spdlog::logger* l = current.load(std::memory_order_acquire);
  return l ? *l : *make_default();
}

std::shared_ptr<spdlog::logger> get_shared() {
  spdlog::logger* l = &get();
  std::lock_guard lock(kept_mutex);
  for (const auto& k : kept()) {
    if (k.get() == l) return k;
  }
  return nullptr;  // unreachable: every current logger is kept
}

void set(std::shared_ptr<spdlog::logger> logger) {
  if (!logger) return;
  std::lock_guard lock(kept_mutex);
  kept().push_back(logger);
  current.store(logger.get(), std::memory_order_release);
}

std::optional<spdlog::level::level_enum> parse_level(std::string_view original) {
  using spdlog::level::level_enum;
  const std::string text = lowercase(original);
  if (text == "trace") return level_enum::trace;
  if (text == "debug") return level_enum::debug;
  if (text == "info") return level_enum::info;
  if (text == "warn" || text == "warning") return level_enum::warn;
  if (text == "error" || text == "err") return level_enum::err;
  if (text == "critical") return level_enum::critical;
  if (text == "off") return level_enum::off;
  return std::nullopt;
}

void check_env_levels() {
  if (const char* v = env("FLY_RPC_LOG_LEVEL"); v && !parse_level(v)) {
    throw ConfigError("FLY_RPC_LOG_LEVEL", v,
                      "expected trace, debug, info, warn, error, critical or off");
  }
  std::optional<spdlog::level::level_enum> ignored;
  if (const char* s = env("SPDLOG_LEVEL"); s && !parse_spdlog_levels(s, ignored)) {
    throw ConfigError("SPDLOG_LEVEL", s,
                      "expected a level (trace, debug, info, warn, error, critical, off), "
                      "or name=level entries, comma-separated");
  }
}

}  // namespace fly::log
