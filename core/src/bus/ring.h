// Ring: a growable FIFO on a power-of-two circular buffer. Unlike std::deque it keeps its
// storage while draining, so steady-state push/pop never allocate. Not thread-safe.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace waflow::core::bus {

template <typename T>
class Ring {
 public:
  explicit Ring(std::size_t initial_capacity = 4) : initial_(roundUp(initial_capacity)) {}

  bool empty() const { return size_ == 0; }
  std::size_t size() const { return size_; }
  std::size_t capacity() const { return slots_.size(); }

  void push(T value) {
    if (size_ == slots_.size()) {
      grow();
    }
    slots_[(head_ + size_) & (slots_.size() - 1)] = std::move(value);
    ++size_;
  }

  // Precondition: !empty().
  T pop() {
    T value = std::move(slots_[head_]);
    head_ = (head_ + 1) & (slots_.size() - 1);
    --size_;
    return value;
  }

  // Drops elements and storage (used to return memory after a burst).
  void reset() {
    std::vector<T>().swap(slots_);
    head_ = 0;
    size_ = 0;
  }

 private:
  static std::size_t roundUp(std::size_t n) {
    std::size_t capacity = 1;
    while (capacity < n) {
      capacity <<= 1;
    }
    return capacity;
  }

  void grow() {
    std::vector<T> next(slots_.empty() ? initial_ : slots_.size() * 2);
    for (std::size_t i = 0; i < size_; ++i) {
      next[i] = std::move(slots_[(head_ + i) & (slots_.size() - 1)]);
    }
    slots_.swap(next);
    head_ = 0;
  }

  std::size_t initial_;
  std::vector<T> slots_;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

}  // namespace waflow::core::bus
