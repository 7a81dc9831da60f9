#include "reliability/ledger.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

#include "fly/errors.hpp"

namespace flyrel {

namespace {
std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             Ledger::Clock::now().time_since_epoch())
      .count();
}
constexpr std::size_t kMaxSamples = 5;
}  // namespace

const char* to_string(Outcome o) {
  switch (o) {
    case Outcome::ok:
      return "ok";
    case Outcome::timeout:
      return "timeout";
    case Outcome::node_down:
      return "node_down";
    case Outcome::no_node:
      return "no_node";
    case Outcome::other:
      return "other";
  }
  return "?";
}

Outcome classify(const std::exception_ptr& error, std::string* detail) {
  if (!error) return Outcome::ok;
  try {
    std::rethrow_exception(error);
  } catch (const fly::Timeout& e) {
    if (detail) *detail = e.what();
    return Outcome::timeout;
  } catch (const fly::NodeDown& e) {
    if (detail) *detail = e.what();
    return Outcome::node_down;
  } catch (const fly::NoNodeInRegion& e) {
    if (detail) *detail = e.what();
    return Outcome::no_node;
  } catch (const fly::Error& e) {
    if (detail) *detail = std::string(fly::to_string(e.code())) + ": " + e.what();
  } catch (const std::exception& e) {
    if (detail) *detail = std::string("not a fly::Error: ") + e.what();
  } catch (...) {
    if (detail) *detail = "not a std::exception";
  }
  return Outcome::other;
}

Ledger::Ledger(std::size_t capacity, std::vector<std::string> targets)
    : targets_(std::move(targets)),
      capacity_(capacity),
      slots_(new Slot[capacity]),
      counts_(new std::atomic<std::size_t>[targets_.size() * kOutcomes]) {
  if (targets_.empty() || targets_.size() > 255) {
    throw std::invalid_argument("a ledger needs 1..255 targets");
  }
  for (std::size_t i = 0; i < targets_.size() * kOutcomes; ++i) counts_[i] = 0;
}

std::size_t Ledger::begin(std::size_t target) {
  if (target >= targets_.size()) throw std::out_of_range("ledger target out of range");
  const std::size_t id = issued_.fetch_add(1);
  if (id >= capacity_) {
    issued_.fetch_sub(1);
    throw std::length_error("ledger full (" + std::to_string(capacity_) + " calls)");
  }
  Slot& s = slots_[id];
  s.target = static_cast<std::uint8_t>(target);
  s.began_ns = now_ns();
  return id;
}

bool Ledger::end(std::size_t id, Outcome outcome, std::string_view detail) {
  if (id >= capacity_) throw std::out_of_range("ledger id out of range");
  Slot& s = slots_[id];
  if (s.completions.fetch_add(1) != 0) {
    duplicates_.fetch_add(1);
    return false;
  }
  s.outcome.store(static_cast<std::uint8_t>(outcome));
  s.ended_ns.store(now_ns());
  counts_[s.target.load() * kOutcomes + static_cast<std::size_t>(outcome)].fetch_add(1);
  if (outcome == Outcome::other && !detail.empty()) {
    std::lock_guard lock(samples_mutex_);
    if (other_samples_.size() < kMaxSamples) other_samples_.emplace_back(detail);
  }
  ended_.fetch_add(1);
  return true;
}

std::size_t Ledger::count(Outcome o) const {
  std::size_t n = 0;
  for (std::size_t t = 0; t < targets_.size(); ++t) n += count(t, o);
  return n;
}

std::size_t Ledger::count(std::size_t target, Outcome o) const {
  return counts_[target * kOutcomes + static_cast<std::size_t>(o)].load();
}

std::size_t Ledger::sum_of_outcomes() const {
  std::size_t n = 0;
  for (std::size_t o = 0; o < kOutcomes; ++o) n += count(static_cast<Outcome>(o));
  return n;
}

std::vector<std::size_t> Ledger::unended() const {
  std::vector<std::size_t> ids;
  const std::size_t n = std::min(issued(), capacity_);
  for (std::size_t i = 0; i < n; ++i) {
    if (slots_[i].completions.load() == 0) ids.push_back(i);
  }
  return ids;
}

std::chrono::milliseconds Ledger::max_elapsed() const {
  std::int64_t worst = 0;
  const std::size_t n = std::min(issued(), capacity_);
  for (std::size_t i = 0; i < n; ++i) {
    const std::int64_t e = slots_[i].ended_ns.load();
    if (e != 0) worst = std::max(worst, e - slots_[i].began_ns);
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::nanoseconds(worst));
}

std::chrono::milliseconds Ledger::max_elapsed(Outcome o) const {
  std::int64_t worst = 0;
  const std::size_t n = std::min(issued(), capacity_);
  for (std::size_t i = 0; i < n; ++i) {
    const std::int64_t e = slots_[i].ended_ns.load();
    if (e != 0 && slots_[i].outcome.load() == static_cast<std::uint8_t>(o)) {
      worst = std::max(worst, e - slots_[i].began_ns);
    }
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::nanoseconds(worst));
}

std::size_t Ledger::ended_later_than(std::chrono::milliseconds bound) const {
  const std::int64_t limit = std::chrono::duration_cast<std::chrono::nanoseconds>(bound).count();
  std::size_t late = 0;
  const std::size_t n = std::min(issued(), capacity_);
  for (std::size_t i = 0; i < n; ++i) {
    const std::int64_t e = slots_[i].ended_ns.load();
    if (e != 0 && e - slots_[i].began_ns > limit) ++late;
  }
  return late;
}

std::size_t Ledger::ok_begun_after(std::size_t target, Clock::time_point t) const {
  const std::int64_t from =
      std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  std::size_t ok = 0;
  const std::size_t n = std::min(issued(), capacity_);
  for (std::size_t i = 0; i < n; ++i) {
    const Slot& s = slots_[i];
    if (s.ended_ns.load() != 0 && s.target == target && s.began_ns >= from &&
        s.outcome.load() == static_cast<std::uint8_t>(Outcome::ok)) {
      ++ok;
    }
  }
  return ok;
}

std::chrono::microseconds Ledger::ok_percentile(std::size_t target, double p) const {
  std::vector<std::int64_t> times;
  const std::size_t n = std::min(issued(), capacity_);
  for (std::size_t i = 0; i < n; ++i) {
    const Slot& s = slots_[i];
    const std::int64_t e = s.ended_ns.load();
    if (e != 0 && s.target == target &&
        s.outcome.load() == static_cast<std::uint8_t>(Outcome::ok)) {
      times.push_back(e - s.began_ns);
    }
  }
  if (times.empty()) return {};
  std::sort(times.begin(), times.end());
  const auto k = static_cast<std::size_t>(std::clamp(p, 0.0, 1.0) * (times.size() - 1));
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::nanoseconds(times[k]));
}

Ledger::Clock::time_point Ledger::end_time(std::size_t id) const {
  if (id >= capacity_) return {};
  const std::int64_t e = slots_[id].ended_ns.load();
  if (e == 0) return {};
  return Clock::time_point(std::chrono::nanoseconds(e));
}

std::vector<std::string> Ledger::other_samples() const {
  std::lock_guard lock(samples_mutex_);
  return other_samples_;
}

std::string Ledger::report(const std::string& title) const {
  std::string out = fmt::format("{}\n  {:<8}", title, "target");
  for (std::size_t o = 0; o < kOutcomes; ++o) {
    out += fmt::format(" {:>10}", to_string(static_cast<Outcome>(o)));
  }
  out += "\n";
  for (std::size_t t = 0; t < targets_.size(); ++t) {
    out += fmt::format("  {:<8}", targets_[t]);
    for (std::size_t o = 0; o < kOutcomes; ++o) {
      out += fmt::format(" {:>10}", count(t, static_cast<Outcome>(o)));
    }
    out += "\n";
  }
  out += fmt::format("  {:<8}", "all");
  for (std::size_t o = 0; o < kOutcomes; ++o) {
    out += fmt::format(" {:>10}", count(static_cast<Outcome>(o)));
  }
  out += fmt::format(
      "\n  issued {}, ended {}, sum of outcomes {}, duplicates {}, not ended {}, "
      "longest call {} ms\n",
      issued(), ended(), sum_of_outcomes(), duplicates(), issued() - ended(),
      max_elapsed().count());
  for (const auto& s : other_samples()) out += "  other: " + s + "\n";
  return out;
}

}  // namespace flyrel
