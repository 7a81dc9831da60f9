// The command line shared by every C++ client (and mirrored by the Erlang one).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "system.hpp"

namespace flybench {

struct ClientOptions {
  std::string system;                 // name printed in every JSON object
  Target target;                      // loopback host and port of the server
  std::vector<std::string> payloads;  // subset of upcase3, echo1k, echo64k
  std::vector<std::string> modes;     // subset of sequential, blocking, async
  std::vector<std::size_t> inflight;  // calls in flight for blocking/async
  std::size_t seq_calls = 20000;      // measured sequential calls
  std::size_t seq_warmup = 2000;      // sequential calls before measuring
  double seq_seconds = 0;             // bound on the sequential point's time; 0: none
  double seconds = 1.0;               // measured duration of a throughput point
  double warmup_s = 0.2;              // unmeasured lead-in of a throughput point
  std::size_t max_calls = 2000000;    // bound on measured calls per point
  int server_pid = 0;                 // the server process whose CPU is measured; 0: none
};

/// Parses and validates argv. Prints help or an error naming the bad option and
/// exits (0 for --help, 2 for an error): a benchmark with a bad option is useless.
ClientOptions parse_client_options(int argc, char** argv);

/// Whether `host` is a literal loopback address (127.0.0.0/8 or ::1); the
/// harness never sends traffic anywhere else.
bool is_loopback(const std::string& host);

}  // namespace flybench
