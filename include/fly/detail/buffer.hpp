// A growable byte buffer that keeps its memory across uses.
//
// Contract: clear() keeps the capacity, so a buffer reused for every frame of
// a connection allocates only while it grows to the largest frame seen. It is
// the msgpack "stream" (write(const char*, size_t)) the encoders write into.
// Not thread-safe; move-only.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <span>
#include <utility>

namespace fly::detail {

class Buffer {
 public:
  Buffer() = default;
  explicit Buffer(std::size_t capacity) { reserve(capacity); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  Buffer(Buffer&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)),
        size_(std::exchange(o.size_, 0)),
        capacity_(std::exchange(o.capacity_, 0)) {}
  Buffer& operator=(Buffer&& o) noexcept {
    if (this != &o) {
      std::free(data_);
      data_ = std::exchange(o.data_, nullptr);
      size_ = std::exchange(o.size_, 0);
      capacity_ = std::exchange(o.capacity_, 0);
    }
    return *this;
  }
  ~Buffer() { std::free(data_); }

  /// Appends n bytes (the msgpack stream interface).
  void write(const char* p, std::size_t n) {
    if (size_ + n > capacity_) grow(size_ + n);
    if (n != 0) std::memcpy(data_ + size_, p, n);
    size_ += n;
  }
  void push_back(char c) {
    if (size_ == capacity_) grow(size_ + 1);
    data_[size_++] = c;
  }
  /// Makes room for n more bytes and returns where they go; commit with
  /// resize(size() + written).
  char* prepare(std::size_t n) {
    if (size_ + n > capacity_) grow(size_ + n);
    return data_ + size_;
  }
  void reserve(std::size_t n) {
    if (n > capacity_) grow(n);
  }
  /// Sets the size; bytes past the old size are uninitialised.
  void resize(std::size_t n) {
    if (n > capacity_) grow(n);
    size_ = n;
  }
  void clear() noexcept { size_ = 0; }
  /// Frees the memory if the capacity exceeds `limit` (after a huge frame).
  void shrink_if_above(std::size_t limit) noexcept {
    if (capacity_ > limit) {
      std::free(data_);
      data_ = nullptr;
      size_ = capacity_ = 0;
    }
  }
  void swap(Buffer& o) noexcept {
    std::swap(data_, o.data_);
    std::swap(size_, o.size_);
    std::swap(capacity_, o.capacity_);
  }

  char* data() noexcept { return data_; }
  const char* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  std::size_t capacity() const noexcept { return capacity_; }
  bool empty() const noexcept { return size_ == 0; }
  std::span<const char> view() const noexcept { return {data_, size_}; }

 private:
  void grow(std::size_t need) {
    std::size_t cap = capacity_ < 256 ? 256 : capacity_;
    while (cap < need) cap *= 2;
    void* p = std::realloc(data_, cap);
    if (p == nullptr) throw std::bad_alloc();
    data_ = static_cast<char*>(p);
    capacity_ = cap;
  }

  char* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

}  // namespace fly::detail
