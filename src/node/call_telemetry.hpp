// The caller-side telemetry of a call's end, for code that runs outside
// Node's members (an async call completing on an I/O thread). Node's
// record_call_end / record_call_error (fly/node.hpp) forward here.
#pragma once

#include <chrono>
#include <exception>
#include <string_view>

#include "fly/detail/route.hpp"
#include "fly/errors.hpp"

namespace fly::detail {

struct NodeCore;

/// Counts the call's end in core.metrics (latency ended - started) and
/// emits call_stop or call_exception if wanted. `ended` = {}: now. noexcept.
void record_call_end(NodeCore& core, const Route& route, std::string_view function,
                     std::chrono::steady_clock::time_point started,
                     std::chrono::steady_clock::time_point ended, Errc outcome,
                     std::string_view reason) noexcept;
/// record_call_end with the outcome and reason of `error` (null: ok; a
/// fly::Error's code() and what(); any other exception counts as remote_error).
void record_call_error(NodeCore& core, const Route& route, std::string_view function,
                       std::chrono::steady_clock::time_point started,
                       std::chrono::steady_clock::time_point ended,
                       const std::exception_ptr& error) noexcept;

}  // namespace fly::detail
