// The floor server: raw TCP ping-pong on loopback, one thread, no encoding.
// It reads whatever is there, answers every whole frame in place (upcase
// rewrites the bytes, echo leaves them) and writes them back in one write:
// pipelined requests from the async client are answered in batches.
//
//   floor_bench_server [--port N]     prints "READY <port>" once listening
#include <asio.hpp>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "frame.hpp"

namespace flybench::floor {
namespace {

using asio::ip::tcp;

class Session : public std::enable_shared_from_this<Session> {
 public:
  explicit Session(tcp::socket socket) : socket_(std::move(socket)), buf_(16 * 1024) {}
  void start() { read(); }

 private:
  void read() {
    if (have_ == buf_.size()) buf_.resize(buf_.size() * 2);
    socket_.async_read_some(asio::buffer(buf_.data() + have_, buf_.size() - have_),
                            [self = shared_from_this()](std::error_code ec, std::size_t n) {
                              if (ec) return;  // peer gone: the session ends with its last handler
                              self->have_ += n;
                              self->answer();
                            });
  }

  // Transforms every whole frame in buf_[0, have_) and writes them back.
  void answer() {
    std::size_t done = 0;
    try {
      while (have_ - done >= header_size) {
        Op op;
        std::uint32_t length = decode_header(buf_.data() + done, op);
        std::size_t frame = header_size + length;
        if (have_ - done < frame) {
          if (buf_.size() < done + frame) buf_.resize(done + frame);
          break;
        }
        if (op == Op::upcase) ascii_upcase(buf_.data() + done + header_size, length);
        done += frame;
      }
    } catch (const std::exception& e) {
      std::cerr << "floor server: closing a connection: " << e.what() << "\n";
      return;
    }
    if (done == 0) return read();
    asio::async_write(socket_, asio::buffer(buf_.data(), done),
                      [self = shared_from_this(), done](std::error_code ec, std::size_t) {
                        if (ec) return;
                        // Keep the partial frame that followed (never a whole one).
                        std::memmove(self->buf_.data(), self->buf_.data() + done,
                                     self->have_ - done);
                        self->have_ -= done;
                        self->read();
                      });
  }

  tcp::socket socket_;
  std::vector<char> buf_;
  std::size_t have_ = 0;
};

void accept(tcp::acceptor& acceptor) {
  acceptor.async_accept([&acceptor](std::error_code ec, tcp::socket socket) {
    if (ec) return;  // acceptor closed at shutdown
    socket.set_option(tcp::no_delay(true));
    std::make_shared<Session>(std::move(socket))->start();
    accept(acceptor);
  });
}

}  // namespace
}  // namespace flybench::floor

int main(int argc, char** argv) {
  using namespace flybench::floor;
  long port = 0;
  if (argc == 3 && std::string(argv[1]) == "--port") {
    char* end = nullptr;
    port = std::strtol(argv[2], &end, 10);
    if (*end != '\0' || port < 0 || port > 65535) {
      std::cerr << "floor_bench_server: --port: '" << argv[2] << "' is not a port (0-65535)\n";
      return 2;
    }
  } else if (argc != 1) {
    std::cerr << "usage: floor_bench_server [--port N]   (0 or absent: any free port)\n";
    return 2;
  }
  asio::io_context io(1);
  tcp::acceptor acceptor(
      io, tcp::endpoint(asio::ip::address_v4::loopback(), static_cast<std::uint16_t>(port)));
  accept(acceptor);
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](std::error_code, int) { io.stop(); });
  std::cout << "READY " << acceptor.local_endpoint().port() << std::endl;
  io.run();
  return 0;
}
