// The measurement loops. Each returns the samples of one measurement; timing
// starts only after every connection is made and the warm-up has passed.
#pragma once

#include <cstddef>

#include "cpu.hpp"
#include "options.hpp"
#include "samples.hpp"
#include "system.hpp"

namespace flybench {

struct Measurement {
  Samples samples;     // round-trip times of the measured calls
  double seconds = 0;  // measured window: first measured instant to last completion
  CpuUse cpu;          // CPU spent from the window's start to the last completion
};

// CPU: the measuring thread samples `meter` when the measured window opens
// (after the warm-up; it sleeps until then, it does not call) and after the
// last counted call has completed, so the CPU figures cover the calls counted.

/// `warmup` then `calls` calls one after the other from one caller; when
/// `max_seconds` > 0, each of the two stops early once that much time passed.
Measurement measure_sequential(BlockingCaller& caller, const Payload& p, std::size_t warmup,
                               std::size_t calls, double max_seconds, const CpuMeter& meter);

/// `threads` threads, each looping on its own BlockingCaller, for warm-up then
/// `seconds` (or until max_calls/threads calls each).
Measurement measure_blocking(System& system, const Payload& p, std::size_t threads,
                             const ClientOptions& o, const CpuMeter& meter);

/// `slots` calls kept in flight through one AsyncCaller: each completion starts
/// the next call of its slot until the point's time (or call budget) is spent.
/// Returns false (and no measurement) when the system has no async form.
bool measure_async(System& system, const Payload& p, std::size_t slots, const ClientOptions& o,
                   const CpuMeter& meter, Measurement& out);

/// Throws std::runtime_error when `response` is not what `p` must return. Full
/// compare when `full`, else size and both ends (a 64 KiB compare on every
/// call would cost the client CPU the server needs on a 2-core machine).
void check_response(const Payload& p, std::string_view response, bool full);

}  // namespace flybench
