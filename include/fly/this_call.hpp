// What a handler can know about the call it is running, from the thread that
// runs it (worker pool or I/O thread). Outside a handler: no deadline, not
// cancelled, caller "".
#pragma once

#include <chrono>
#include <string_view>

namespace fly::this_call {

/// When the caller stops waiting (steady clock); time_point::max() if none.
/// A call made from inside the handler inherits it.
std::chrono::steady_clock::time_point deadline() noexcept;
/// Time left before deadline(), never negative; max() if none.
std::chrono::milliseconds remaining() noexcept;
/// True once the caller gave up (timed out); the result will not be sent, so
/// a long handler may stop early.
bool cancelled() noexcept;
/// Name of the calling node ("" for a local call or outside a handler).
std::string_view caller() noexcept;

}  // namespace fly::this_call
