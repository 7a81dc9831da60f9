// The floor client. Blocking: one connection per caller, a gathered write of
// header and payload, then a read of the reply. Async: one connection for all
// slots, requests pipelined (queued frames leave in one gathered write) and
// replies matched to slots in order, all on one I/O thread.
#include <asio.hpp>
#include <chrono>
#include <deque>
#include <stdexcept>
#include <thread>

#include "../driver/system.hpp"
#include "frame.hpp"

namespace flybench::floor {
namespace {

using asio::ip::tcp;

// Connects to `t`, retrying while the server comes up, until the deadline.
tcp::socket connect(asio::io_context& io, const Target& t) {
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                      std::chrono::duration<double>(t.connect_timeout_s));
  tcp::endpoint ep(asio::ip::make_address(t.host), t.port);
  for (;;) {
    tcp::socket s(io);
    std::error_code ec;
    s.connect(ep, ec);
    if (!ec) {
      s.set_option(tcp::no_delay(true));
      return s;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      throw std::runtime_error("cannot connect to " + t.host + ":" + std::to_string(t.port) + ": " +
                               ec.message());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // retry back-off, not a wait
  }
}

class Blocking final : public BlockingCaller {
 public:
  Blocking(asio::io_context& io, const Target& t) : socket_(connect(io, t)) {}
  void call(Op op, std::string_view request, std::string& response) override {
    Header h = encode_header(static_cast<std::uint32_t>(request.size()), op);
    std::array<asio::const_buffer, 2> out{asio::buffer(h), asio::buffer(request)};
    asio::write(socket_, out);
    // One read takes a small reply whole (header and payload): a syscall per
    // read is most of a loopback round trip, so the floor makes as few as it can.
    std::size_t have = 0;
    while (have < header_size)
      have += socket_.read_some(asio::buffer(in_.data() + have, in_.size() - have));
    Op rop;
    std::size_t length = decode_header(in_.data(), rop);
    if (have > header_size + length) throw std::runtime_error("floor: more bytes than one reply");
    response.resize(length);
    std::size_t got = have - header_size;
    std::memcpy(response.data(), in_.data() + header_size, got);
    asio::read(socket_, asio::buffer(response.data() + got, length - got));
  }

 private:
  tcp::socket socket_;
  std::array<char, 4096> in_;
};

class Async final : public AsyncCaller {
 public:
  Async(const Target& t, std::size_t slots, Completion done)
      : socket_(connect(io_, t)), done_(std::move(done)), headers_(slots), rbuf_(128 * 1024) {
    read();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~Async() override {
    asio::post(io_, [this] { socket_.close(); });
    work_.reset();
    thread_.join();
  }

  void start(std::size_t slot, Op op, std::string_view request) override {
    // dispatch: runs inline on the I/O thread (from a completion), else posts.
    asio::dispatch(io_, [this, slot, op, request] {
      headers_[slot] = encode_header(static_cast<std::uint32_t>(request.size()), op);
      queued_.push_back(asio::buffer(headers_[slot]));
      queued_.push_back(asio::buffer(request));
      order_.push_back(slot);
      if (!writing_) write();
    });
  }

 private:
  void write() {
    writing_ = true;
    std::swap(queued_, sending_);
    asio::async_write(socket_, sending_, [this](std::error_code ec, std::size_t) {
      writing_ = false;
      sending_.clear();
      if (ec) return fail(ec.message());
      if (!queued_.empty()) write();
    });
  }

  void read() {
    if (have_ == rbuf_.size()) rbuf_.resize(rbuf_.size() * 2);
    socket_.async_read_some(asio::buffer(rbuf_.data() + have_, rbuf_.size() - have_),
                            [this](std::error_code ec, std::size_t n) {
                              if (ec) return fail(ec.message());
                              have_ += n;
                              deliver();
                            });
  }

  // Completes every whole reply in rbuf_, then reads on.
  void deliver() {
    std::size_t used = 0;
    while (have_ - used >= header_size) {
      Op op;
      std::uint32_t length = 0;
      try {
        length = decode_header(rbuf_.data() + used, op);
      } catch (const std::exception& e) {
        return fail(e.what());
      }
      if (have_ - used < header_size + length) {
        if (rbuf_.size() < used + header_size + length) rbuf_.resize(used + header_size + length);
        break;
      }
      if (order_.empty()) return fail("reply without a request");
      std::size_t slot = order_.front();
      order_.pop_front();
      done_(slot, std::string_view(rbuf_.data() + used + header_size, length), {});
      used += header_size + length;
    }
    std::memmove(rbuf_.data(), rbuf_.data() + used, have_ - used);
    have_ -= used;
    read();
  }

  // Fails every call in flight (once); the driver then stops the point.
  void fail(const std::string& why) {
    if (failed_ || !socket_.is_open()) return;  // closing at destruction is not a failure
    failed_ = true;
    for (std::size_t slot : order_) done_(slot, {}, "floor connection: " + why);
    order_.clear();
  }

  asio::io_context io_{1};
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  tcp::socket socket_;
  Completion done_;
  std::vector<Header> headers_;  // per slot: the header of its call in flight
  std::vector<asio::const_buffer> queued_, sending_;
  std::deque<std::size_t> order_;  // slots in the order their requests were sent
  std::vector<char> rbuf_;
  std::size_t have_ = 0;
  bool writing_ = false, failed_ = false;
  std::thread thread_;
};

class FloorSystem final : public System {
 public:
  explicit FloorSystem(const Target& t) : target_(t) {
    if (!t.tls_dir.empty()) throw std::runtime_error("--tls-dir: the floor has no TLS");
    Blocking probe(io_, t);
  }  // wait for the server
  std::unique_ptr<BlockingCaller> blocking() override {
    return std::make_unique<Blocking>(io_, target_);
  }
  std::unique_ptr<AsyncCaller> async(std::size_t slots, AsyncCaller::Completion done) override {
    return std::make_unique<Async>(target_, slots, std::move(done));
  }

 private:
  asio::io_context io_;  // only an executor for the blocking sockets; never run
  Target target_;
};

}  // namespace
}  // namespace flybench::floor

int main(int argc, char** argv) {
  return flybench::run_client(argc, argv, [](const flybench::Target& t) {
    return std::make_unique<flybench::floor::FloorSystem>(t);
  });
}
