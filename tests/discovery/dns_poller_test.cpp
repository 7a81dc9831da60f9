// DnsPoller against a real DNS server (dnsmasq on a loopback port) and
// against broken ones (FakeDns): what it reports, what it logs, and that
// stopping and destroying it at any moment is clean (run under ASan/TSan).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "discovery/dns_poller.hpp"
#include "dnsmasq.hpp"
#include "fake_dns.hpp"
#include "fly/errors.hpp"
#include "support/log_capture.hpp"
#include "support/process.hpp"
#include "support/wait.hpp"

namespace {

using namespace std::chrono_literals;
using disctest::Dnsmasq;
using disctest::FakeDns;
using fly::discovery::DnsPoller;
using fly::discovery::DnsPollerOptions;
using fly::discovery::HostPort;
using Strings = std::vector<std::string>;

// Every report a poller delivered, as address strings.
class Reports {
 public:
  DnsPoller::OnAddresses callback() {
    return [this](const std::vector<asio::ip::address>& addresses) { add(addresses); };
  }
  void add(const std::vector<asio::ip::address>& addresses) {
    Strings s;
    for (const auto& a : addresses) s.push_back(a.to_string());
    std::lock_guard lock(mutex_);
    all_.push_back(std::move(s));
  }
  std::size_t count() const {
    std::lock_guard lock(mutex_);
    return all_.size();
  }
  Strings last() const {
    std::lock_guard lock(mutex_);
    return all_.empty() ? Strings{} : all_.back();
  }

 private:
  mutable std::mutex mutex_;
  std::vector<Strings> all_;
};

class DnsPollerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Two threads, so that the strand and stop() from outside are exercised.
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io_.run(); });
  }
  void TearDown() override {
    work_.reset();
    io_.stop();
    for (auto& t : threads_) t.join();
  }

  static DnsPollerOptions options(const std::string& name, HostPort server) {
    DnsPollerOptions o;
    o.name = name;
    o.server = std::move(server);
    o.interval = 100ms;
    o.query_timeout = 1000ms;
    return o;
  }
  std::unique_ptr<DnsPoller> poller(DnsPollerOptions o, DnsPoller::OnAddresses cb) {
    return std::make_unique<DnsPoller>(io_.get_executor(), std::move(o), std::move(cb));
  }
  // A port where nothing listens (UDP or TCP) a moment ago.
  static HostPort dead_server() {
    return {"127.0.0.1", static_cast<std::uint16_t>(flytest::free_port())};
  }

  flytest::LogCapture log_;  // first in, last out: outlives the I/O threads
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
  std::vector<std::thread> threads_;
};

const Strings kApp = {"127.0.0.2 app.internal", "127.0.0.3 app.internal", "::1 app.internal"};

TEST_F(DnsPollerTest, ReportsEveryAddressOfBothFamilies) {
  auto dns = Dnsmasq::start(kApp);
  Reports reports;
  auto p = poller(options("app.internal", dns->server()), reports.callback());
  EXPECT_EQ(p->last_status(), "pending");
  p->start();
  ASSERT_EVENTUALLY(reports.count() >= 1, 5000) << dns->log();
  EXPECT_EQ(reports.last(), (Strings{"127.0.0.2", "127.0.0.3", "::1"}));
  EXPECT_EQ(p->last_status(), "ok");
  EXPECT_EQ(log_.count(spdlog::level::info, "app.internal resolves to 3 address(es)"), 1u)
      << log_.all();
}

TEST_F(DnsPollerTest, ResolverAtAnIpv6Address) {
  // On Fly the resolver is fdaa::3: an IPv6 server address must work.
  auto dns = Dnsmasq::start(kApp);
  if (!dns->server_v6()) GTEST_SKIP() << "no IPv6 loopback on this host";
  Reports reports;
  auto p = poller(options("app.internal", *dns->server_v6()), reports.callback());
  p->start();
  ASSERT_EVENTUALLY(reports.count() >= 1, 5000) << dns->log();
  EXPECT_EQ(reports.last(), (Strings{"127.0.0.2", "127.0.0.3", "::1"}));
}

TEST_F(DnsPollerTest, PollsAgainEveryInterval) {
  auto dns = Dnsmasq::start(kApp);
  Reports reports;
  auto p = poller(options("app.internal", dns->server()), reports.callback());
  p->start();
  ASSERT_EVENTUALLY(reports.count() >= 4, 5000);
  EXPECT_GE(p->polls(), 4u);
  // Success is logged once, not at every poll.
  EXPECT_EQ(log_.count(spdlog::level::info, "app.internal"), 1u) << log_.all();
}

TEST_F(DnsPollerTest, AddedRecordAppearsOnALaterPoll) {
  auto dns = Dnsmasq::start({"127.0.0.2 app.internal"});
  Reports reports;
  auto p = poller(options("app.internal", dns->server()), reports.callback());
  p->start();
  ASSERT_EVENTUALLY(reports.last() == Strings{"127.0.0.2"}, 5000);
  dns->set_hosts({"127.0.0.2 app.internal", "127.0.0.4 app.internal", "::1 app.internal"});
  EXPECT_EVENTUALLY((reports.last() == Strings{"127.0.0.2", "127.0.0.4", "::1"}), 5000)
      << dns->log();
}

TEST_F(DnsPollerTest, RemovedRecordDisappearsFromTheReport) {
  // The poller reports what DNS says; keeping live nodes is the cluster's policy.
  auto dns = Dnsmasq::start(kApp);
  Reports reports;
  auto p = poller(options("app.internal", dns->server()), reports.callback());
  p->start();
  ASSERT_EVENTUALLY(reports.last().size() == 3, 5000);
  dns->set_hosts({"127.0.0.3 app.internal"});
  EXPECT_EVENTUALLY(reports.last() == Strings{"127.0.0.3"}, 5000) << dns->log();
}

TEST_F(DnsPollerTest, OnlyARecordsStillSucceed) {
  auto dns = Dnsmasq::start({"127.0.0.9 v4only.internal"});
  Reports reports;
  auto p = poller(options("v4only.internal", dns->server()), reports.callback());
  p->start();
  ASSERT_EVENTUALLY(reports.count() >= 1, 5000);
  EXPECT_EQ(reports.last(), Strings{"127.0.0.9"});
}

TEST_F(DnsPollerTest, NxdomainGivesNoCallbackAndIsLoggedOnce) {
  auto dns = Dnsmasq::start(kApp);
  Reports reports;
  auto p = poller(options("missing.internal", dns->server()), reports.callback());
  p->start();
  ASSERT_EVENTUALLY(p->polls() >= 4, 5000);
  EXPECT_EQ(p->last_status(), "nxdomain");
  EXPECT_EQ(reports.count(), 0u);
  EXPECT_EQ(log_.count(spdlog::level::warn, "missing.internal"), 1u) << log_.all();
  EXPECT_EQ(log_.count(spdlog::level::warn,
                       "DNS discovery: missing.internal: NXDOMAIN, the name does not exist"),
            1u)
      << log_.all();
  EXPECT_EQ(log_.count(spdlog::level::warn, "(will keep polling every 100ms)"), 1u);
}

TEST_F(DnsPollerTest, RecoveryIsLoggedOnceAndReported) {
  auto dns = Dnsmasq::start({"127.0.0.2 other.internal"});
  Reports reports;
  auto p = poller(options("late.internal", dns->server()), reports.callback());
  p->start();
  ASSERT_EVENTUALLY(p->last_status() == "nxdomain", 5000);
  dns->set_hosts({"127.0.0.5 late.internal"});
  ASSERT_EVENTUALLY(reports.count() >= 3, 5000) << dns->log();
  EXPECT_EQ(reports.last(), Strings{"127.0.0.5"});
  EXPECT_EQ(p->last_status(), "ok");
  EXPECT_EQ(log_.count(spdlog::level::warn, "late.internal"), 1u) << log_.all();
  EXPECT_EQ(log_.count(spdlog::level::info, "late.internal resolves again (1 address(es))"), 1u)
      << log_.all();
}

TEST_F(DnsPollerTest, SilentResolverTimesOut) {
  FakeDns dns(FakeDns::Mode::silent);
  Reports reports;
  auto o = options("app.internal", {"127.0.0.1", dns.port()});
  o.query_timeout = 200ms;
  auto p = poller(o, reports.callback());
  p->start();
  ASSERT_EVENTUALLY(p->polls() >= 3, 5000);
  EXPECT_EQ(p->last_status(), "timeout");
  EXPECT_EQ(reports.count(), 0u);
  EXPECT_GE(dns.queries(), 6u);  // both families, every poll
  EXPECT_EQ(log_.count(spdlog::level::warn, "no answer from resolver 127.0.0.1:" +
                                                std::to_string(dns.port()) + " within 200 ms"),
            1u)
      << log_.all();
}

TEST_F(DnsPollerTest, ServfailIsAFailureLoggedOnce) {
  FakeDns dns(FakeDns::Mode::servfail);
  Reports reports;
  auto p = poller(options("app.internal", {"127.0.0.1", dns.port()}), reports.callback());
  p->start();
  ASSERT_EVENTUALLY(p->polls() >= 3, 5000);
  EXPECT_EQ(p->last_status(), "servfail");
  EXPECT_EQ(reports.count(), 0u);
  EXPECT_EQ(log_.count(spdlog::level::warn, "app.internal: SERVFAIL from resolver"), 1u)
      << log_.all();
}

TEST_F(DnsPollerTest, RefusedIsAFailure) {
  FakeDns dns(FakeDns::Mode::refused);
  Reports reports;
  auto p = poller(options("app.internal", {"127.0.0.1", dns.port()}), reports.callback());
  p->start();
  ASSERT_EVENTUALLY(p->polls() >= 2, 5000);
  EXPECT_EQ(p->last_status(), "refused");
  EXPECT_EQ(reports.count(), 0u);
  EXPECT_EQ(log_.count(spdlog::level::warn, "refused the query"), 1u) << log_.all();
}

TEST_F(DnsPollerTest, RepliesToAnotherQuestionAreIgnored) {
  FakeDns dns(FakeDns::Mode::wrong_question);
  Reports reports;
  auto o = options("app.internal", {"127.0.0.1", dns.port()});
  o.query_timeout = 200ms;
  auto p = poller(o, reports.callback());
  p->start();
  ASSERT_EVENTUALLY(p->polls() >= 2, 5000);
  // Accepted, the empty answer would read "nodata"; ignored, the poll times out.
  EXPECT_EQ(p->last_status(), "timeout");
  EXPECT_EQ(reports.count(), 0u);
}

TEST_F(DnsPollerTest, NothingListeningIsAFailure) {
  Reports reports;
  auto o = options("app.internal", dead_server());
  o.query_timeout = 300ms;
  auto p = poller(o, reports.callback());
  p->start();
  ASSERT_EVENTUALLY(p->polls() >= 2, 5000);
  // Linux reports the ICMP "port unreachable" as a refused connection.
  EXPECT_EQ(p->last_status(), "connection_refused");
  EXPECT_EQ(reports.count(), 0u);
  EXPECT_EQ(log_.count(spdlog::level::warn, "connection refused by resolver"), 1u) << log_.all();
}

TEST_F(DnsPollerTest, StopAndDestroyWhileAQueryIsInFlight) {
  FakeDns dns(FakeDns::Mode::silent);
  Reports reports;
  auto o = options("app.internal", {"127.0.0.1", dns.port()});
  o.query_timeout = 5000ms;  // the query stays in flight until we stop
  auto p = poller(o, reports.callback());
  p->start();
  ASSERT_EVENTUALLY(dns.queries() >= 2, 5000);
  p->stop();
  p->stop();  // idempotent
  EXPECT_EQ(p->polls(), 0u);
  p.reset();
  EXPECT_EQ(reports.count(), 0u);
}

TEST_F(DnsPollerTest, DestroyWhileAQueryIsInFlightWithoutStop) {
  FakeDns dns(FakeDns::Mode::silent);
  Reports reports;
  auto o = options("app.internal", {"127.0.0.1", dns.port()});
  o.query_timeout = 5000ms;
  auto p = poller(o, reports.callback());
  p->start();
  ASSERT_EVENTUALLY(dns.queries() >= 2, 5000);
  p.reset();
  EXPECT_EQ(reports.count(), 0u);
}

TEST_F(DnsPollerTest, DestroyRightAfterStart) {
  auto dns = Dnsmasq::start(kApp);
  Reports reports;
  for (int i = 0; i < 50; ++i) {
    auto p = poller(options("app.internal", dns->server()), reports.callback());
    p->start();
  }
  // And one left running proves the server answered meanwhile.
  auto p = poller(options("app.internal", dns->server()), reports.callback());
  p->start();
  EXPECT_EVENTUALLY(reports.count() >= 1, 5000);
}

TEST_F(DnsPollerTest, NoCallbackAfterStopReturns) {
  auto dns = Dnsmasq::start(kApp);
  std::atomic<bool> stop_returned{false};
  std::atomic<int> late_callbacks{0};
  std::atomic<int> callbacks{0};
  auto o = options("app.internal", dns->server());
  o.interval = 1ms;
  std::vector<std::unique_ptr<DnsPoller>> stopped;
  for (int i = 0; i < 10; ++i) {
    stop_returned = false;
    const int before = callbacks.load();
    auto p = poller(o, [&](const std::vector<asio::ip::address>&) {
      if (stop_returned.load()) ++late_callbacks;
      ++callbacks;
    });
    p->start();
    ASSERT_EVENTUALLY(callbacks.load() >= before + 2, 5000);
    p->stop();
    stop_returned = true;
    stopped.push_back(std::move(p));  // stopped but alive: must stay silent
  }
  // A control poller proves the executor kept running polls meanwhile.
  Reports control;
  auto c = poller(o, control.callback());
  c->start();
  ASSERT_EVENTUALLY(control.count() >= 20, 5000);
  EXPECT_EQ(late_callbacks.load(), 0);
}

TEST_F(DnsPollerTest, StopFromInsideTheCallback) {
  auto dns = Dnsmasq::start(kApp);
  std::atomic<int> calls{0};
  std::unique_ptr<DnsPoller> p;
  auto o = options("app.internal", dns->server());
  o.interval = 1ms;
  p = poller(o, [&](const std::vector<asio::ip::address>&) {
    ++calls;
    p->stop();
  });
  p->start();
  ASSERT_EVENTUALLY(calls.load() >= 1, 5000);
  Reports control;
  auto c = poller(o, control.callback());
  c->start();
  ASSERT_EVENTUALLY(control.count() >= 10, 5000);
  EXPECT_EQ(calls.load(), 1);
}

TEST_F(DnsPollerTest, DestroyFromInsideTheCallback) {
  auto dns = Dnsmasq::start(kApp);
  std::atomic<int> calls{0};
  std::atomic<bool> destroyed{false};
  std::unique_ptr<DnsPoller> p;
  auto o = options("app.internal", dns->server());
  o.interval = 1ms;
  p = poller(o, [&](const std::vector<asio::ip::address>&) {
    ++calls;
    p.reset();  // runs on the executor, inside the poller's own handler
    destroyed = true;
  });
  p->start();
  ASSERT_EVENTUALLY(destroyed.load(), 5000);
  EXPECT_EQ(calls.load(), 1);
}

TEST_F(DnsPollerTest, ACallbackThatThrowsIsLoggedAndPollingGoesOn) {
  auto dns = Dnsmasq::start(kApp);
  std::atomic<int> calls{0};
  auto p =
      poller(options("app.internal", dns->server()), [&](const std::vector<asio::ip::address>&) {
        ++calls;
        throw std::runtime_error("cluster said no");
      });
  p->start();
  ASSERT_EVENTUALLY(calls.load() >= 2, 5000);
  EXPECT_GE(log_.count(spdlog::level::err, "the address callback threw: cluster said no"), 1u);
}

TEST_F(DnsPollerTest, StartAfterStopDoesNothing) {
  auto dns = Dnsmasq::start(kApp);
  Reports reports;
  auto p = poller(options("app.internal", dns->server()), reports.callback());
  p->stop();
  p->start();
  Reports control;
  auto c = poller(options("app.internal", dns->server()), control.callback());
  c->start();
  ASSERT_EVENTUALLY(control.count() >= 3, 5000);
  EXPECT_EQ(reports.count(), 0u);
  EXPECT_EQ(p->polls(), 0u);
  EXPECT_EQ(p->last_status(), "pending");
}

TEST_F(DnsPollerTest, StoppedPollerLetsTheExecutorRunOut) {
  // After stop(), no timer or socket wait of the poller keeps io.run() busy.
  auto dns = Dnsmasq::start(kApp);
  asio::io_context own;
  Reports reports;
  DnsPoller p(own.get_executor(), options("app.internal", dns->server()), reports.callback());
  p.start();
  std::thread runner([&] { own.run(); });
  ASSERT_EVENTUALLY(reports.count() >= 1, 5000);
  p.stop();
  std::atomic<bool> ran_out{false};
  std::thread waiter([&] {
    runner.join();
    ran_out = true;
  });
  EXPECT_EVENTUALLY(ran_out.load(), 5000);
  if (!ran_out.load()) own.stop();
  waiter.join();
}

TEST_F(DnsPollerTest, RefusesInvalidOptions) {
  auto make = [&](DnsPollerOptions o) { DnsPoller p(io_.get_executor(), std::move(o), {}); };
  auto good = options("app.internal", {"127.0.0.1", 53});
  auto bad_name = good;
  bad_name.name = "not a name";
  EXPECT_THROW(make(bad_name), fly::ConfigError);
  auto empty_name = good;
  empty_name.name = "";
  EXPECT_THROW(make(empty_name), fly::ConfigError);
  auto named_server = good;
  named_server.server = HostPort{"dns.example", 53};
  EXPECT_THROW(make(named_server), fly::ConfigError);
  auto zero_port = good;
  zero_port.server = HostPort{"127.0.0.1", 0};
  EXPECT_THROW(make(zero_port), fly::ConfigError);
  auto zero_interval = good;
  zero_interval.interval = 0ms;
  EXPECT_THROW(make(zero_interval), fly::ConfigError);
  auto zero_timeout = good;
  zero_timeout.query_timeout = 0ms;
  EXPECT_THROW(make(zero_timeout), fly::ConfigError);
  EXPECT_NO_THROW(make(good));
  auto system = good;
  system.server.reset();
  EXPECT_NO_THROW(make(system));  // the system's resolver: built, never started
}

}  // namespace
