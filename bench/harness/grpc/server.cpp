// The gRPC server, in one of the two server APIs gRPC C++ offers, so that the
// harness can report the better of them:
//   grpc_bench_server --api sync|callback [--port N] [--tls-dir DIR]
// prints "READY <port>". --tls-dir: SSL server credentials from DIR's
// server.pem/server.key, requiring and verifying a client certificate signed
// by DIR's ca.pem (mutual TLS).
// sync: the classic synchronous service, run on gRPC's own thread pool.
// callback: the callback (reactor) API, answering inline on gRPC's threads.
#include <grpcpp/grpcpp.h>

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>

#include "../driver/payloads.hpp"
#include "../driver/tls_files.hpp"
#include "bench.grpc.pb.h"

namespace flybench {
namespace {

void upcase(const Blob& in, Blob& out) {
  out.set_data(in.data());
  ascii_upcase(out.mutable_data()->data(), out.data().size());
}

class SyncService final : public Bench::Service {
  grpc::Status Upcase(grpc::ServerContext*, const Blob* in, Blob* out) override {
    upcase(*in, *out);
    return grpc::Status::OK;
  }
  grpc::Status Echo(grpc::ServerContext*, const Blob* in, Blob* out) override {
    out->set_data(in->data());
    return grpc::Status::OK;
  }
};

class CallbackService final : public Bench::CallbackService {
  grpc::ServerUnaryReactor* Upcase(grpc::CallbackServerContext* ctx, const Blob* in,
                                   Blob* out) override {
    upcase(*in, *out);
    auto* reactor = ctx->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* ctx, const Blob* in,
                                 Blob* out) override {
    out->set_data(in->data());
    auto* reactor = ctx->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

int usage(const std::string& why) {
  std::cerr << "grpc_bench_server: " << why
            << "\nusage: grpc_bench_server --api sync|callback [--port N] [--tls-dir DIR]\n";
  return 2;
}

}  // namespace
}  // namespace flybench

int main(int argc, char** argv) {
  using namespace flybench;
  std::string api, tls_dir;
  long port = 0;
  for (int i = 1; i < argc; i += 2) {
    std::string key = argv[i];
    if (i + 1 >= argc) return usage(key + " needs a value");
    std::string value = argv[i + 1];
    if (key == "--api") {
      api = value;
    } else if (key == "--tls-dir") {
      tls_dir = value;
    } else if (key == "--port") {
      char* end = nullptr;
      port = std::strtol(value.c_str(), &end, 10);
      if (*end != '\0' || port < 0 || port > 65535)
        return usage("--port: '" + value + "' is not a port");
    } else {
      return usage("unknown option " + key);
    }
  }
  if (api != "sync" && api != "callback")
    return usage("--api: '" + api + "' is not sync or callback");

  // Block the stop signals before gRPC starts its threads, so that only the
  // waiting thread below receives them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  SyncService sync_service;
  CallbackService callback_service;
  grpc::ServerBuilder builder;
  int selected = 0;
  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
  if (!tls_dir.empty()) {
    try {
      grpc::SslServerCredentialsOptions ssl(
          GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
      ssl.pem_root_certs = read_tls_file(tls_dir, "ca.pem");
      ssl.pem_key_cert_pairs.push_back(
          {read_tls_file(tls_dir, "server.key"), read_tls_file(tls_dir, "server.pem")});
      credentials = grpc::SslServerCredentials(ssl);
    } catch (const std::exception& e) {
      return usage(std::string("--tls-dir: ") + e.what());
    }
  }
  builder.AddListeningPort("127.0.0.1:" + std::to_string(port), credentials, &selected);
  if (api == "sync") {
    builder.RegisterService(&sync_service);
  } else {
    builder.RegisterService(&callback_service);
  }
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || selected == 0) {
    std::cerr << "grpc_bench_server: cannot listen on 127.0.0.1:" << port << "\n";
    return 1;
  }
  std::cout << "READY " << selected << std::endl;
  int sig = 0;
  sigwait(&stop, &sig);
  server->Shutdown();
  return 0;
}
