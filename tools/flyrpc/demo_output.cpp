#include "demo_output.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace flyrpc_cli {

namespace {
bool env_set(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0';
}

// The locale the C library would pick for LC_CTYPE, by its precedence.
bool utf8_locale() {
  for (const char* name : {"LC_ALL", "LC_CTYPE", "LANG"}) {
    if (!env_set(name)) continue;
    std::string v = std::getenv(name);
    std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
    return v.find("utf-8") != std::string::npos || v.find("utf8") != std::string::npos;
  }
  return false;
}

std::string wrap(bool on, const char* code, std::string_view s) {
  if (!on) return std::string(s);
  return fmt::format("\x1b[{}m{}\x1b[0m", code, s);
}
}  // namespace

Style Style::detect() {
  Style s;
  const char* term = std::getenv("TERM");
  s.colour = ::isatty(STDOUT_FILENO) == 1 && !env_set("NO_COLOR") &&
             !(term != nullptr && std::string_view(term) == "dumb");
  s.utf8 = utf8_locale();
  return s;
}

std::string Style::bold(std::string_view s) const {
  return wrap(colour, "1", s);
}
std::string Style::dim(std::string_view s) const {
  return wrap(colour, "2", s);
}
std::string Style::green(std::string_view s) const {
  return wrap(colour, "32", s);
}
std::string Style::red(std::string_view s) const {
  return wrap(colour, "1;31", s);
}
std::string Style::cyan(std::string_view s) const {
  return wrap(colour, "36", s);
}

std::size_t display_width(std::string_view s) {
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

std::vector<std::string> Table::render(const Style& style, std::string_view indent) const {
  std::vector<std::size_t> widths(header_.size(), 0);
  auto widen = [&](const std::vector<std::string>& cells) {
    for (std::size_t i = 0; i < cells.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], display_width(cells[i]));
    }
  };
  widen(header_);
  for (const auto& r : rows_) widen(r);
  auto format_row = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (std::size_t i = 0; i < cells.size() && i < widths.size(); ++i) {
      out += cells[i];
      // The last column is not padded: no trailing blanks.
      if (i + 1 < cells.size()) out.append(widths[i] - display_width(cells[i]) + 2, ' ');
    }
    return out;
  };
  std::vector<std::string> lines;
  lines.push_back(std::string(indent) + style.dim(format_row(header_)));
  for (const auto& r : rows_) lines.push_back(std::string(indent) + format_row(r));
  return lines;
}

void Narrator::emit(const std::string& text) {
  std::fputs(text.c_str(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

void Narrator::line(std::string_view text) {
  emit(std::string(text));
}

void Narrator::begin_step(std::string label, std::string title) {
  emit("");
  emit(style_.bold(fmt::format("[{}] {}", label, title)));
  steps_.push_back({std::move(label), std::move(title), true, {}});
}

void Narrator::say(std::string_view text) {
  emit(fmt::format("  {}", text));
}

void Narrator::command(std::string_view text) {
  emit(style_.cyan(fmt::format("  $ {}", text)));
}

void Narrator::table(const Table& t) {
  for (const auto& l : t.render(style_, "  ")) emit(l);
}

bool Narrator::check(bool ok, std::string_view text) {
  const char* mark = style_.utf8 ? (ok ? "✓" : "✗") : (ok ? "ok" : "FAIL");
  emit(fmt::format("  {} {}", ok ? style_.green(mark) : style_.red(mark), text));
  if (!ok && !steps_.empty() && steps_.back().ok) {
    steps_.back().ok = false;
    steps_.back().first_failure = std::string(text);
  }
  return ok;
}

bool Narrator::all_ok() const {
  return std::all_of(steps_.begin(), steps_.end(), [](const StepResult& s) { return s.ok; });
}

std::string Narrator::summary(std::chrono::milliseconds elapsed) {
  emit("");
  emit(style_.bold("Summary"));
  std::vector<const StepResult*> failed;
  for (const auto& s : steps_) {
    if (!s.ok) failed.push_back(&s);
  }
  const double seconds = static_cast<double>(elapsed.count()) / 1000.0;
  std::string verdict;
  if (failed.empty()) {
    verdict = fmt::format("all {} steps behaved as expected ({:.1f} s)", steps_.size(), seconds);
    // Not counted as a step: the summary itself.
    const char* mark = style_.utf8 ? "✓" : "ok";
    emit(fmt::format("  {} {}", style_.green(mark), verdict));
    return verdict;
  }
  verdict = fmt::format("{} of {} steps did not behave:", failed.size(), steps_.size());
  const char* mark = style_.utf8 ? "✗" : "FAIL";
  emit(fmt::format("  {} {}", style_.red(mark), verdict));
  for (std::size_t i = 0; i < failed.size(); ++i) {
    emit(fmt::format("    [{}] {}: {}", failed[i]->label, failed[i]->title,
                     failed[i]->first_failure));
    verdict += fmt::format("{} [{}] {}", i == 0 ? "" : ",", failed[i]->label, failed[i]->title);
  }
  return verdict;
}

}  // namespace flyrpc_cli
