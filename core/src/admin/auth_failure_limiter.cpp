#include "admin/auth_failure_limiter.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstdio>

namespace waflow::core::admin {

AuthFailureLimiter::Clock::duration AuthFailureLimiter::lockedFor(const std::string& key,
                                                                  Clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.locked_until <= now) {
    return Clock::duration::zero();
  }
  return it->second.locked_until - now;
}

AuthFailureLimiter::Failure AuthFailureLimiter::recordFailure(const std::string& key,
                                                              Clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    if (entries_.size() >= options_.max_addresses && !recent_.empty()) {
      entries_.erase(recent_.back());
      recent_.pop_back();
    }
    recent_.push_front(key);
    it = entries_.emplace(key, Entry{0, now, Clock::time_point{}, recent_.begin()}).first;
  } else {
    recent_.splice(recent_.begin(), recent_, it->second.recency);
  }
  Entry& entry = it->second;
  if (now - entry.window_start >= options_.window) {
    entry.failures = 0;
    entry.window_start = now;
  }
  Failure failure;
  failure.count = ++entry.failures;
  if (entry.failures >= options_.max_failures && entry.locked_until <= now) {
    entry.locked_until = now + options_.lockout;
    entry.failures = 0;  // the next window starts after the lockout
    entry.window_start = entry.locked_until;
    failure.locked_out = true;
  }
  return failure;
}

std::size_t AuthFailureLimiter::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

std::string AuthFailureLimiter::clientKey(std::string_view remote_address) {
  std::string text(remote_address);
  std::array<unsigned char, 16> v6{};
  if (inet_pton(AF_INET6, text.c_str(), v6.data()) != 1) {
    return text;  // IPv4, or whatever the server reported
  }
  static constexpr std::array<unsigned char, 12> kMappedPrefix = {0, 0, 0, 0, 0,    0,
                                                                  0, 0, 0, 0, 0xff, 0xff};
  if (std::equal(kMappedPrefix.begin(), kMappedPrefix.end(), v6.begin())) {
    char out[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, v6.data() + 12, out, sizeof out);
    return out;
  }
  char out[48] = {};
  std::snprintf(out, sizeof out, "%02x%02x:%02x%02x:%02x%02x:%02x%02x::/64", v6[0], v6[1], v6[2],
                v6[3], v6[4], v6[5], v6[6], v6[7]);
  return out;
}

}  // namespace waflow::core::admin
