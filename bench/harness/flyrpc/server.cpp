// The flyrpc server: a fly::Node of region syd (FLY_REGION/PRIMARY_REGION from
// the environment, set by run.sh) exposing the harness's two functions:
//   "String.upcase"(std::string) -> std::string   ASCII upper-casing
//   "Echo.bytes"(std::vector<unsigned char>) -> the same bytes
//
//   flyrpc_bench_server [--port N] [--handlers inline|pool] [--tls-dir DIR]
// prints "READY <port>" once it accepts calls and stops on SIGTERM/SIGINT.
// --tls-dir: NodeOptions::tls from DIR's server.pem/server.key, trusting DIR's
// ca.pem and requiring a client certificate (mutual TLS 1.3).
// --handlers: inline runs both functions on the I/O thread that read the call
// (ExposeOptions::non_blocking, no hop to a worker); pool runs them on the
// worker pool, the default of expose(). The default here is inline: measured
// faster on every point (docs/PERFORMANCE.md, "Where the time goes").
// The cookie comes from FLY_RPC_COOKIE, which must be set: a benchmark must
// not create ~/.flyrpc.cookie as a side effect.
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "../driver/payloads.hpp"
#include "../driver/tls_files.hpp"
#include "fly/node.hpp"

namespace {

int usage(const std::string& why) {
  std::cerr << "flyrpc_bench_server: " << why
            << "\nusage: flyrpc_bench_server [--port N] [--handlers inline|pool] [--tls-dir DIR]"
               "   (port 0 or absent: any free port)\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  long port = 0;
  bool inline_handlers = true;
  std::string tls_dir;
  for (int i = 1; i < argc; i += 2) {
    const std::string key = argv[i];
    if (i + 1 >= argc) return usage(key + " needs a value");
    const std::string value = argv[i + 1];
    if (key == "--port") {
      char* end = nullptr;
      port = std::strtol(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || port < 0 || port > 65535) {
        return usage("--port: '" + value + "' is not a port (0-65535)");
      }
    } else if (key == "--tls-dir") {
      tls_dir = value;
    } else if (key == "--handlers") {
      if (value != "inline" && value != "pool") {
        return usage("--handlers: '" + value + "' is not inline or pool");
      }
      inline_handlers = value == "inline";
    } else {
      return usage("unknown option " + key);
    }
  }
  const char* cookie = std::getenv("FLY_RPC_COOKIE");
  if (cookie == nullptr || *cookie == '\0') return usage("FLY_RPC_COOKIE is not set");

  // Block the stop signals before the node starts its threads (they inherit
  // the mask), so that only sigwait below receives them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  try {
    // The library logs through spdlog's default logger, which writes to
    // stdout; the harness's contract reserves stdout for the READY line.
    spdlog::set_default_logger(spdlog::stderr_logger_st("flyrpc_bench_server"));
    fly::NodeOptions options = fly::NodeOptions::from_env();
    // Loopback only, and no discovery: the client finds us by its seed.
    options.listen_host = "127.0.0.1";
    options.advertise_address.clear();
    options.port = static_cast<std::uint16_t>(port);
    options.seeds.clear();
    options.dns_name.clear();
    if (!tls_dir.empty()) {
      options.tls.certificate_file = flybench::tls_file(tls_dir, "server.pem");
      options.tls.private_key_file = flybench::tls_file(tls_dir, "server.key");
      options.tls.ca_file = flybench::tls_file(tls_dir, "ca.pem");
      options.tls.require_client_certificate = true;
    }
    fly::Node node(options);
    const fly::ExposeOptions how{.non_blocking = inline_handlers};
    node.expose(
        "String.upcase",
        [](std::string s) {
          flybench::ascii_upcase(s.data(), s.size());
          return s;
        },
        how);
    node.expose(
        "Echo.bytes", [](std::vector<unsigned char> bytes) { return bytes; }, how);
    node.start();
    std::cout << "READY " << node.listen_port() << std::endl;
    int sig = 0;
    sigwait(&stop, &sig);
    node.stop();
  } catch (const std::exception& e) {
    std::cerr << "flyrpc_bench_server: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
