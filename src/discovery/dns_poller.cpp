// The poll cycle of DnsPoller (dns_poller.hpp): every interval, AAAA and A
// queries for the name; when both have ended (or the deadline passed), the
// union of their addresses goes to the callback, or the failure is logged if
// it is a new state. The c-ares/Asio glue is in ares_asio.cpp.
#include "discovery/dns_poller.hpp"

#include <arpa/nameser.h>
#include <fmt/format.h>
#include <netdb.h>
#include "base/log.hpp"

#include <algorithm>
#include <cstring>
#include <exception>

#include "discovery/dns_poller_impl.hpp"
#include "discovery/dns_status.hpp"
#include "fly/errors.hpp"

namespace fly::discovery {

namespace {

DnsPollerOptions checked(DnsPollerOptions o) {
  o.name = parse_dns_name("DNS discovery name", o.name);
  if (o.server) o.server = parse_dns_server("DNS discovery server", o.server->to_string());
  if (o.interval.count() <= 0) {
    throw ConfigError("DNS poll interval", fmt::format("{}ms", o.interval.count()),
                      "must be positive (e.g. 5000 ms)");
  }
  if (o.query_timeout.count() <= 0) {
    throw ConfigError("DNS query timeout", fmt::format("{}ms", o.query_timeout.count()),
                      "must be positive (e.g. 2000 ms)");
  }
  return o;
}

// The addresses of a hostent from ares_parse_a(aaaa)_reply.
void append_addresses(const hostent* host, std::vector<asio::ip::address>& out) {
  for (char** p = host->h_addr_list; p != nullptr && *p != nullptr; ++p) {
    if (host->h_addrtype == AF_INET6 && host->h_length == 16) {
      asio::ip::address_v6::bytes_type bytes;
      std::memcpy(bytes.data(), *p, bytes.size());
      out.emplace_back(asio::ip::address_v6(bytes));
    } else if (host->h_addrtype == AF_INET && host->h_length == 4) {
      asio::ip::address_v4::bytes_type bytes;
      std::memcpy(bytes.data(), *p, bytes.size());
      out.emplace_back(asio::ip::address_v4(bytes));
    }
  }
}

}  // namespace

// ---- construction and the public methods (any thread) ---------------------

DnsPoller::Impl::Impl(asio::any_io_executor executor, DnsPollerOptions o, OnAddresses callback)
    : options(checked(std::move(o))),
      on_addresses(std::move(callback)),
      resolver(options.server ? options.server->to_string() : "from /etc/resolv.conf"),
      strand(asio::make_strand(executor)),
      ares_timer(strand),
      poll_timer(strand),
      deadline_timer(strand) {
  aaaa.self = this;
  aaaa.type = ns_t_aaaa;
  a.self = this;
  a.type = ns_t_a;
  open_channel();
}

DnsPoller::Impl::~Impl() {
  // No handler is running (see dns_poller_impl.hpp). ares_destroy ends the
  // queries (on_answer sees ARES_EDESTRUCTION and returns) and reports each
  // socket closed (on_sock_state releases its descriptor) while `sockets`
  // still exists.
  if (channel != nullptr) ares_destroy(channel);
  sockets.clear();
}

DnsPoller::DnsPoller(asio::any_io_executor executor, DnsPollerOptions options,
                     OnAddresses on_addresses)
    : impl_(std::make_shared<Impl>(std::move(executor), std::move(options),
                                   std::move(on_addresses))) {}

DnsPoller::~DnsPoller() {
  stop();
  impl_.reset();  // frees it now, or at the end of the handler running now
}

void DnsPoller::start() {
  if (impl_->stopped.load() || impl_->started.exchange(true)) return;
  asio::post(impl_->strand, [weak = std::weak_ptr<Impl>(impl_)] {
    if (auto self = weak.lock()) self->begin_poll();
  });
}

void DnsPoller::stop() {
  {
    // Waits for a callback running on another thread; re-entrant from inside one.
    std::lock_guard lock(impl_->callback_mutex);
    if (impl_->stopped.exchange(true)) return;
  }
  asio::post(impl_->strand, [weak = std::weak_ptr<Impl>(impl_)] {
    if (auto self = weak.lock()) self->quiesce();
  });
}

std::string DnsPoller::last_status() const {
  std::lock_guard lock(impl_->status_mutex);
  return impl_->last_status;
}

std::uint64_t DnsPoller::polls() const {
  return impl_->polls.load();
}

// ---- the poll cycle (strand) ----------------------------------------------

void DnsPoller::Impl::begin_poll() {
  if (stopped.load()) return;
  poll_started = std::chrono::steady_clock::now();
  const std::uint64_t generation = ++poll_generation;
  deadline_passed = false;
  for (Query* q : {&aaaa, &a}) {
    q->status = ARES_SUCCESS;
    q->addresses.clear();
  }
  deadline_timer.expires_after(options.query_timeout);
  deadline_timer.async_wait(asio::bind_executor(
      strand, [weak = weak_from_this(), generation](const asio::error_code& ec) {
        auto self = weak.lock();
        if (self && !ec) self->on_deadline(generation);
      }));
  // Either query may complete inside ares_query (e.g. no usable server), so
  // count both before sending either.
  in_flight = 2;
  ares_query(channel, options.name.c_str(), ns_c_in, ns_t_aaaa, &Impl::on_answer, &aaaa);
  ares_query(channel, options.name.c_str(), ns_c_in, ns_t_a, &Impl::on_answer, &a);
  rearm_ares_timer();
}

void DnsPoller::Impl::on_answer(void* arg, int status, int /*timeouts*/, unsigned char* abuf,
                                int alen) {
  // ARES_EDESTRUCTION: called from ares_destroy in ~Impl; touch nothing.
  if (status == ARES_EDESTRUCTION) return;
  auto* query = static_cast<Query*>(arg);
  query->self->answer(*query, status, abuf, alen);
}

void DnsPoller::Impl::answer(Query& query, int status, const unsigned char* abuf, int alen) {
  if (status == ARES_ECANCELLED && deadline_passed) status = ARES_ETIMEOUT;
  if (status == ARES_SUCCESS) {
    hostent* host = nullptr;
    status = query.type == ns_t_aaaa ? ares_parse_aaaa_reply(abuf, alen, &host, nullptr, nullptr)
                                     : ares_parse_a_reply(abuf, alen, &host, nullptr, nullptr);
    if (status == ARES_SUCCESS) {
      append_addresses(host, query.addresses);
      if (query.addresses.empty()) status = ARES_ENODATA;
    }
    if (host != nullptr) ares_free_hostent(host);
  }
  query.status = status;
  if (--in_flight == 0) finish_poll();
}

void DnsPoller::Impl::on_deadline(std::uint64_t generation) {
  if (generation != poll_generation || in_flight == 0 || stopped.load()) return;
  deadline_passed = true;
  ares_cancel(channel);  // the outstanding queries end now, as ARES_ETIMEOUT (see answer)
  rearm_ares_timer();
}

void DnsPoller::Impl::finish_poll() {
  deadline_timer.cancel();
  if (stopped.load()) return;

  std::vector<asio::ip::address> found = aaaa.addresses;
  found.insert(found.end(), a.addresses.begin(), a.addresses.end());
  std::sort(found.begin(), found.end());
  found.erase(std::unique(found.begin(), found.end()), found.end());

  // The failure to report when nothing was found: the first that is not
  // "no records of this type", AAAA first (it is what Fly serves).
  int outcome = ARES_SUCCESS;
  if (found.empty()) {
    outcome = ARES_ENODATA;
    for (const Query* q : {&aaaa, &a}) {
      if (q->status != ARES_SUCCESS && q->status != ARES_ENODATA) {
        outcome = q->status;
        break;
      }
    }
  } else if (aaaa.status != ARES_SUCCESS && aaaa.status != ARES_ENODATA) {
    fly::log::get().debug("DNS discovery: {}: AAAA query failed ({}), using the A answer",
                          options.name, status_name(aaaa.status));
  } else if (a.status != ARES_SUCCESS && a.status != ARES_ENODATA) {
    fly::log::get().debug("DNS discovery: {}: A query failed ({}), using the AAAA answer",
                          options.name, status_name(a.status));
  }

  const std::string state = status_name(outcome);
  {
    std::lock_guard lock(status_mutex);
    last_status = state;
  }
  log_transition(state, outcome, found.size());
  polls.fetch_add(1);

  if (outcome == ARES_SUCCESS) {
    // Posted rather than called here: we are inside a c-ares callback, and
    // the user's code should not run (or throw) through c-ares.
    asio::post(strand, [weak = weak_from_this(), found = std::move(found)] {
      if (auto self = weak.lock()) self->deliver(found);
    });
  }

  auto next = std::max(poll_started + options.interval, std::chrono::steady_clock::now());
  poll_timer.expires_at(next);
  poll_timer.async_wait(
      asio::bind_executor(strand, [weak = weak_from_this()](const asio::error_code& ec) {
        auto self = weak.lock();
        if (self && !ec) self->begin_poll();
      }));
}

void DnsPoller::Impl::log_transition(const std::string& state, int ares_status, std::size_t count) {
  if (state == logged_state) return;
  const std::string every = format_interval(options.interval);
  if (ares_status == ARES_SUCCESS) {
    if (logged_state == "pending") {
      fly::log::get().info("DNS discovery: {} resolves to {} address(es) (polling every {})",
                           options.name, count, every);
    } else {
      fly::log::get().info("DNS discovery: {} resolves again ({} address(es))", options.name,
                           count);
    }
  } else {
    fly::log::get().warn("DNS discovery: {}: {} (will keep polling every {})", options.name,
                         failure_text(ares_status, resolver, options.query_timeout), every);
  }
  logged_state = state;
}

void DnsPoller::Impl::deliver(const std::vector<asio::ip::address>& addresses) {
  std::lock_guard lock(callback_mutex);
  if (stopped.load()) return;
  try {
    on_addresses(addresses);
  } catch (const std::exception& e) {
    fly::log::get().error("DNS discovery: {}: the address callback threw: {}", options.name,
                          e.what());
  } catch (...) {
    fly::log::get().error("DNS discovery: {}: the address callback threw a non-standard exception",
                          options.name);
  }
}

void DnsPoller::Impl::quiesce() {
  poll_timer.cancel();
  deadline_timer.cancel();
  if (in_flight > 0) ares_cancel(channel);  // answer() counts them down; finish_poll stops
  cancel_waits();
}

}  // namespace fly::discovery
