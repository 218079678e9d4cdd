// RecentIds — a bounded memory of message ids already accepted, so a webhook
// the provider redelivers (Meta retries for days) is acknowledged but not
// processed twice. The oldest ids are forgotten first once `capacity` is
// reached. (The durable inbox in storage extends this across restarts.)
//
// Ids are kept as 64-bit hashes of "<channel>\n<message id>": 200,000 of them
// cost a few MB instead of tens. Two different ids colliding is possible in
// principle (about 1 in 10^9 for a full memory); the cost would be one
// message treated as a repeat.
//
// Thread-safety: all methods are thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>

namespace waflow::core::app {

class RecentIds {
 public:
  explicit RecentIds(std::size_t capacity) : capacity_(capacity) { ids_.reserve(capacity + 1); }

  static uint64_t keyOf(std::string_view channel, std::string_view id) {
    std::string joined;
    joined.reserve(channel.size() + 1 + id.size());
    joined.append(channel).append(1, '\n').append(id);
    return std::hash<std::string>{}(joined);
  }

  // True when `key` was not known (and is now); false for a repeat.
  bool insert(uint64_t key) {
    std::lock_guard lock(mutex_);
    if (!ids_.insert(key).second) {
      return false;
    }
    order_.push_back(key);
    while (order_.size() > capacity_) {
      ids_.erase(order_.front());
      order_.pop_front();
    }
    return true;
  }

  // Forgets `key` again, so a redelivery is processed (used when accepting it failed).
  void erase(uint64_t key) {
    std::lock_guard lock(mutex_);
    ids_.erase(key);  // its slot in order_ ages out harmlessly
  }

 private:
  std::size_t capacity_;
  std::mutex mutex_;
  std::unordered_set<uint64_t> ids_;
  std::deque<uint64_t> order_;
};

}  // namespace waflow::core::app
