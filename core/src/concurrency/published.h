// Published<T>: an immutable value that writers replace now and then and many threads read on
// every call (the log sink's formatter and output, the redactor's secrets). Readers keep a
// per-thread copy of the shared_ptr and re-read it only after a change, so a read is one
// atomic load: no lock and no reference-count traffic.
//
// Thread-safety: every member is thread-safe. A reference returned by local() stays valid until
// the same thread calls local() on any Published<T> again (only that thread replaces its copy).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>

namespace waflow::core::concurrency {

// Generations are unique across all Published values, so a thread's cached copy can never be
// mistaken for another value's (one cache slot per T and thread serves every instance).
inline std::atomic<uint64_t>& nextPublishedGeneration() {
  static std::atomic<uint64_t> next{1};
  return next;
}

template <typename T>
class Published {
 public:
  explicit Published(std::shared_ptr<const T> initial) { publish(std::move(initial)); }
  Published(const Published&) = delete;
  Published& operator=(const Published&) = delete;

  // Replaces the value with what `change` makes of a copy of the current one; writers are
  // serialized, so concurrent changes are never lost.
  template <typename Change>
  void update(Change&& change) {
    std::lock_guard lock(mu_);
    auto next = std::make_shared<T>(*value_);
    change(*next);
    publishLocked(std::move(next));
  }

  void publish(std::shared_ptr<const T> value) {
    std::lock_guard lock(mu_);
    publishLocked(std::move(value));
  }

  // The calling thread's copy of the current value.
  const T& local() const {
    struct Cache {
      uint64_t generation = 0;
      std::shared_ptr<const T> value;
    };
    thread_local Cache cache;
    const uint64_t current = generation_.load(std::memory_order_acquire);
    if (cache.generation != current || cache.value == nullptr) {
      std::lock_guard lock(mu_);
      cache.value = value_;
      cache.generation = generation_.load(std::memory_order_relaxed);
    }
    return *cache.value;
  }

 private:
  void publishLocked(std::shared_ptr<const T> value) {
    value_ = std::move(value);
    generation_.store(nextPublishedGeneration().fetch_add(1, std::memory_order_relaxed),
                      std::memory_order_release);
  }

  mutable std::mutex mu_;  // guards value_ and serializes writers of generation_
  std::shared_ptr<const T> value_;
  std::atomic<uint64_t> generation_{0};
};

}  // namespace waflow::core::concurrency
