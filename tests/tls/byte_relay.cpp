#include "byte_relay.hpp"

#include <asio/connect.hpp>
#include <asio/write.hpp>

#include <array>
#include <functional>
#include <memory>

namespace tlstest {

namespace {

// One relayed connection: two sockets, one pump each way. Kept alive by its
// pending operations; either side failing closes both.
struct Session : std::enable_shared_from_this<Session> {
  Session(asio::ip::tcp::socket c, asio::io_context& io,
          std::function<void(const char*, std::size_t)> rec)
      : client(std::move(c)), server(io), record(std::move(rec)) {}

  void pump(asio::ip::tcp::socket& from, asio::ip::tcp::socket& to, std::array<char, 16384>& buf) {
    from.async_read_some(asio::buffer(buf), [self = shared_from_this(), &from, &to, &buf](
                                                const asio::error_code& ec, std::size_t n) {
      if (ec) {
        self->close();
        return;
      }
      self->record(buf.data(), n);
      asio::async_write(to, asio::buffer(buf.data(), n),
                        [self, &from, &to, &buf](const asio::error_code& wec, std::size_t) {
                          if (wec) {
                            self->close();
                            return;
                          }
                          self->pump(from, to, buf);
                        });
    });
  }
  void close() {
    asio::error_code ignored;
    client.close(ignored);
    server.close(ignored);
  }

  asio::ip::tcp::socket client;
  asio::ip::tcp::socket server;
  std::function<void(const char*, std::size_t)> record;
  std::array<char, 16384> up{};
  std::array<char, 16384> down{};
};

}  // namespace

ByteRelay::ByteRelay(std::uint16_t target_port)
    : acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}), target_port_(target_port) {
  accept_next();
  thread_ = std::thread([this] { io_.run(); });
}

ByteRelay::~ByteRelay() {
  io_.stop();
  thread_.join();
}

std::string ByteRelay::address() const {
  return "127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
}

std::string ByteRelay::captured() const {
  std::lock_guard lock(mutex_);
  return captured_;
}

void ByteRelay::record(const char* data, std::size_t n) {
  std::lock_guard lock(mutex_);
  captured_.append(data, n);
}

void ByteRelay::accept_next() {
  acceptor_.async_accept([this](const asio::error_code& ec, asio::ip::tcp::socket socket) {
    if (ec) return;
    auto s = std::make_shared<Session>(std::move(socket), io_,
                                       [this](const char* d, std::size_t n) { record(d, n); });
    s->server.async_connect({asio::ip::make_address("127.0.0.1"), target_port_},
                            [s](const asio::error_code& cec) {
                              if (cec) {
                                s->close();
                                return;
                              }
                              s->pump(s->client, s->server, s->up);
                              s->pump(s->server, s->client, s->down);
                            });
    accept_next();
  });
}

}  // namespace tlstest
