// DNS polling: the addresses a name resolves to, asked again every interval.
//
// On Fly.io the machines of an app are the AAAA records of <app>.internal; a
// DnsPoller asks for them (and for A records, for everywhere else) through
// c-ares, driven by Asio on the caller's executor: no thread of its own, no
// blocking call, one UDP socket while a query is in flight.
//
// The poller only reports what it saw. It never "removes" anything: a name
// that stops listing an address (a truncated or stale answer, a resolver
// hiccup) must not disconnect a live node, so what to do with a report is the
// cluster's decision, and the cluster only ever adds. Failures (timeout,
// SERVFAIL, NXDOMAIN, refused) deliver nothing, are logged once per change
// of state through spdlog, and are retried at the next interval; nothing here
// throws out of the executor.
#pragma once

// Standard headers before Asio's: asio/detail/config.hpp decides whether to
// use std::aligned_alloc from a macro of <bits/c++config.h>, and translation
// units that disagree free memory with the wrong function (ASan reports an
// alloc-dealloc mismatch).
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <asio/any_io_executor.hpp>
#include <asio/ip/address.hpp>

#include "discovery/host_port.hpp"

namespace fly::discovery {

struct DnsPollerOptions {
  /// The name to poll, e.g. "myapp.internal" (parse_dns_name checks one).
  std::string name;
  /// The resolver, an IP literal (parse_dns_server); nullopt: the system's
  /// (/etc/resolv.conf, read once when the poller is built).
  std::optional<HostPort> server;
  /// From the start of one poll to the start of the next (a poll that takes
  /// longer is followed at once by the next).
  std::chrono::milliseconds interval{5000};
  /// The longest a poll may take, retries included; a poll that has not got
  /// both answers by then ends as "timeout" (or with what it has).
  std::chrono::milliseconds query_timeout{2000};
};

class DnsPoller {
 public:
  /// Called after every successful poll with the union of the AAAA and A
  /// answers, deduplicated and sorted (IPv4 before IPv6). Runs on the
  /// poller's strand of the executor, never two at once; an exception it
  /// throws is logged and swallowed.
  using OnAddresses = std::function<void(const std::vector<asio::ip::address>&)>;

  /// Checks the options and opens the resolver channel (reads
  /// /etc/resolv.conf when no server is given); polls nothing until start().
  /// Throws fly::ConfigError for an invalid name, server, interval or timeout.
  /// The executor's execution context must outlive the poller.
  DnsPoller(asio::any_io_executor executor, DnsPollerOptions options, OnAddresses on_addresses);
  /// Stops (see stop()). Safe on the executor's thread, inside the callback,
  /// or on any other thread while the executor runs (or after it stopped).
  ~DnsPoller();
  DnsPoller(const DnsPoller&) = delete;
  DnsPoller& operator=(const DnsPoller&) = delete;

  /// First poll at once (posted to the executor), then every interval.
  /// Idempotent; does nothing after stop(). Any thread.
  void start();
  /// Idempotent, any thread. After it returns no callback runs and none is
  /// running (unless stop() was called from inside the callback, which then
  /// finishes normally); in-flight queries are cancelled on the executor.
  /// Waits for a callback running on another thread to return, so do not call
  /// it while holding a lock that the callback takes.
  void stop();

  /// The outcome of the last finished poll, for logs and tests: "pending"
  /// (none yet), "ok", "nodata" (the name has no A/AAAA records), "nxdomain",
  /// "servfail", "refused" (the resolver refused the query),
  /// "connection_refused" (nothing listens at the resolver's address),
  /// "timeout", or another short c-ares error name. Any thread.
  std::string last_status() const;
  /// How many polls have finished (successful or not). Any thread.
  std::uint64_t polls() const;

 private:
  // Everything lives in Impl (dns_poller_impl.hpp), shared with the handlers
  // queued on the executor through weak pointers: destroying the poller frees
  // it at once unless a handler is running, which then frees it on return.
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace fly::discovery
