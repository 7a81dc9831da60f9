// How the demo talks: numbered steps, the command a user could type, aligned
// tables, a ✓/✗ line per check and a summary. Colour only when stdout is a
// terminal (and NO_COLOR is unset, TERM is not "dumb"); ✓/✗ only with a UTF-8
// locale, else "ok"/"FAIL". Every line is flushed at once, so a reader of a
// pipe (a test, `| tee`) sees progress live and an interrupted demo loses
// nothing it printed.
//
// Used from one thread (the demo's main thread).
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace flyrpc_cli {

struct Style {
  bool colour = false;
  bool utf8 = false;

  /// From stdout (isatty), NO_COLOR, TERM and LC_ALL / LC_CTYPE / LANG.
  static Style detect();

  std::string bold(std::string_view s) const;
  std::string dim(std::string_view s) const;
  std::string green(std::string_view s) const;
  std::string red(std::string_view s) const;
  std::string cyan(std::string_view s) const;
  /// "µs" or "us"; "×" or "x".
  const char* micros() const { return utf8 ? "µs" : "us"; }
  const char* times() const { return utf8 ? "×" : "x"; }
};

/// Columns padded to their widest cell (counted in characters, not bytes).
class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void row(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  /// The lines of the table, each indented by `indent`, header in `style`'s dim.
  std::vector<std::string> render(const Style& style, std::string_view indent) const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

/// Width of `s` on a terminal: UTF-8 continuation bytes do not count.
std::size_t display_width(std::string_view s);

class Narrator {
 public:
  explicit Narrator(Style style) : style_(style) {}
  const Style& style() const { return style_; }

  /// A line as is.
  void line(std::string_view text = "");
  /// "[n/total] title", bold; starts a step that later checks belong to.
  void begin_step(std::string label, std::string title);
  /// An indented line of narration.
  void say(std::string_view text);
  /// "  $ command": what a user could type to do the same by hand.
  void command(std::string_view text);
  void table(const Table& t);
  /// "  ✓ text" or "  ✗ text"; a false check fails the current step. Returns `ok`.
  bool check(bool ok, std::string_view text);

  struct StepResult {
    std::string label;
    std::string title;
    bool ok = true;
    std::string first_failure;
  };
  const std::vector<StepResult>& steps() const { return steps_; }
  bool all_ok() const;
  /// The closing summary; returns the one-line verdict naming what failed.
  std::string summary(std::chrono::milliseconds elapsed);

 private:
  void emit(const std::string& text);

  Style style_;
  std::vector<StepResult> steps_;
};

}  // namespace flyrpc_cli
