#include "options.hpp"

#include <arpa/inet.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdlib>
#include <iostream>

#include "payloads.hpp"

namespace flybench {

bool is_loopback(const std::string& host) {
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  return inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

ClientOptions parse_client_options(int argc, char** argv) {
  ClientOptions o;
  o.target.host = "127.0.0.1";
  o.payloads = {"upcase3", "echo1k", "echo64k"};
  o.modes = {"sequential", "blocking", "async"};
  o.inflight = {1, 8, 64, 256};
  int port = 0;

  CLI::App app{"flyrpc benchmark client: measures one system, prints one JSON object per line"};
  app.add_option("--system", o.system, "name printed in the results")->required();
  app.add_option("--host", o.target.host, "server address (loopback only)");
  app.add_option("--port", port, "server port")->required()->check(CLI::Range(1, 65535));
  app.add_option("--connect-timeout", o.target.connect_timeout_s,
                 "seconds to wait for the server to accept")
      ->check(CLI::Range(0.1, 120.0));
  app.add_option("--payloads", o.payloads, "upcase3, echo1k, echo64k")
      ->delimiter(',')
      ->check(CLI::IsMember({"upcase3", "echo1k", "echo64k"}));
  app.add_option("--modes", o.modes, "sequential, blocking, async")
      ->delimiter(',')
      ->check(CLI::IsMember({"sequential", "blocking", "async"}));
  app.add_option("--inflight", o.inflight, "calls in flight for blocking/async points")
      ->delimiter(',')
      ->check(CLI::Range(1, 4096));
  app.add_option("--seq-calls", o.seq_calls, "measured sequential calls")
      ->check(CLI::Range(1, 10000000));
  app.add_option("--seq-warmup", o.seq_warmup, "sequential warm-up calls")
      ->check(CLI::Range(0, 10000000));
  app.add_option("--seq-seconds", o.seq_seconds,
                 "bound on the sequential warm-up and, again, on its measured calls (0: none)")
      ->check(CLI::Range(0.0, 600.0));
  app.add_option("--seconds", o.seconds, "measured seconds per throughput point")
      ->check(CLI::Range(0.01, 60.0));
  app.add_option("--warmup", o.warmup_s, "warm-up seconds per throughput point")
      ->check(CLI::Range(0.0, 60.0));
  app.add_option("--max-calls", o.max_calls, "bound on measured calls per throughput point")
      ->check(CLI::Range(1, 50000000));
  app.add_option("--tls-dir", o.target.tls_dir,
                 "directory with ca.pem, client.pem, client.key: call over mutual TLS")
      ->check(CLI::ExistingDirectory);
  app.add_option("--server-pid", o.server_pid,
                 "the server's process id: its CPU time per call is reported (0: not measured)")
      ->check(CLI::Range(0, 1 << 30));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    std::exit(app.exit(e));
  }
  if (!is_loopback(o.target.host)) {
    std::cerr
        << "--host: '" << o.target.host
        << "' is not a loopback address (127.0.0.0/8 or ::1); the harness stays on loopback\n";
    std::exit(2);
  }
  o.target.port = static_cast<std::uint16_t>(port);
  return o;
}

}  // namespace flybench
