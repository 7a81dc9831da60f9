// The flyrpc client: a fly::Node of region lax (FLY_REGION, set by run.sh)
// seeded with the server, calling it with rpc_region to the primary region
// (PRIMARY_REGION=syd, the server's region): every call crosses the network.
// All callers share the one node, and so its one connection to the server,
// as an application's threads would.
//   blocking: node.rpc_region<std::string>("syd", ...), from each driver thread;
//   async:    node.async_rpc_region<std::string>("syd", ..., callback); the
//             callback runs on the node's I/O thread and starts the next call.
// Echo sends its bytes as msgpack bin (std::span, no copy) to
// "Echo.bytes"(std::vector<unsigned char>); the bin result converts to the
// std::string the driver wants.
// --tls-dir: NodeOptions::tls with the client's certificate, trusting the
// harness's CA; the server requires client certificates (mutual TLS 1.3).
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "../driver/system.hpp"
#include "../driver/tls_files.hpp"
#include "fly/async.hpp"
#include "fly/node.hpp"

namespace flybench {
namespace {

constexpr std::string_view kUpcase = "String.upcase";
constexpr std::string_view kEcho = "Echo.bytes";

std::span<const unsigned char> bytes_of(std::string_view s) {
  return {reinterpret_cast<const unsigned char*>(s.data()), s.size()};
}

class Blocking final : public BlockingCaller {
 public:
  Blocking(fly::Node& node, const std::string& region) : node_(node), region_(region) {}
  void call(Op op, std::string_view request, std::string& response) override {
    response = op == Op::upcase ? node_.rpc_region<std::string>(region_, kUpcase, request)
                                : node_.rpc_region<std::string>(region_, kEcho, bytes_of(request));
  }

 private:
  fly::Node& node_;
  const std::string& region_;
};

class Async final : public AsyncCaller {
 public:
  Async(fly::Node& node, const std::string& region, Completion done)
      : node_(node), region_(region), done_(std::move(done)) {}
  ~Async() override {
    // The driver destroys us after the last completion was delivered; wait
    // until that callback has also returned before our members go.
    while (running_.load() != 0) std::this_thread::yield();
  }

  void start(std::size_t slot, Op op, std::string_view request) override {
    auto on_done = [this, slot](std::exception_ptr e, std::string result) {
      running_.fetch_add(1);
      if (!e) {
        done_(slot, result, {});
      } else {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& x) {
          done_(slot, {}, std::string("flyrpc call failed: ") + x.what());
        }
      }
      running_.fetch_sub(1);
    };
    if (op == Op::upcase) {
      node_.async_rpc_region<std::string>(region_, kUpcase, request, std::move(on_done));
    } else {
      node_.async_rpc_region<std::string>(region_, kEcho, bytes_of(request), std::move(on_done));
    }
  }

 private:
  fly::Node& node_;
  const std::string& region_;
  Completion done_;
  std::atomic<int> running_{0};
};

class FlyrpcSystem final : public System {
 public:
  explicit FlyrpcSystem(const Target& t) {
    const char* cookie = std::getenv("FLY_RPC_COOKIE");
    if (cookie == nullptr || *cookie == '\0') {
      throw std::runtime_error("FLY_RPC_COOKIE is not set (it must be the server's cookie)");
    }
    // The library logs through spdlog's default logger (stdout); the driver's
    // stdout carries only JSON lines.
    spdlog::set_default_logger(spdlog::stderr_logger_mt("flyrpc_bench_client"));
    fly::NodeOptions options = fly::NodeOptions::from_env();
    options.listen_host = "127.0.0.1";
    options.advertise_address.clear();
    options.port = 0;
    options.dns_name.clear();
    options.seeds = {(t.host.find(':') != std::string::npos ? "[" + t.host + "]" : t.host) + ":" +
                     std::to_string(t.port)};
    if (!t.tls_dir.empty()) {
      options.tls.certificate_file = tls_file(t.tls_dir, "client.pem");
      options.tls.private_key_file = tls_file(t.tls_dir, "client.key");
      options.tls.ca_file = tls_file(t.tls_dir, "ca.pem");
      options.tls.require_client_certificate = true;
    }
    region_ = options.primary_region;
    if (region_ == options.region) {
      throw std::runtime_error("the client's region (FLY_REGION=" + options.region +
                               ") must differ from the server's (PRIMARY_REGION=" + region_ +
                               "): the benchmark measures calls to another region");
    }
    node_ = std::make_unique<fly::Node>(options);
    node_->start();
    const auto timeout = std::chrono::milliseconds(static_cast<long>(t.connect_timeout_s * 1000));
    if (!node_->wait_for_region(region_, timeout)) {
      std::string why = node_->last_join_error();
      throw std::runtime_error("no node of region " + region_ + " joined within " +
                               std::to_string(timeout.count()) + " ms" +
                               (why.empty() ? "" : ": " + why));
    }
  }
  ~FlyrpcSystem() override { node_->stop(); }

  std::unique_ptr<BlockingCaller> blocking() override {
    return std::make_unique<Blocking>(*node_, region_);
  }
  std::unique_ptr<AsyncCaller> async(std::size_t /*slots*/, AsyncCaller::Completion done) override {
    return std::make_unique<Async>(*node_, region_, std::move(done));
  }

 private:
  std::string region_;
  std::unique_ptr<fly::Node> node_;
};

}  // namespace
}  // namespace flybench

int main(int argc, char** argv) {
  return flybench::run_client(argc, argv, [](const flybench::Target& t) {
    return std::make_unique<flybench::FlyrpcSystem>(t);
  });
}
