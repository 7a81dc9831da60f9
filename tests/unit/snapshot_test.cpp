// cluster::SnapshotCell: a value published by a writer and read lock-free
// by many threads through a per-thread cache. Its contract: read() sees the
// latest publish once the version moved; the reference stays valid until the
// same thread's next read() of that cell; load() is a counted reference; an
// old value is freed when the last thread that read it reads again (or
// exits). Run under ASan and TSan in CI: a torn or freed read shows there.
#include "cluster/snapshot.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

namespace {

using fly::cluster::SnapshotCell;

// A value whose halves must agree: a torn or freed read breaks the check.
struct Pair {
  std::uint64_t a = 0;
  std::uint64_t b = 0;
  bool whole() const { return b == ~a; }
};

std::shared_ptr<const Pair> pair_of(std::uint64_t n) {
  return std::make_shared<const Pair>(Pair{n, ~n});
}

TEST(SnapshotCell, ReadAndLoadSeeTheInitialValue) {
  SnapshotCell<Pair> cell(pair_of(7));
  EXPECT_EQ(cell.read().a, 7u);
  EXPECT_EQ(cell.load()->a, 7u);
}

TEST(SnapshotCell, ReadSeesEachPublishOnTheSameThread) {
  SnapshotCell<Pair> cell(pair_of(0));
  for (std::uint64_t n = 1; n <= 100; ++n) {
    cell.publish(pair_of(n));
    ASSERT_EQ(cell.read().a, n) << "a cached read must notice the new version";
    ASSERT_EQ(cell.load()->a, n);
  }
}

TEST(SnapshotCell, LoadIsACountedReferenceThatOutlivesPublishes) {
  SnapshotCell<Pair> cell(pair_of(1));
  std::shared_ptr<const Pair> kept = cell.load();
  cell.publish(pair_of(2));
  cell.publish(pair_of(3));
  EXPECT_EQ(kept->a, 1u);
  EXPECT_TRUE(kept->whole());
  EXPECT_EQ(cell.read().a, 3u);
}

// The cache keeps the value a thread last read alive (the reference read()
// returned is valid until this thread reads the cell again), and lets it go
// at the next read.
TEST(SnapshotCell, TheThreadCacheHoldsTheLastReadValueUntilTheNextRead) {
  SnapshotCell<Pair> cell(pair_of(1));
  std::weak_ptr<const Pair> first = cell.load();
  const Pair& ref = cell.read();
  cell.publish(pair_of(2));
  EXPECT_FALSE(first.expired()) << "this thread's cache still holds what read() returned";
  EXPECT_EQ(ref.a, 1u);
  EXPECT_EQ(cell.read().a, 2u);
  EXPECT_TRUE(first.expired()) << "the next read released the old value";
}

// A value read only by a thread that has exited is freed with that thread.
TEST(SnapshotCell, AnExitedReaderReleasesItsCachedValue) {
  SnapshotCell<Pair> cell(pair_of(1));
  std::weak_ptr<const Pair> first = cell.load();
  std::thread([&] { EXPECT_EQ(cell.read().a, 1u); }).join();
  cell.publish(pair_of(2));
  EXPECT_TRUE(first.expired());
}

// Cells are told apart in the per-thread cache even when more cells than
// cache slots are read in turn (their ids collide modulo the slot count).
TEST(SnapshotCell, ManyCellsOnOneThreadKeepTheirOwnValues) {
  std::vector<std::unique_ptr<SnapshotCell<Pair>>> cells;
  for (std::uint64_t i = 0; i < 20; ++i) {
    cells.push_back(std::make_unique<SnapshotCell<Pair>>(pair_of(i)));
  }
  for (int round = 0; round < 3; ++round) {
    for (std::uint64_t i = 0; i < cells.size(); ++i) ASSERT_EQ(cells[i]->read().a, i);
  }
  cells[5]->publish(pair_of(500));
  for (std::uint64_t i = 0; i < cells.size(); ++i) {
    ASSERT_EQ(cells[i]->read().a, i == 5 ? 500u : i);
  }
}

// Readers on several threads while a writer publishes in a loop: every read
// is a whole value, and values only move forward on each reader.
TEST(SnapshotCell, ReadersNeverSeeATornOrFreedValueWhileAWriterPublishes) {
  constexpr int kReaders = 3;
  constexpr std::uint64_t kPublishes = 20000;
  SnapshotCell<Pair> cell(pair_of(0));
  std::atomic<bool> done{false};
  std::atomic<int> torn{0};
  std::atomic<int> backwards{0};
  std::atomic<int> started{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < kReaders; ++r) {
    readers.emplace_back([&] {
      std::uint64_t last = 0;
      started.fetch_add(1);
      while (!done.load(std::memory_order_acquire)) {
        const Pair& p = cell.read();
        if (!p.whole()) ++torn;
        if (p.a < last) ++backwards;
        last = p.a;
        if (!cell.load()->whole()) ++torn;
      }
      // After the last publish, a read sees the final value.
      if (cell.read().a != kPublishes) ++backwards;
    });
  }
  // Every reader is in its loop before the first publish, so the publishes
  // race with reads.
  while (started.load() < kReaders) std::this_thread::yield();
  for (std::uint64_t n = 1; n <= kPublishes; ++n) cell.publish(pair_of(n));
  done.store(true, std::memory_order_release);
  for (auto& t : readers) t.join();
  EXPECT_EQ(torn, 0);
  EXPECT_EQ(backwards, 0);
}

}  // namespace
