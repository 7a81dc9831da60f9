// The gRPC client. All callers share one channel (one HTTP/2 connection), as
// gRPC applications do. Blocking: the synchronous stub. Async: the callback
// API (stub->async()), one ClientContext per call as gRPC requires.
// --tls-dir: SSL channel credentials with the client's certificate (mutual
// TLS; the server requires it), verifying the server as "localhost".
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <thread>

#include "../driver/system.hpp"
#include "../driver/tls_files.hpp"
#include "bench.grpc.pb.h"

namespace flybench {
namespace {

class Blocking final : public BlockingCaller {
 public:
  explicit Blocking(const std::shared_ptr<grpc::Channel>& ch) : stub_(Bench::NewStub(ch)) {}
  void call(Op op, std::string_view request, std::string& response) override {
    grpc::ClientContext ctx;
    req_.set_data(request.data(), request.size());
    grpc::Status st =
        op == Op::upcase ? stub_->Upcase(&ctx, req_, &resp_) : stub_->Echo(&ctx, req_, &resp_);
    if (!st.ok()) throw std::runtime_error("gRPC call failed: " + st.error_message());
    response.assign(resp_.data());
  }

 private:
  std::unique_ptr<Bench::Stub> stub_;
  Blob req_, resp_;
};

class Async final : public AsyncCaller {
 public:
  Async(const std::shared_ptr<grpc::Channel>& ch, std::size_t slots, Completion done)
      : stub_(Bench::NewStub(ch)), slots_(slots), done_(std::move(done)) {}
  ~Async() override {
    // The driver destroys us after the last completion was delivered; wait
    // until that callback has also returned into gRPC before freeing slots.
    while (running_.load() != 0) std::this_thread::yield();
  }

  void start(std::size_t slot, Op op, std::string_view request) override {
    Slot& s = slots_[slot];
    s.ctx.emplace();
    s.req.set_data(request.data(), request.size());
    auto on_done = [this, slot](grpc::Status st) {
      running_.fetch_add(1);
      if (st.ok()) {
        done_(slot, slots_[slot].resp.data(), {});
      } else {
        done_(slot, {}, "gRPC call failed: " + st.error_message());
      }
      running_.fetch_sub(1);
    };
    if (op == Op::upcase) {
      stub_->async()->Upcase(&*s.ctx, &s.req, &s.resp, std::move(on_done));
    } else {
      stub_->async()->Echo(&*s.ctx, &s.req, &s.resp, std::move(on_done));
    }
  }

 private:
  struct Slot {
    std::optional<grpc::ClientContext> ctx;  // fresh per call: gRPC forbids reuse
    Blob req, resp;
  };
  std::unique_ptr<Bench::Stub> stub_;
  std::vector<Slot> slots_;
  Completion done_;
  std::atomic<int> running_{0};
};

class GrpcSystem final : public System {
 public:
  explicit GrpcSystem(const Target& t) {
    std::string address = (t.host.find(':') != std::string::npos ? "[" + t.host + "]" : t.host) +
                          ":" + std::to_string(t.port);
    if (t.tls_dir.empty()) {
      channel_ = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
    } else {
      grpc::SslCredentialsOptions ssl;
      ssl.pem_root_certs = read_tls_file(t.tls_dir, "ca.pem");
      ssl.pem_private_key = read_tls_file(t.tls_dir, "client.key");
      ssl.pem_cert_chain = read_tls_file(t.tls_dir, "client.pem");
      grpc::ChannelArguments args;
      args.SetSslTargetNameOverride("localhost");
      channel_ = grpc::CreateCustomChannel(address, grpc::SslCredentials(ssl), args);
    }
    auto deadline = std::chrono::system_clock::now() +
                    std::chrono::milliseconds(static_cast<long>(t.connect_timeout_s * 1000));
    if (!channel_->WaitForConnected(deadline)) {
      throw std::runtime_error("cannot connect to " + address);
    }
  }
  std::unique_ptr<BlockingCaller> blocking() override {
    return std::make_unique<Blocking>(channel_);
  }
  std::unique_ptr<AsyncCaller> async(std::size_t slots, AsyncCaller::Completion done) override {
    return std::make_unique<Async>(channel_, slots, std::move(done));
  }

 private:
  std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace
}  // namespace flybench

int main(int argc, char** argv) {
  return flybench::run_client(argc, argv, [](const flybench::Target& t) {
    return std::make_unique<flybench::GrpcSystem>(t);
  });
}
