// RecentIds — a bounded memory of message ids already accepted, so a webhook
// the provider redelivers (Meta retries for days) is acknowledged but not
// processed twice. The oldest ids are forgotten first once `capacity` is
// reached. (The durable inbox in storage extends this across restarts.)
//
// Thread-safety: all methods are thread-safe.
#pragma once

#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_set>

namespace waflow::core::app {

class RecentIds {
 public:
  explicit RecentIds(std::size_t capacity) : capacity_(capacity) {}

  // True when `id` was not known (and is now); false for a repeat.
  bool insert(const std::string& id) {
    std::lock_guard lock(mutex_);
    if (!ids_.insert(id).second) {
      return false;
    }
    order_.push_back(id);
    while (order_.size() > capacity_) {
      ids_.erase(order_.front());
      order_.pop_front();
    }
    return true;
  }

  // Forgets `id` again, so a redelivery is processed (used when accepting it failed).
  void erase(const std::string& id) {
    std::lock_guard lock(mutex_);
    ids_.erase(id);  // its slot in order_ ages out harmlessly
  }

 private:
  std::size_t capacity_;
  std::mutex mutex_;
  std::unordered_set<std::string> ids_;
  std::deque<std::string> order_;
};

}  // namespace waflow::core::app
