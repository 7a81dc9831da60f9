// Waiting on conditions with deadlines, never sleeping as synchronisation.
#pragma once

#include <algorithm>
#include <chrono>
#include <functional>
#include <string>

#include "support/slack.hpp"  // deadlines and bounds are written as slack(...)

namespace flytest {

/// Polls `condition` until it holds or `timeout` passes; returns whether it
/// held. Polls with a short back-off so that a condition met early returns
/// early.
bool eventually(const std::function<bool()>& condition,
                std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace flytest

/// EXPECT that `cond` becomes true within `timeout_ms`.
#define EXPECT_EVENTUALLY(cond, timeout_ms)                                  \
  EXPECT_TRUE(::flytest::eventually([&] { return static_cast<bool>(cond); }, \
                                    std::chrono::milliseconds(timeout_ms)))  \
      << "condition never held: " #cond
#define ASSERT_EVENTUALLY(cond, timeout_ms)                                  \
  ASSERT_TRUE(::flytest::eventually([&] { return static_cast<bool>(cond); }, \
                                    std::chrono::milliseconds(timeout_ms)))  \
      << "condition never held: " #cond
