// Every way a flyrpc call or set-up can fail, as a typed exception.
//
// A blocking call (rpc_region, rpc_primary, rpc) ends exactly once: with its
// result, or by throwing one of the classes below. Async calls deliver the same
// exception through an std::exception_ptr. Catch fly::Error for all of them,
// or a subclass to act on one outcome; code() gives the same distinction as an
// enum for switch statements and exit codes.
#pragma once

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

namespace fly {

/// The outcome classes. Stable numbers: they travel on the wire (REPLY status)
/// and the CLI maps them to exit codes.
enum class Errc : unsigned char {
  ok = 0,
  no_node_in_region = 1,  ///< no visible node in the target region exports anything
  unknown_function = 2,   ///< the target exports no function of that name
  bad_arguments = 3,      ///< the callee could not decode the arguments
  remote_error = 4,       ///< the function threw on the callee
  timeout = 5,            ///< no answer within the call's timeout
  node_down = 6,          ///< the connection to the callee died mid-call
  cancelled = 7,          ///< the call was cancelled (the node is stopping)
  unavailable = 8,        ///< the callee refused the call (it is stopping)
  config = 9,             ///< a setting (environment, option) is invalid
  protocol = 10,          ///< a peer broke the wire protocol
  not_connected = 11,     ///< the named node is not connected
};

/// A short stable name for an Errc ("timeout", "node_down", ...).
const char* to_string(Errc code) noexcept;

/// Base of every flyrpc exception.
class Error : public std::runtime_error {
 public:
  Error(Errc code, const std::string& message) : std::runtime_error(message), code_(code) {}
  Errc code() const noexcept { return code_; }

 private:
  Errc code_;
};

/// rpc_region found no node in the region (or none that is visible).
class NoNodeInRegion : public Error {
 public:
  NoNodeInRegion(std::string region, std::vector<std::string> available_regions);
  const std::string& region() const noexcept { return region_; }
  /// The regions that do have visible nodes right now (sorted).
  const std::vector<std::string>& available_regions() const noexcept { return available_; }

 private:
  std::string region_;
  std::vector<std::string> available_;
};

/// No node at the target exports the function (for instance mid-way through a
/// rolling deploy, or a typo).
class UnknownFunction : public Error {
 public:
  UnknownFunction(std::string function, std::string target);
  const std::string& function() const noexcept { return function_; }
  /// Where it was looked for: "region syd", "node a@syd", or "this node".
  const std::string& target() const noexcept { return target_; }

 private:
  std::string function_;
  std::string target_;
};

/// The callee could not decode the arguments: wrong count or wrong types.
class BadArguments : public Error {
 public:
  /// `detail` says what was wrong (e.g. "argument 1: expected string, got integer").
  BadArguments(std::string function, std::string expected_signature, std::string detail);
  const std::string& function() const noexcept { return function_; }
  /// The function's signature, e.g. "String.upcase(string) -> string".
  const std::string& expected_signature() const noexcept { return expected_; }
  const std::string& detail() const noexcept { return detail_; }

 private:
  std::string function_;
  std::string expected_;
  std::string detail_;
};

/// The function threw on the node that ran it.
class RemoteError : public Error {
 public:
  RemoteError(std::string node, std::string function, std::string exception_type,
              std::string remote_message);
  /// Name of the node that ran the function ("" for a local call).
  const std::string& node() const noexcept { return node_; }
  const std::string& function() const noexcept { return function_; }
  /// Demangled type of the exception, e.g. "std::invalid_argument".
  const std::string& exception_type() const noexcept { return type_; }
  /// The exception's what().
  const std::string& remote_message() const noexcept { return remote_message_; }

 private:
  std::string node_;
  std::string function_;
  std::string type_;
  std::string remote_message_;
};

/// No answer within the call's timeout. The callee has been told to give up.
class Timeout : public Error {
 public:
  Timeout(std::string function, std::string node, std::chrono::milliseconds timeout);
  const std::string& function() const noexcept { return function_; }
  const std::string& node() const noexcept { return node_; }
  std::chrono::milliseconds timeout() const noexcept { return timeout_; }

 private:
  std::string function_;
  std::string node_;
  std::chrono::milliseconds timeout_;
};

/// The connection to the callee died while the call was in flight; reported
/// as soon as the death is known, not after the timeout.
class NodeDown : public Error {
 public:
  NodeDown(std::string node, std::string function, std::string reason);
  const std::string& node() const noexcept { return node_; }
  const std::string& function() const noexcept { return function_; }
  const std::string& reason() const noexcept { return reason_; }

 private:
  std::string node_;
  std::string function_;
  std::string reason_;
};

/// The named node is not (or no longer) connected.
class NotConnected : public Error {
 public:
  explicit NotConnected(std::string node);
  const std::string& node() const noexcept { return node_; }

 private:
  std::string node_;
};

/// The callee refused the call because it is stopping; safe to retry elsewhere.
class Unavailable : public Error {
 public:
  Unavailable(std::string node, std::string function, std::string reason);
  const std::string& node() const noexcept { return node_; }

 private:
  std::string node_;
};

/// The call was cancelled before it completed (this node is stopping).
class Cancelled : public Error {
 public:
  explicit Cancelled(std::string function);
};

/// A setting is invalid. `setting` names it (an environment variable, an
/// option or a CLI flag), `value` is what was given.
class ConfigError : public Error {
 public:
  ConfigError(std::string setting, std::string value, const std::string& why);
  const std::string& setting() const noexcept { return setting_; }
  const std::string& value() const noexcept { return value_; }

 private:
  std::string setting_;
  std::string value_;
};

/// A peer broke the wire protocol (the connection is closed).
class ProtocolError : public Error {
 public:
  explicit ProtocolError(const std::string& message) : Error(Errc::protocol, message) {}
};

}  // namespace fly
