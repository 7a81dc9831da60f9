// net::CallTable: the calls a connection waits on, by request id
// (generation << 32 | slot). Its contract: take() returns a call once; a
// reused slot gets a new generation, so a stale id misses; close() returns
// every call still in it and refuses later adds.
#include "net/call_table.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <set>
#include <thread>
#include <vector>

namespace {

using fly::net::CallTable;

struct Call final : fly::detail::PendingCall {
  void complete(fly::Errc, std::span<const char>) noexcept override {}
  void fail(fly::Errc, std::string_view) noexcept override {}
};

std::uint32_t slot_of(std::uint64_t id) {
  return static_cast<std::uint32_t>(id & 0xffffffffu);
}
std::uint32_t generation_of(std::uint64_t id) {
  return static_cast<std::uint32_t>(id >> 32);
}

TEST(CallTable, AddSetsAnIdThatTakeReturnsOnce) {
  CallTable table;
  Call a, b;
  ASSERT_TRUE(table.add(a));
  ASSERT_TRUE(table.add(b));
  EXPECT_NE(a.request_id, b.request_id);
  EXPECT_EQ(table.size(), 2u);
  EXPECT_EQ(table.take(b.request_id), &b);
  EXPECT_EQ(table.take(b.request_id), nullptr) << "a call is taken once";
  EXPECT_EQ(table.take(a.request_id), &a);
  EXPECT_EQ(table.size(), 0u);
}

TEST(CallTable, UnknownIdsMiss) {
  CallTable table;
  EXPECT_EQ(table.take(0), nullptr);
  EXPECT_EQ(table.take(~std::uint64_t{0}), nullptr);
  Call a;
  ASSERT_TRUE(table.add(a));
  EXPECT_EQ(table.take(a.request_id + 1), nullptr) << "a slot never used";
  EXPECT_EQ(table.take(a.request_id ^ (std::uint64_t{1} << 32)), nullptr) << "wrong generation";
  EXPECT_EQ(table.size(), 1u);
}

TEST(CallTable, AReusedSlotHasANewGenerationAndTheStaleIdMisses) {
  CallTable table;
  Call first, second;
  ASSERT_TRUE(table.add(first));
  const std::uint64_t stale = first.request_id;
  ASSERT_EQ(table.take(stale), &first);
  ASSERT_TRUE(table.add(second));
  EXPECT_EQ(slot_of(second.request_id), slot_of(stale)) << "the freed slot is reused";
  EXPECT_EQ(generation_of(second.request_id), generation_of(stale) + 1);
  // A late REPLY for the first call must not complete the second.
  EXPECT_EQ(table.take(stale), nullptr);
  EXPECT_EQ(table.take(second.request_id), &second);
}

TEST(CallTable, TakeForAnyThreadLeavesIoThreadOnlyCallsInPlace) {
  CallTable table;
  Call async_call, blocking;
  blocking.completes_on_any_thread = true;
  ASSERT_TRUE(table.add(async_call));
  ASSERT_TRUE(table.add(blocking));
  bool io_thread_only = false;
  EXPECT_EQ(table.take_for_any_thread(async_call.request_id, io_thread_only), nullptr);
  EXPECT_TRUE(io_thread_only);
  EXPECT_EQ(table.size(), 2u) << "the async call stays for its I/O thread";
  io_thread_only = false;
  EXPECT_EQ(table.take_for_any_thread(blocking.request_id, io_thread_only), &blocking);
  EXPECT_FALSE(io_thread_only);
  EXPECT_EQ(table.take(async_call.request_id), &async_call);
}

TEST(CallTable, CloseReturnsEveryCallStillInItAndRefusesNewOnes) {
  CallTable table;
  Call a, b, c;
  ASSERT_TRUE(table.add(a));
  ASSERT_TRUE(table.add(b));
  ASSERT_TRUE(table.add(c));
  ASSERT_EQ(table.take(b.request_id), &b);
  const auto left = table.close();
  EXPECT_EQ(std::set<fly::detail::PendingCall*>(left.begin(), left.end()),
            (std::set<fly::detail::PendingCall*>{&a, &c}));
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(table.take(a.request_id), nullptr) << "close() took them all";
  Call late;
  EXPECT_FALSE(table.add(late)) << "the connection is gone";
  EXPECT_TRUE(table.close().empty());
}

// Threads add and take concurrently, as callers and the I/O threads do, so
// slots freed by one thread are reused by another. Every call is taken
// exactly once, by its own id, and an id once taken never matches again.
TEST(CallTable, ConcurrentAddAndTakeLoseAndDuplicateNothing) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 20000;
  struct Counted final : fly::detail::PendingCall {
    void complete(fly::Errc, std::span<const char>) noexcept override {}
    void fail(fly::Errc, std::string_view) noexcept override {}
    int times_taken = 0;  // written only by the thread that took it
  };
  CallTable table;
  std::vector<Counted> calls(kThreads * kPerThread);
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<Counted*> in_flight;  // up to 8, taken back out of order
      auto take_at = [&](std::size_t at) {
        Counted* c = in_flight[at];
        in_flight.erase(in_flight.begin() + static_cast<std::ptrdiff_t>(at));
        const std::uint64_t id = c->request_id;
        auto* got = table.take(id);
        if (got != c) ++wrong;
        if (got != nullptr) ++static_cast<Counted*>(got)->times_taken;
        if (table.take(id) != nullptr) ++wrong;  // stale now, even if the slot was reused
      };
      for (int i = 0; i < kPerThread; ++i) {
        Counted& c = calls[static_cast<std::size_t>(t * kPerThread + i)];
        if (!table.add(c)) ++wrong;
        in_flight.push_back(&c);
        if (in_flight.size() > 8) take_at(static_cast<std::size_t>(i) % in_flight.size());
      }
      while (!in_flight.empty()) take_at(in_flight.size() - 1);
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong, 0) << "a take() returned another call or nothing, or a stale id matched";
  int not_once = 0;
  for (const auto& c : calls) not_once += c.times_taken != 1;
  EXPECT_EQ(not_once, 0);
  EXPECT_EQ(table.size(), 0u);
  EXPECT_TRUE(table.close().empty());
}

}  // namespace
