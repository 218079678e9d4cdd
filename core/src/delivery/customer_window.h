// CustomerWindow — when each contact last wrote, for WhatsApp's 24-hour
// customer-service window: inside it any message may be sent, outside it only
// approved templates. The inbox notes every stored message here; contacts not
// seen since the daemon started are looked up in storage (contact.get) and
// remembered.
//
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace waflow::core::delivery {

class CustomerWindow {
 public:
  static constexpr int64_t kWindowMs = 24 * 60 * 60 * 1000;

  // Records that the contact wrote at `at_ms`; an older time never replaces a newer one.
  void note(const std::string& channel, const std::string& contact, int64_t at_ms) {
    std::lock_guard lock(mutex_);
    if (last_.size() >= kMaxRemembered) {
      last_.clear();  // forgotten contacts are looked up again; correctness does not depend on it
    }
    int64_t& last = last_[channel + '\n' + contact];
    last = std::max(last, at_ms);
  }

  // The provider reported the window closed (error 131047): trust it over our clock.
  void close(const std::string& channel, const std::string& contact) {
    std::lock_guard lock(mutex_);
    last_[channel + '\n' + contact] = 0;
  }

  // When the contact last wrote, if known here (0 = looked up: never wrote).
  std::optional<int64_t> lastInbound(const std::string& channel, const std::string& contact) {
    std::lock_guard lock(mutex_);
    auto it = last_.find(channel + '\n' + contact);
    if (it == last_.end()) {
      return std::nullopt;
    }
    return it->second;
  }

  static bool isOpen(int64_t last_inbound_ms, int64_t now_ms) {
    return last_inbound_ms > 0 && now_ms - last_inbound_ms < kWindowMs;
  }

 private:
  static constexpr std::size_t kMaxRemembered = 200000;
  std::mutex mutex_;
  std::unordered_map<std::string, int64_t> last_;
};

}  // namespace waflow::core::delivery
