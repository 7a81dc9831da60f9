// Captures spdlog output for a test: replaces flyrpc's logger (base/log.hpp)
// and spdlog's default logger with one writing to memory, restores the
// previous ones on destruction. Create it before any thread logs and destroy
// it after they stopped (spdlog swaps the default logger without
// synchronising with readers).
#pragma once

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/log.hpp"

namespace flytest {

class LogCapture {
 public:
  struct Line {
    spdlog::level::level_enum level;
    std::string text;
    std::size_t thread;  ///< OS thread id of the logging thread (gettid)
  };

  LogCapture()
      : sink_(std::make_shared<Sink>()),
        previous_(spdlog::default_logger()),
        previous_flyrpc_(fly::log::get_shared()) {
    auto logger = std::make_shared<spdlog::logger>("flytest", sink_);
    logger->set_level(spdlog::level::info);
    spdlog::set_default_logger(logger);
    fly::log::set(logger);
  }
  ~LogCapture() {
    fly::log::set(previous_flyrpc_);
    spdlog::set_default_logger(previous_);
  }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  /// Lines at `level` containing `part`.
  std::size_t count(spdlog::level::level_enum level, const std::string& part) const {
    std::lock_guard lock(sink_->lines_mutex);
    std::size_t n = 0;
    for (const auto& line : sink_->lines) {
      if (line.level == level && line.text.find(part) != std::string::npos) ++n;
    }
    return n;
  }
  /// Lines containing `part` (copies, in order).
  std::vector<Line> lines_with(const std::string& part) const {
    std::lock_guard lock(sink_->lines_mutex);
    std::vector<Line> out;
    for (const auto& line : sink_->lines) {
      if (line.text.find(part) != std::string::npos) out.push_back(line);
    }
    return out;
  }
  /// Everything captured, one line each, for failure messages.
  std::string all() const {
    std::lock_guard lock(sink_->lines_mutex);
    std::string out;
    for (const auto& line : sink_->lines) out += line.text + "\n";
    return out;
  }

 private:
  struct Sink : spdlog::sinks::base_sink<std::mutex> {
    void sink_it_(const spdlog::details::log_msg& msg) override {
      std::lock_guard lock(lines_mutex);
      lines.push_back(
          {msg.level, std::string(msg.payload.data(), msg.payload.size()), msg.thread_id});
    }
    void flush_() override {}
    mutable std::mutex lines_mutex;
    std::vector<Line> lines;
  };
  std::shared_ptr<Sink> sink_;
  std::shared_ptr<spdlog::logger> previous_;
  std::shared_ptr<spdlog::logger> previous_flyrpc_;
};

}  // namespace flytest
