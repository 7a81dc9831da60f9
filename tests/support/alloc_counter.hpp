// Counts every allocation through the global operator new, for tests that
// prove a path does not allocate.
//
// Contract: include this header in exactly ONE translation unit of a test
// executable. It defines the replacement global operator new/delete, which
// the language allows once per program: a second inclusion in the same
// executable fails to link (multiple definition), and an executable that does
// not include it keeps the standard allocator. It is a header rather than a
// file of the support library on purpose: a static library member defining
// operator new would be pulled into every test binary that links the library.
//
// The replacement forwards to malloc/free, so sanitizers still see (and check)
// every allocation; the count is one relaxed atomic increment, safe from any
// thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

namespace flytest {

inline std::atomic<std::size_t> allocation_counter{0};

/// Allocations made through operator new / new[] so far, by any thread.
inline std::size_t allocations() {
  return allocation_counter.load(std::memory_order_relaxed);
}

}  // namespace flytest

// GCC sees free() on memory from operator new and warns, not knowing that
// this operator new is malloc.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

void* operator new(std::size_t n) {
  flytest::allocation_counter.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
  return operator new(n);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}

#pragma GCC diagnostic pop
