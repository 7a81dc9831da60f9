// The state of a DnsPoller, shared by dns_poller.cpp (the poll cycle) and
// ares_asio.cpp (c-ares driven by Asio). Internal to the discovery layer.
//
// Threads. Everything marked "strand" is touched only by handlers running on
// `strand`, one at a time: the c-ares channel is not thread-safe (c-ares 1.18)
// and neither are Asio I/O objects. The public methods, on any thread, only
// touch the atomics and mutex-guarded fields and post to the strand.
//
// Lifetime. The DnsPoller holds the only lasting shared_ptr; every handler
// holds a weak_ptr and locks it while it runs. So the Impl dies either in
// ~DnsPoller (no handler running; handlers still queued find it gone) or at the
// end of the one handler that was running. In both cases no other thread is
// inside it, and its destructor can close the channel and the Asio objects.
#pragma once

#include <ares.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <asio/bind_executor.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>

#include "discovery/dns_poller.hpp"

namespace fly::discovery {

struct DnsPoller::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::any_io_executor executor, DnsPollerOptions options, OnAddresses on_addresses);
  ~Impl();
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  // ---- read-only after construction ---------------------------------------
  DnsPollerOptions options;  // name canonical, server checked
  OnAddresses on_addresses;
  std::string resolver;  // for log lines: "127.0.0.1:5353" or "from /etc/resolv.conf"
  asio::strand<asio::any_io_executor> strand;

  // ---- any thread ---------------------------------------------------------
  std::atomic<bool> started{false};
  std::atomic<bool> stopped{false};
  // Held while on_addresses runs and while stop() sets `stopped`, so that
  // stop() on another thread returns only once no callback is running.
  // Recursive: the callback may itself call stop() or destroy the poller.
  std::recursive_mutex callback_mutex;
  mutable std::mutex status_mutex;
  std::string last_status = "pending";  // guarded by status_mutex
  std::atomic<std::uint64_t> polls{0};

  // ---- strand: the c-ares channel and its sockets (ares_asio.cpp) ---------
  // One socket c-ares opened, watched for readiness. The descriptor never
  // owns the fd: c-ares opens and closes it, so it is released, not closed.
  struct Socket {
    Socket(const asio::strand<asio::any_io_executor>& strand, std::uint64_t id);
    ~Socket();
    asio::posix::stream_descriptor descriptor;
    std::uint64_t id;  // tells a handler of a closed socket from one reusing its fd
    bool want_read = false, want_write = false;
    bool reading = false, writing = false;  // a wait is outstanding
  };
  ares_channel channel = nullptr;
  std::unordered_map<ares_socket_t, std::unique_ptr<Socket>> sockets;
  std::uint64_t next_socket_id = 0;
  asio::steady_timer ares_timer;  // c-ares's own retry/timeout clock
  std::uint64_t ares_timer_generation = 0;

  void open_channel();  // in the constructor; throws ConfigError
  int init_channel(int flags);
  static void on_sock_state(void* data, ares_socket_t fd, int readable, int writable);
  void watch(Socket& socket);
  void on_socket_ready(ares_socket_t fd, std::uint64_t id, bool read, const asio::error_code& ec);
  void rearm_ares_timer();
  void cancel_waits();

  // ---- strand: the poll cycle (dns_poller.cpp) -----------------------------
  struct Query {
    Impl* self = nullptr;
    int type = 0;  // ns_t_aaaa or ns_t_a
    int status = ARES_SUCCESS;
    std::vector<asio::ip::address> addresses;
  };
  Query aaaa, a;
  int in_flight = 0;  // queries of the current poll not yet answered
  bool deadline_passed = false;
  std::uint64_t poll_generation = 0;
  std::chrono::steady_clock::time_point poll_started;
  asio::steady_timer poll_timer;      // the next poll
  asio::steady_timer deadline_timer;  // query_timeout of the current poll
  std::string logged_state = "pending";

  void begin_poll();
  static void on_answer(void* arg, int status, int timeouts, unsigned char* abuf, int alen);
  void answer(Query& query, int status, const unsigned char* abuf, int alen);
  void on_deadline(std::uint64_t generation);
  void finish_poll();
  void log_transition(const std::string& state, int ares_status, std::size_t count);
  void deliver(const std::vector<asio::ip::address>& addresses);
  void quiesce();
};

}  // namespace fly::discovery
