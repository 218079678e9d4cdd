// LogThrottle: lets one log line of a kind through per interval and counts the ones it held
// back, so a flood (e.g. misrouted webhooks Meta redelivers for days) costs one line a minute,
// not one per request. The next line let through says how many were held back.
//
// Thread-safety: allow() may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>

namespace waflow::cloudapi {

class LogThrottle {
 public:
  using Clock = std::chrono::steady_clock;

  explicit LogThrottle(std::chrono::milliseconds interval) : interval_(interval) {}

  // nullopt: hold this line back. Otherwise log it, adding that this many were held back since
  // the last one.
  std::optional<uint64_t> allow(Clock::time_point now = Clock::now()) {
    std::lock_guard lock(mutex_);
    if (logged_once_ && now - last_ < interval_) {
      ++held_back_;
      return std::nullopt;
    }
    logged_once_ = true;
    last_ = now;
    uint64_t held = held_back_;
    held_back_ = 0;
    return held;
  }

 private:
  const std::chrono::milliseconds interval_;
  std::mutex mutex_;
  bool logged_once_ = false;
  Clock::time_point last_;
  uint64_t held_back_ = 0;
};

}  // namespace waflow::cloudapi
