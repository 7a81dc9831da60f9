// c-ares driven by Asio: c-ares tells us (ARES_OPT_SOCK_STATE_CB) which of its
// sockets it wants to read or write, we wait on them with
// stream_descriptor::async_wait, and call ares_process_fd when one is ready or
// when ares_timeout() says a retry or timeout is due. No thread, no busy loop:
// between events nothing runs. Everything here runs on the strand (or in the
// constructor/destructor, when no handler can run; dns_poller_impl.hpp).
#include <arpa/nameser.h>
#include <fmt/format.h>
#include "base/log.hpp"

#include <algorithm>
#include <mutex>

#include "discovery/dns_poller_impl.hpp"
#include "fly/errors.hpp"

namespace fly::discovery {

namespace {

// ares_library_init once per process, thread-safe; never cleaned up (other
// users of c-ares in the process may rely on it; on Linux it holds nothing).
void init_ares_library() {
  static std::once_flag once;
  std::call_once(once, [] {
    int rc = ares_library_init(ARES_LIB_INIT_ALL);
    if (rc != ARES_SUCCESS) {
      throw std::runtime_error(fmt::format("c-ares library init failed: {}", ares_strerror(rc)));
    }
  });
}

}  // namespace

DnsPoller::Impl::Socket::Socket(const asio::strand<asio::any_io_executor>& s, std::uint64_t i)
    : descriptor(s), id(i) {}

DnsPoller::Impl::Socket::~Socket() {
  // The fd belongs to c-ares: release it (which also cancels our waits), never close it.
  if (descriptor.is_open()) descriptor.release();
}

// One channel with `flags`, its servers set. Returns the c-ares status.
int DnsPoller::Impl::init_channel(int flags) {
  ares_options opts{};
  int mask = ARES_OPT_FLAGS | ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
             ARES_OPT_LOOKUPS;
  opts.flags = flags;
  opts.sock_state_cb = &Impl::on_sock_state;
  opts.sock_state_cb_data = this;
  // Two tries, the second twice as long as the first (c-ares doubles it):
  // together they fit query_timeout; the deadline timer enforces it anyway.
  opts.timeout = static_cast<int>(std::max<std::int64_t>(1, options.query_timeout.count() / 3));
  opts.tries = 2;
  // DNS only, never /etc/hosts. ares_query() does not read it anyway; this
  // keeps it so should the poller ever use ares_getaddrinfo.
  char lookups[] = "b";
  opts.lookups = lookups;
  int rc = ares_init_options(&channel, &opts, mask);
  if (rc != ARES_SUCCESS) {
    channel = nullptr;
    return rc;
  }
  if (options.server) {
    rc = ares_set_servers_ports_csv(channel, options.server->to_string().c_str());
    if (rc != ARES_SUCCESS) {
      ares_destroy(channel);
      channel = nullptr;
    }
  }
  return rc;
}

void DnsPoller::Impl::open_channel() {
  init_ares_library();
  int rc = init_channel(0);
  if (rc == ARES_SUCCESS) {
    // With a single resolver there is no other to fail over to, so let
    // SERVFAIL and REFUSED through as such (ARES_FLAG_NOCHECKRESP): c-ares
    // 1.18 reports a server skipped for them as ARES_ECONNREFUSED, which
    // would send users looking for a firewall. With several resolvers, keep
    // c-ares's fail-over. (Replies must still match the question asked.)
    ares_addr_port_node* servers = nullptr;
    int count = 0;
    if (ares_get_servers_ports(channel, &servers) == ARES_SUCCESS) {
      for (auto* s = servers; s != nullptr; s = s->next) ++count;
      ares_free_data(servers);
    }
    if (count == 1) {
      ares_destroy(channel);
      rc = init_channel(ARES_FLAG_NOCHECKRESP);
    }
  }
  if (rc != ARES_SUCCESS) {
    throw ConfigError(options.server ? "DNS discovery server" : "DNS resolver", resolver,
                      fmt::format("c-ares cannot use it: {}", ares_strerror(rc)));
  }
}

void DnsPoller::Impl::on_sock_state(void* data, ares_socket_t fd, int readable, int writable) {
  auto* self = static_cast<Impl*>(data);
  if (!readable && !writable) {
    // c-ares is about to close fd: forget it before the number can be reused.
    self->sockets.erase(fd);
    return;
  }
  auto& slot = self->sockets[fd];
  if (!slot) {
    auto socket = std::make_unique<Socket>(self->strand, ++self->next_socket_id);
    asio::error_code ec;
    socket->descriptor.assign(fd, ec);
    if (ec) {
      // Cannot watch it: the query on it will end by c-ares's timeout instead.
      fly::log::get().error("DNS discovery: {}: cannot watch resolver socket {}: {}",
                            self->options.name, fd, ec.message());
      self->sockets.erase(fd);
      return;
    }
    slot = std::move(socket);
  }
  slot->want_read = readable != 0;
  slot->want_write = writable != 0;
  self->watch(*slot);
}

void DnsPoller::Impl::watch(Socket& socket) {
  auto start = [&](bool read) {
    auto handler = [weak = weak_from_this(), fd = socket.descriptor.native_handle(), id = socket.id,
                    read](const asio::error_code& ec) {
      if (auto self = weak.lock()) self->on_socket_ready(fd, id, read, ec);
    };
    socket.descriptor.async_wait(read ? asio::posix::stream_descriptor::wait_read
                                      : asio::posix::stream_descriptor::wait_write,
                                 asio::bind_executor(strand, std::move(handler)));
  };
  if (stopped.load()) return;
  if (socket.want_read && !socket.reading) {
    socket.reading = true;
    start(true);
  }
  if (socket.want_write && !socket.writing) {
    socket.writing = true;
    start(false);
  }
}

void DnsPoller::Impl::on_socket_ready(ares_socket_t fd, std::uint64_t id, bool read,
                                      const asio::error_code& ec) {
  auto it = sockets.find(fd);
  if (it == sockets.end() || it->second->id != id) return;  // that socket was closed
  (read ? it->second->reading : it->second->writing) = false;
  if (ec || stopped.load()) return;  // cancelled (stop) or the descriptor failed
  // May call on_sock_state (closing fd, opening others) and on_answer.
  ares_process_fd(channel, read ? fd : ARES_SOCKET_BAD, read ? ARES_SOCKET_BAD : fd);
  it = sockets.find(fd);
  if (it != sockets.end() && it->second->id == id) watch(*it->second);
  rearm_ares_timer();
}

void DnsPoller::Impl::rearm_ares_timer() {
  const std::uint64_t generation = ++ares_timer_generation;
  timeval tv{};
  if (stopped.load() || ares_timeout(channel, nullptr, &tv) == nullptr) {
    ares_timer.cancel();  // nothing in flight
    return;
  }
  ares_timer.expires_after(std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec));
  ares_timer.async_wait(asio::bind_executor(
      strand, [weak = weak_from_this(), generation](const asio::error_code& ec) {
        auto self = weak.lock();
        if (!self || ec || self->ares_timer_generation != generation || self->stopped.load()) {
          return;
        }
        // No fd: c-ares only runs its timeouts (retries, then ARES_ETIMEOUT).
        ares_process_fd(self->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
        self->rearm_ares_timer();
      }));
}

void DnsPoller::Impl::cancel_waits() {
  for (auto& [fd, socket] : sockets) {
    asio::error_code ignored;
    socket->descriptor.cancel(ignored);
  }
  ares_timer.cancel();
}

}  // namespace fly::discovery
