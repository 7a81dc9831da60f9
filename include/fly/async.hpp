// fly::Node's async calls, with Asio completion tokens: include this header
// to use Node::async_rpc_region, async_rpc_primary, async_rpc and executor()
// (declared and documented in fly/node.hpp, with the rest of the Node).
//
//   #include <fly/async.hpp>
//   #include <asio/use_future.hpp>
//
//   node.async_rpc_region<int>("syd", "Kernel.+", 1, 2,
//                              [](std::exception_ptr e, int sum) { ... });
//   std::future<int> f = node.async_rpc_region<int>("syd", "Kernel.+", 1, 2, asio::use_future);
//   int n = co_await node.async_rpc_region<int>("syd", "Kernel.+", 1, 2, asio::use_awaitable);
//
// It brings in the Asio headers the calls need (completion tokens, executors,
// asio::io_context); a token's own header (asio/use_future.hpp,
// asio/use_awaitable.hpp, ...) is the caller's to include. Code that makes
// only blocking calls includes fly/node.hpp alone and compiles no Asio.
#pragma once

#include "fly/detail/async_impl.hpp"  // IWYU pragma: export
#include "fly/node.hpp"               // IWYU pragma: export
