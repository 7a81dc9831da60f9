// The two halves of an async call that meet in Node::start_async
// (src/node/node.cpp): the call, encoded and routed by the template in
// fly/detail/async_impl.hpp, and its type-erased completion. No Asio here:
// fly/node.hpp declares start_async with these types.
#pragma once

#include <exception>
#include <span>
#include <string>
#include <string_view>

#include "fly/call_options.hpp"
#include "fly/detail/buffer.hpp"
#include "fly/detail/route.hpp"
#include "fly/detail/unique_function.hpp"

namespace fly::detail {

/// An async call ready to start: encoded arguments and where they go.
struct AsyncStart {
  Route route;
  std::string function;
  CallOptions options;
  Buffer args;
  std::exception_ptr error;  ///< routing or encoding failed: deliver this instead
};

/// The buffer an async call's arguments are encoded into: the one the last
/// call started on this thread gave back (recycle_args_buffer), empty with
/// its capacity kept, or a new one. Saves an allocation and a free per call.
Buffer args_buffer() noexcept;
/// Gives an args buffer back to this thread once its bytes were sent (one is
/// kept per thread, up to 64 KiB of capacity; a larger one is freed).
void recycle_args_buffer(Buffer&& buffer) noexcept;

/// Completion of an async call: (error or null, result body if ok, function).
/// Move-only: it owns the caller's completion handler, which may be (for
/// asio::use_awaitable) impossible to copy.
using AsyncDone = UniqueFunction<void(std::exception_ptr, std::span<const char>, std::string_view)>;

}  // namespace fly::detail
