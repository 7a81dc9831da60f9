// The definitions of fly::Node's blocking call templates (declared, and
// documented, in fly/node.hpp, which includes this file at its end).
//
// Each call is a template only where it must be: encoding the arguments and
// decoding the result. Routing, sending, waiting and telemetry are Node's
// non-template members (src/node/node.cpp), so that code exists once.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "fly/detail/buffer.hpp"
#include "fly/detail/codec.hpp"
#include "fly/detail/function_entry.hpp"
#include "fly/detail/pending_call.hpp"
#include "fly/detail/result_type.hpp"
#include "fly/detail/route.hpp"
#include "fly/detail/with_options.hpp"
#include "fly/errors.hpp"
#include "fly/function.hpp"
#include "fly/node.hpp"

namespace fly {

namespace detail {

/// The typed halves of the blocking calls; a friend of Node.
struct NodeCalls {
  // Every call, local or remote, is counted (record_call_*; node.cpp): the
  // template only brackets the real work, so the recording code exists once.
  template <class R, class... Args>
  static R call(Node& node, const Route& route, std::string_view function,
                const CallOptions& options, const Args&... args) {
    if constexpr (!checked_blocking_result<R>()) {
      std::abort();  // not compiled for a valid R; else the assertion's message alone is shown
    } else {
      const auto started = node.record_call_start(route, function);
      // When the reply arrived (remote calls): the end time, without a clock read.
      std::chrono::steady_clock::time_point ended{};
      try {
        if constexpr (std::is_void_v<R>) {
          call_unrecorded<R>(node, route, function, options, started, ended, args...);
          node.record_call_end(route, function, started, Errc::ok, {}, ended);
        } else {
          R result = call_unrecorded<R>(node, route, function, options, started, ended, args...);
          node.record_call_end(route, function, started, Errc::ok, {}, ended);
          return result;
        }
      } catch (...) {
        node.record_call_error(route, function, started, std::current_exception());
        throw;
      }
    }
  }

  // `started`: the call's start (its sent_at and the base of its deadline);
  // `ended` is set to when the reply arrived, if one did.
  template <class R, class... Args>
  static R call_unrecorded(Node& node, const Route& route, std::string_view function,
                           const CallOptions& options,
                           std::chrono::steady_clock::time_point started,
                           std::chrono::steady_clock::time_point& ended, const Args&... args) {
    if (route.local != nullptr) {
      return FunctionRegistry::call_entry<R>(*route.local, node.name(), args...);
    }
    const std::chrono::milliseconds timeout = node.effective_timeout(options);
    BlockingCall<R> pending(route.node, function, timeout);
    pending.sent_at = started;
    const auto deadline = started + timeout;
    node.send_call(*route.peer, pending, function, timeout,
                   [&](Buffer& out) { encode_args(out, args...); });
    if (!Node::await_reply(*route.peer, pending.done(), deadline)) {
      if (node.withdraw_call(*route.peer, pending, function, timeout)) {
        throw Timeout(std::string(function), std::string(route.node), timeout);
      }
      pending.wait();  // a reply or failure is being delivered right now
    }
    ended = pending.replied_at;
    return pending.take();
  }

  // multicall: start every call, then wait for all. Remote calls run in
  // parallel; a local one runs in the calling thread while the others fly.
  template <class R, class... Args>
  static std::vector<NodeResult<R>> multicall_on(Node& node, const std::vector<Route>& routes,
                                                 std::string_view function,
                                                 const CallOptions& options, const Args&... args) {
    if constexpr (!checked_blocking_result<R>()) {
      std::abort();  // not compiled for a valid R; else the assertion's message alone is shown
    } else {
      const std::chrono::milliseconds timeout = node.effective_timeout(options);
      const auto deadline = std::chrono::steady_clock::now() + timeout;
      std::vector<std::unique_ptr<BlockingCall<R>>> pending(routes.size());
      std::vector<NodeResult<R>> results(routes.size());
      // Each node's call is one call for telemetry, ended when its result is in.
      std::vector<std::chrono::steady_clock::time_point> started(routes.size());
      auto record = [&](std::size_t i) {
        if (results[i].error) {
          node.record_call_error(routes[i], function, started[i], results[i].error);
        } else {
          node.record_call_end(routes[i], function, started[i], Errc::ok);
        }
      };
      for (std::size_t i = 0; i < routes.size(); ++i) {
        results[i].node = routes[i].node;
        if (routes[i].peer) {
          started[i] = node.record_call_start(routes[i], function);
          pending[i] = std::make_unique<BlockingCall<R>>(results[i].node, function, timeout);
          try {
            node.send_call(*routes[i].peer, *pending[i], function, timeout,
                           [&](Buffer& out) { encode_args(out, args...); });
          } catch (...) {
            results[i].error = std::current_exception();
            pending[i].reset();  // never registered (send_call withdrew it)
            record(i);
          }
        }
      }
      for (std::size_t i = 0; i < routes.size(); ++i) {
        if (routes[i].peer) continue;
        started[i] = node.record_call_start(routes[i], function);
        try {
          const FunctionEntry* entry = node.functions().find(function);
          if (entry == nullptr) throw UnknownFunction(std::string(function), "node " + node.name());
          if constexpr (std::is_void_v<R>) {
            FunctionRegistry::call_entry<R>(*entry, node.name(), args...);
            results[i].value = true;
          } else {
            results[i].value = FunctionRegistry::call_entry<R>(*entry, node.name(), args...);
          }
        } catch (...) {
          results[i].error = std::current_exception();
        }
        record(i);
      }
      for (std::size_t i = 0; i < routes.size(); ++i) {
        if (!pending[i]) continue;
        auto& p = *pending[i];
        if (!Node::await_reply(*routes[i].peer, p.done(), deadline)) {
          if (node.withdraw_call(*routes[i].peer, p, function, timeout)) {
            results[i].error =
                std::make_exception_ptr(Timeout(std::string(function), results[i].node, timeout));
            record(i);
            continue;
          }
          p.wait();
        }
        try {
          if constexpr (std::is_void_v<R>) {
            p.take();
            results[i].value = true;
          } else {
            results[i].value = p.take();
          }
        } catch (...) {
          results[i].error = std::current_exception();
        }
        record(i);
      }
      return results;
    }
  }
};

}  // namespace detail

template <class F>
void Node::expose(std::string name, F&& fn, ExposeOptions options) {
  functions().expose(std::move(name), std::forward<F>(fn), options);
  functions_changed();
}

template <class R, class... Args>
R Node::rpc_region(std::string_view region, std::string_view function, Args&&... args) {
  return detail::with_options(
      [&](const CallOptions& o, auto&&... a) {
        return detail::NodeCalls::call<R>(*this, route_region(region, function, o), function, o,
                                          a...);
      },
      std::forward<Args>(args)...);
}

template <class R, class... Args>
R Node::rpc_region(primary_t, std::string_view function, Args&&... args) {
  return rpc_region<R>(primary_region(), function, std::forward<Args>(args)...);
}

template <class R, class... Args>
R Node::rpc_primary(std::string_view function, Args&&... args) {
  return rpc_region<R>(primary_region(), function, std::forward<Args>(args)...);
}

template <class R, class... Args>
R Node::rpc(std::string_view node, std::string_view function, Args&&... args) {
  return detail::with_options(
      [&](const CallOptions& o, auto&&... a) {
        return detail::NodeCalls::call<R>(*this, route_node(node, function, o), function, o, a...);
      },
      std::forward<Args>(args)...);
}

template <class R, class... Args>
std::vector<NodeResult<R>> Node::multicall_region(std::string_view region,
                                                  std::string_view function, Args&&... args) {
  return detail::with_options(
      [&](const CallOptions& o, auto&&... a) {
        return detail::NodeCalls::multicall_on<R>(*this, members_of(region, o), function, o, a...);
      },
      std::forward<Args>(args)...);
}

template <class R, class... Args>
std::vector<NodeResult<R>> Node::multicall(std::string_view function, Args&&... args) {
  return detail::with_options(
      [&](const CallOptions& o, auto&&... a) {
        return detail::NodeCalls::multicall_on<R>(*this, members_of("", o), function, o, a...);
      },
      std::forward<Args>(args)...);
}

}  // namespace fly
