// Wall-clock upper bounds that widen when the test binary runs slower than
// a plain build does.
//
// An upper bound a test asserts ("the call failed within 2 s", "stop()
// returned within drain_timeout + 2.5 s") is a claim about the library on a
// plain build. Sanitizer builds run everything 3-20x slower, so every such
// bound, and every deadline a test waits on, is written as slack(bound):
// the bound itself in a plain build, three times it under a sanitizer.
// Lower bounds ("it waited at least 300 ms") are never scaled: a slower
// build cannot make an early return correct.
//
// FLYRPC_TEST_SLACK=<n> (a positive integer) in the environment sets the
// factor instead, for a machine slower than the bounds assume (a loaded CI
// runner, valgrind). The factor is read once per process.
#pragma once

#include <chrono>

namespace flytest {

/// True in a sanitizer build (configured with FLYRPC_SANITIZE): tests also
/// scale their loads down (fewer calls, fewer rounds) where the bound alone
/// would not do.
inline constexpr bool kSanitized =
#ifdef FLYRPC_TEST_SANITIZED
    true;
#else
    false;
#endif

/// The factor slack() multiplies by: FLYRPC_TEST_SLACK if set, else 3 under
/// a sanitizer, else 1.
int slack_factor();

/// `bound` times slack_factor().
std::chrono::milliseconds slack(std::chrono::milliseconds bound);

}  // namespace flytest
