#include "reliability/driver.hpp"

#include <fmt/format.h>

#include <semaphore>
#include <stdexcept>

#include "fly/async.hpp"
#include "fly/node.hpp"
#include "support/wait.hpp"

namespace flyrel {

namespace {
// A driver that runs until stop() books at most this many calls.
constexpr std::size_t kOpenEndedCapacity = 200'000;
constexpr std::ptrdiff_t kMaxInFlight = 4096;
}  // namespace

struct Driver::State {
  State(std::size_t capacity, std::vector<std::string> targets, std::size_t in_flight)
      : ledger(capacity, std::move(targets)), slots(static_cast<std::ptrdiff_t>(in_flight)) {}

  Ledger ledger;
  // Free in-flight slots: taken before a call is issued, given back by the
  // call's first completion only (a duplicate must not over-release).
  std::counting_semaphore<kMaxInFlight> slots;
  std::atomic<std::size_t> thrown_at_issue{0};

  void finish(std::size_t id, Outcome outcome, const std::string& detail) {
    if (ledger.end(id, outcome, detail)) slots.release();
  }
};

Driver::Driver(fly::Node& client, DriveSpec spec) : client_(client), spec_(std::move(spec)) {
  if (spec_.regions.empty()) throw std::invalid_argument("DriveSpec.regions is empty");
  if (spec_.max_in_flight == 0 || spec_.max_in_flight > static_cast<std::size_t>(kMaxInFlight)) {
    throw std::invalid_argument("DriveSpec.max_in_flight must be 1..4096");
  }
  const std::size_t capacity = spec_.calls != 0 ? spec_.calls : kOpenEndedCapacity;
  state_ = std::make_shared<State>(capacity, spec_.regions, spec_.max_in_flight);
  thread_ = std::thread([this] { run(); });
}

Driver::~Driver() {
  stop();
}

void Driver::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

const Ledger& Driver::ledger() const {
  return state_->ledger;
}

std::size_t Driver::thrown_at_issue() const {
  return state_->thrown_at_issue.load();
}

bool Driver::wait_all_ended(std::chrono::milliseconds timeout) {
  return flytest::eventually(
      [&] { return done_.load() && state_->ledger.ended() == state_->ledger.issued(); }, timeout);
}

void Driver::run() {
  const std::size_t limit = spec_.calls != 0 ? spec_.calls : kOpenEndedCapacity;
  const std::vector<unsigned char> payload(spec_.echo_bytes, 0x5a);
  const auto options = fly::timeout(spec_.timeout);
  for (std::size_t n = 0; n < limit && !stop_; ++n) {
    if (spec_.before_issue) spec_.before_issue(n);
    // Wait for a free slot, checking stop_ now and then.
    while (!state_->slots.try_acquire_for(std::chrono::milliseconds(50))) {
      if (stop_) break;
    }
    if (stop_) break;
    const std::size_t target = n % spec_.regions.size();
    const std::string& region = spec_.regions[target];
    const std::size_t id = state_->ledger.begin(target);
    auto st = state_;
    try {
      switch (spec_.work) {
        case DriveSpec::Work::add: {
          const auto a = static_cast<std::int64_t>(n);
          client_.async_rpc_region<std::int64_t>(
              region, "Kernel.+", a, std::int64_t{1}, options,
              [st, id, a](std::exception_ptr e, std::int64_t r) {
                std::string detail;
                Outcome o = classify(e, &detail);
                if (o == Outcome::ok && r != a + 1) {
                  o = Outcome::other;
                  detail = fmt::format("wrong result: Kernel.+({}, 1) = {}", a, r);
                }
                st->finish(id, o, detail);
              });
          break;
        }
        case DriveSpec::Work::echo: {
          const std::size_t size = payload.size();
          client_.async_rpc_region<std::vector<unsigned char>>(
              region, "Echo.bytes", payload, options,
              [st, id, size](std::exception_ptr e, std::vector<unsigned char> r) {
                std::string detail;
                Outcome o = classify(e, &detail);
                if (o == Outcome::ok && r.size() != size) {
                  o = Outcome::other;
                  detail =
                      fmt::format("wrong result: Echo.bytes of {} bytes gave {}", size, r.size());
                }
                st->finish(id, o, detail);
              });
          break;
        }
        case DriveSpec::Work::sleep:
          client_.async_rpc_region<void>(region, "Process.sleep", spec_.sleep_ms, options,
                                         [st, id](std::exception_ptr e) {
                                           std::string detail;
                                           const Outcome o = classify(e, &detail);
                                           st->finish(id, o, detail);
                                         });
          break;
      }
    } catch (...) {
      // The call ended here, at issue (e.g. NoNodeInRegion from routing):
      // that is its one ending; a handler firing later is a duplicate.
      state_->thrown_at_issue.fetch_add(1);
      std::string detail;
      const Outcome o = classify(std::current_exception(), &detail);
      state_->finish(id, o, detail);
    }
    if (spec_.pace.count() > 0) std::this_thread::sleep_for(spec_.pace);
  }
  done_ = true;
}

}  // namespace flyrel
