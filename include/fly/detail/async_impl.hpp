// The definitions of fly::Node's async calls and executor() (declared, and
// documented, in fly/node.hpp). Included by fly/async.hpp: include that.
//
// An async call is initiated in three steps: route and encode (here, on the
// caller's thread), start (Node::start_async, src/node/node.cpp: local on the
// worker pool, remote sent with a timer), deliver (here again, on the thread
// that completes the call: decode the result and hand the handler to its
// executor).
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/dispatch.hpp>
#include <asio/post.hpp>

#include <cstddef>
#include <exception>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include "fly/detail/async_start.hpp"
#include "fly/detail/codec.hpp"
#include "fly/detail/result_type.hpp"
#include "fly/detail/route.hpp"
#include "fly/detail/with_options.hpp"
#include "fly/errors.hpp"
#include "fly/node.hpp"

namespace fly {

namespace detail {

/// The completion signature of an async call returning R.
template <class R>
struct AsyncSignatureOf {
  using type = void(std::exception_ptr, R);
};
template <class R>
requires std::is_void_v<R>
struct AsyncSignatureOf<R> {
  using type = void(std::exception_ptr);
};
template <class R>
using AsyncSignature = typename AsyncSignatureOf<R>::type;

/// The typed halves of the async calls; a friend of Node.
struct NodeAsync {
  /// What Node::executor() returns; out of line (src/node/node.cpp), so
  /// that this header needs no asio::io_context.
  static asio::any_io_executor executor_of(const Node& node);

  // Splits the completion token (last) and optional CallOptions off.
  template <class R, class F, class... ArgsAndToken>
  static auto with_token(Node& node, F&& prepare, ArgsAndToken&&... args_and_token) {
    static_assert(sizeof...(ArgsAndToken) >= 1, "the last argument is a completion token");
    auto all = std::forward_as_tuple(std::forward<ArgsAndToken>(args_and_token)...);
    constexpr std::size_t n = sizeof...(ArgsAndToken) - 1;
    auto&& token = std::get<n>(all);
    AsyncStart start;
    try {
      start = split_token_args(prepare, all, std::make_index_sequence<n>{});
    } catch (...) {
      start.error = std::current_exception();
    }
    return initiate_async<R>(node, std::move(start), std::forward<decltype(token)>(token));
  }

  template <class F, class Tuple, std::size_t... I>
  static AsyncStart split_token_args(F& prepare, Tuple& all, std::index_sequence<I...>) {
    return with_options(prepare, std::get<I>(all)...);
  }

  template <class... Args>
  static AsyncStart prepare_async(Route route, std::string_view function,
                                  const CallOptions& options, const Args&... args) {
    AsyncStart start{std::move(route), std::string(function), options, args_buffer(), nullptr};
    encode_args(start.args, args...);
    return start;
  }

  template <class R, class Token>
  static auto initiate_async(Node& node, AsyncStart start, Token&& token) {
    return asio::async_initiate<Token, AsyncSignature<R>>(
        [&node](auto handler, AsyncStart s) {
          auto ex = asio::get_associated_executor(handler, node.executor());
          if (s.error) {
            // Posted, not called: a handler never runs inside the initiating call.
            asio::post(ex, [h = std::move(handler), e = s.error]() mutable {
              if constexpr (std::is_void_v<R>) {
                std::move(h)(e);
              } else {
                std::move(h)(e, R{});
              }
            });
            return;
          }
          node.start_async(std::move(s), [h = std::move(handler), ex](std::exception_ptr e,
                                                                      std::span<const char> body,
                                                                      std::string_view fn) mutable {
            deliver<R>(std::move(h), ex, std::move(e), body, fn);
          });
        },
        token, std::move(start));
  }

  // Decodes the result (on the completing thread) and hands the handler to
  // its executor: dispatched after a reply (an I/O thread completes it, never
  // the initiating function), posted after a failure, which may be found
  // inside the initiating function itself (a connection that has just
  // closed, arguments over the frame size) — where dispatch would run the
  // handler inline when the call was started on its executor.
  template <class R, class Handler, class Executor>
  static void deliver(Handler&& h, const Executor& ex, std::exception_ptr e,
                      std::span<const char> body, std::string_view function) {
    if constexpr (std::is_void_v<R>) {
      if (e) {
        asio::post(ex, [h = std::move(h), e]() mutable { std::move(h)(e); });
      } else {
        asio::dispatch(ex, [h = std::move(h), e]() mutable { std::move(h)(e); });
      }
    } else {
      R value{};
      if (!e) {
        try {
          msgpack::zone& zone = scratch_zone();
          msgpack::object o;
          std::string error;
          if (!decode_value(zone, body.data(), body.size(), o, error)) {
            throw ProtocolError("undecodable result of " + std::string(function) + ": " + error);
          }
          value = convert_result<R>(o, function);
        } catch (...) {
          e = std::current_exception();
        }
      }
      auto run = [h = std::move(h), e, v = std::move(value)]() mutable {
        std::move(h)(e, std::move(v));
      };
      if (e) {
        asio::post(ex, std::move(run));
      } else {
        asio::dispatch(ex, std::move(run));
      }
    }
  }
};

}  // namespace detail

inline auto Node::executor() const {
  return detail::NodeAsync::executor_of(*this);
}

template <class R, class... ArgsAndToken>
auto Node::async_rpc_region(std::string_view region, std::string_view function,
                            ArgsAndToken&&... args_and_token) {
  if constexpr (detail::checked_async_result<R>()) {  // else its message alone is shown
    return detail::NodeAsync::with_token<R>(
        *this,
        [this, region, function](const CallOptions& o, auto&&... a) {
          return detail::NodeAsync::prepare_async(route_region(region, function, o), function, o,
                                                  a...);
        },
        std::forward<ArgsAndToken>(args_and_token)...);
  }
}

template <class R, class... ArgsAndToken>
auto Node::async_rpc_primary(std::string_view function, ArgsAndToken&&... args_and_token) {
  return async_rpc_region<R>(primary_region(), function,
                             std::forward<ArgsAndToken>(args_and_token)...);
}

template <class R, class... ArgsAndToken>
auto Node::async_rpc(std::string_view node, std::string_view function,
                     ArgsAndToken&&... args_and_token) {
  if constexpr (detail::checked_async_result<R>()) {
    return detail::NodeAsync::with_token<R>(
        *this,
        [this, node, function](const CallOptions& o, auto&&... a) {
          return detail::NodeAsync::prepare_async(route_node(node, function, o), function, o, a...);
        },
        std::forward<ArgsAndToken>(args_and_token)...);
  }
}

}  // namespace fly
