// What a system under test provides to the driver: a blocking call and,
// optionally, an asynchronous one. Each client binary (floor, gRPC, flyrpc)
// implements these three small interfaces and hands a factory to run_client().
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "payloads.hpp"

namespace flybench {

/// Where the server listens (always loopback: options.cpp refuses anything else)
/// and how long connecting may take while the server comes up.
struct Target {
  std::string host;
  std::uint16_t port = 0;
  double connect_timeout_s = 10;
  /// Empty: plaintext. Else a directory made by bench/run.sh holding ca.pem
  /// (the CA both ends trust), client.pem and client.key (this end's
  /// certificate, for mutual TLS); the server's name in its certificate is
  /// "localhost" and 127.0.0.1. A system without TLS refuses it.
  std::string tls_dir;
};

/// A blocking caller. The driver creates one per measuring thread and uses it
/// from that thread only; it may own a connection or share one with others.
class BlockingCaller {
 public:
  virtual ~BlockingCaller() = default;
  /// Runs `op(request)` remotely and waits for the result, written into
  /// `response` (reused across calls so that the driver does not allocate).
  /// Throws std::exception on any failure.
  virtual void call(Op op, std::string_view request, std::string& response) = 0;
};

/// An asynchronous caller with a fixed number of slots, each with at most one
/// call in flight. Calls complete through the Completion given at creation.
class AsyncCaller {
 public:
  /// Called once per call, on a thread of the system's choosing, with either
  /// the response (error empty) or an error message. The views are valid only
  /// during the call. It may call start() again, for the same slot.
  using Completion =
      std::function<void(std::size_t slot, std::string_view response, std::string_view error)>;

  virtual ~AsyncCaller() = default;
  /// Starts `op(request)` for `slot`, which has no call in flight. Must not wait
  /// for the network; may be called from any thread, including from inside the
  /// Completion. `request` stays valid until the call completes.
  virtual void start(std::size_t slot, Op op, std::string_view request) = 0;
};

/// A system as seen from the client process. Connection set-up happens in
/// these factories, before any timing starts.
class System {
 public:
  virtual ~System() = default;
  virtual std::unique_ptr<BlockingCaller> blocking() = 0;
  /// nullptr when the system has no asynchronous form (the driver skips it).
  virtual std::unique_ptr<AsyncCaller> async(std::size_t slots, AsyncCaller::Completion done) = 0;
};

/// The main() of a client binary: parses the common options (see options.hpp),
/// makes the system with `make`, runs every requested measurement and prints
/// one JSON object per measurement on stdout. Returns the process exit code.
int run_client(int argc, char** argv,
               const std::function<std::unique_ptr<System>(const Target&)>& make);

}  // namespace flybench
