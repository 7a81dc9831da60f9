// The node's heartbeat sweep: an authenticated connection leaves its own
// timer for the sweep, which alone keeps it alive (PINGs) and alone notices a
// silent peer (timeout); the sweep's grid is the system clock's.
#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "net/heartbeat_sweep.hpp"
#include "net/heartbeat_tick.hpp"
#include "net/peer.hpp"
#include "support/wait.hpp"

namespace {

using namespace std::chrono_literals;

// Records what a connection tells the cluster layer.
struct Recorder final : fly::net::PeerEvents, fly::net::CallHandler {
  void on_authenticated(const std::shared_ptr<fly::net::Peer>&) override { ++authenticated; }
  void on_control_frame(const std::shared_ptr<fly::net::Peer>&,
                        const fly::wire::FrameView&) override {}
  void on_closed(const std::shared_ptr<fly::net::Peer>&, const fly::net::CloseInfo& info) override {
    std::lock_guard lock(mutex);
    closed.push_back(info.reason);
  }
  void on_call(const std::shared_ptr<fly::net::Peer>&, const fly::wire::CallView&) override {}
  void on_cancel(const std::shared_ptr<fly::net::Peer>&, std::uint64_t) override {}
  void on_connection_closed(const std::shared_ptr<fly::net::Peer>&, const std::string&) override {}
  std::vector<std::string> reasons() {
    std::lock_guard lock(mutex);
    return closed;
  }
  std::atomic<int> authenticated{0};
  std::mutex mutex;
  std::vector<std::string> closed;
};

// Two authenticated Peers over loopback, each side with its own sweep (as two
// nodes would have), heartbeat 100 ms / timeout 1 s.
class SweepPair : public ::testing::Test {
 protected:
  void SetUp() override {
    asio::ip::tcp::acceptor acceptor(io_, {asio::ip::make_address("127.0.0.1"), 0});
    asio::ip::tcp::socket dialled(io_), accepted(io_);
    dialled.connect(acceptor.local_endpoint());
    acceptor.accept(accepted);
    a_ = make(std::move(dialled), "a", "127.0.0.1:1", sweep_a_, events_a_);
    b_ = make(std::move(accepted), "b", "", sweep_b_, events_b_);
    a_->start();
    b_->start();
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    a_->close("test over");
    b_->close("test over");
    flytest::eventually(
        [&] { return events_a_.reasons().size() == 1 && events_b_.reasons().size() == 1; }, 5s);
    sweep_a_.stop();
    sweep_b_.stop();
    work_.reset();
    thread_.join();
  }
  std::shared_ptr<fly::net::Peer> make(asio::ip::tcp::socket socket, const std::string& name,
                                       const std::string& dialled, fly::net::HeartbeatSweep& sweep,
                                       Recorder& events) {
    fly::net::PeerSettings s;
    s.cookie = "sweep-test";
    s.hello.name = name;
    s.hello.region = "lax";
    s.hello.incarnation = 1;
    s.heartbeat_interval = 100ms;
    s.heartbeat_timeout = 1000ms;
    s.heartbeat = &sweep;
    return std::make_shared<fly::net::Peer>(std::move(socket), std::move(s), events, events,
                                            dialled);
  }

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_{asio::make_work_guard(io_)};
  fly::net::HeartbeatSweep sweep_a_{io_, 100ms, 1000ms};
  fly::net::HeartbeatSweep sweep_b_{io_, 100ms, 1000ms};
  Recorder events_a_, events_b_;
  std::shared_ptr<fly::net::Peer> a_, b_;
  std::thread thread_;
};

TEST_F(SweepPair, AnAuthenticatedConnectionJoinsTheSweepAndStaysUpOnItsPings) {
  ASSERT_TRUE(flytest::eventually([&] { return sweep_a_.size() == 1 && sweep_b_.size() == 1; }, 5s))
      << "each side's connection joins its node's sweep once authenticated";
  EXPECT_EQ(sweep_a_.tick(), 25ms) << "a quarter of the interval";
  // Idle for a timeout and more: only the sweeps' PINGs keep the connection up.
  const auto received = b_->bytes_received();
  std::this_thread::sleep_for(1500ms);  // the duration under test, not a synchronisation
  EXPECT_TRUE(events_a_.reasons().empty()) << events_a_.reasons().front();
  EXPECT_TRUE(events_b_.reasons().empty()) << events_b_.reasons().front();
  // About one PING (5 bytes) per interval, not one per tick.
  const auto pinged = b_->bytes_received() - received;
  EXPECT_GE(pinged, 5u * 7) << "PINGs arrive";
  EXPECT_LE(pinged, 5u * 23) << "one PING per interval, not per tick";
}

TEST_F(SweepPair, APeerWhoseSweepStopsIsDroppedForTheHeartbeatTimeout) {
  ASSERT_TRUE(
      flytest::eventually([&] { return sweep_a_.size() == 1 && sweep_b_.size() == 1; }, 5s));
  // b's node stops heartbeating: no timer of b's connection sends a PING any
  // more (its own timer is gone), so a sees silence and closes.
  const auto stopped = std::chrono::steady_clock::now();
  sweep_b_.stop();
  ASSERT_TRUE(flytest::eventually([&] { return !events_a_.reasons().empty(); }, 5s));
  const auto took = std::chrono::steady_clock::now() - stopped;
  EXPECT_NE(events_a_.reasons().front().find("heartbeat timeout"), std::string::npos)
      << events_a_.reasons().front();
  EXPECT_GE(took, 1000ms - 100ms) << "not before the timeout (less the last PING's age)";
  EXPECT_LE(took, 3s);
}

TEST(HeartbeatSweep, WithNothingToHeartbeatNoTimerIsArmed) {
  asio::io_context io;
  fly::net::HeartbeatSweep sweep(io, 1000ms, 4000ms);
  EXPECT_EQ(sweep.tick(), 250ms);
  // No work at all: run() returns at once (an idle node without peers never wakes).
  const auto start = std::chrono::steady_clock::now();
  io.run();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 200ms);
}

TEST(HeartbeatTick, TheSweepGridIsTheSystemClocksMultiplesOfTheTick) {
  using Clock = std::chrono::steady_clock;
  for (const auto tick : {std::chrono::milliseconds(250), std::chrono::milliseconds(500),
                          std::chrono::milliseconds(15'000)}) {
    const auto now = Clock::now();
    const auto wall = std::chrono::system_clock::now();
    const auto phase = fly::net::aligned_heartbeat_phase(tick, now);
    EXPECT_GE(phase.count(), 0);
    EXPECT_LT(phase, tick);
    const auto next = fly::net::next_heartbeat_tick(now, tick, phase);
    // The wall-clock time of `next`, in ms since the epoch, is a multiple of
    // the tick (to within the few microseconds between the two clock reads).
    const auto wall_next = std::chrono::duration_cast<std::chrono::microseconds>(
        (wall + (next - now)).time_since_epoch());
    const auto off = wall_next % tick;
    EXPECT_TRUE(off < 5ms || tick - off < 5ms) << off.count() << " us off the grid";
  }
}

}  // namespace
