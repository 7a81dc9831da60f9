// The heartbeat grid: every connection of a process ticks at the same
// instants (one reactor wake-up for all peers), never more than one tick late.
#include <gtest/gtest.h>

#include <chrono>

#include "net/heartbeat_tick.hpp"

namespace {
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

Clock::time_point at(long long ms) {
  return Clock::time_point(milliseconds(ms));
}

TEST(HeartbeatTick, IsTheNextGridPointStrictlyAfterNow) {
  const milliseconds tick(500), phase(120);
  EXPECT_EQ(fly::net::next_heartbeat_tick(at(0), tick, phase), at(120));
  EXPECT_EQ(fly::net::next_heartbeat_tick(at(119), tick, phase), at(120));
  // On a grid point: the next one, so a timer re-armed in its own handler
  // does not fire twice at one instant.
  EXPECT_EQ(fly::net::next_heartbeat_tick(at(120), tick, phase), at(620));
  EXPECT_EQ(fly::net::next_heartbeat_tick(at(121), tick, phase), at(620));
  EXPECT_EQ(fly::net::next_heartbeat_tick(at(10'619), tick, phase), at(10'620));
}

TEST(HeartbeatTick, ConnectionsArmedAtDifferentTimesShareTheGrid) {
  const milliseconds tick(500);
  const auto phase = fly::net::heartbeat_phase(tick);
  // Timers armed at unrelated instants within one tick fire together.
  const auto first = fly::net::next_heartbeat_tick(at(100'000), tick, phase);
  for (long long ms = 100'000; ms < 100'000 + 500; ms += 37) {
    const auto next = fly::net::next_heartbeat_tick(at(ms), tick, phase);
    EXPECT_TRUE(next == first || next == first + tick) << ms;
    EXPECT_GT(next, at(ms));
    EXPECT_LE(next - at(ms), tick) << "a check must run at least once per tick";
  }
}

TEST(HeartbeatTick, ThePhaseIsOnePerProcessAndWithinTheTick) {
  for (const milliseconds tick : {milliseconds(10), milliseconds(500), milliseconds(15'000)}) {
    const auto phase = fly::net::heartbeat_phase(tick);
    EXPECT_GE(phase.count(), 0);
    EXPECT_LT(phase, tick);
    EXPECT_EQ(fly::net::heartbeat_phase(tick), phase) << "every connection must share it";
  }
}
}  // namespace
