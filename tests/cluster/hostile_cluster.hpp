// The fixture of the hostile-input tests: a real node syd-1 (the target,
// --verbose so that every function it runs logs a RECV line) and its real
// peer lax-1, as `flyrpc node` processes on loopback. Tests attack syd-1 and
// then check that no function ran for the attacker and that the real peers
// are still served.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "support/cluster_harness.hpp"

namespace flytest {

class HostileCluster : public ::testing::Test {
 protected:
  /// Starts syd-1 with `syd_flags` added, then lax-1 seeded with it, and
  /// waits until each has the other up. Call from SetUp (ASSERT inside).
  void start(const std::vector<std::string>& syd_flags);

  /// The real peer path: a `flyrpc call` seeded with lax-1 runs
  /// String.upcase on region syd (so it dials syd-1 itself). True if it
  /// answered "OK".
  bool still_serving();
  /// Functions syd-1 has run so far (its verbose "flyrpc RECV" lines).
  std::size_t functions_run() const;
  /// The first line of syd-1's log that names `needle` ("" if none).
  std::string syd_log_line(const std::string& needle) const;

  std::string cookie;
  std::unique_ptr<NodeProcess> syd, lax;
};

/// How often `needle` occurs in `text`.
std::size_t count_of(const std::string& text, const std::string& needle);

}  // namespace flytest
