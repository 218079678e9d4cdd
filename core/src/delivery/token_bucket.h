// TokenBucket — a rate limit with bursts: `burst` sends may go back to back,
// then one per 1/rate seconds. The sender keeps one per channel instance (the
// number's messages per second) and one per recipient (Meta's pair rate).
// A provider's "slow down" pauses the bucket until a given time.
//
// Thread-safety: none; the owner serialises access.
#pragma once

#include <algorithm>
#include <chrono>

namespace waflow::core::delivery {

class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;

  // rate_per_second <= 0 means unlimited (take() always succeeds unless paused).
  TokenBucket(double rate_per_second, double burst)
      : rate_(rate_per_second), burst_(std::max(1.0, burst)), tokens_(burst_) {}

  // Takes a token and returns zero, or returns how long until one is available
  // (nothing taken).
  Clock::duration take(Clock::time_point now) {
    if (now < paused_until_) {
      return paused_until_ - now;
    }
    if (rate_ <= 0) {
      return Clock::duration::zero();
    }
    refill(now);
    if (tokens_ >= 1.0) {
      tokens_ -= 1.0;
      return Clock::duration::zero();
    }
    return std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>((1.0 - tokens_) / rate_));
  }

  // No token before `until`; afterwards the bucket refills from empty.
  void pauseUntil(Clock::time_point until) {
    if (until > paused_until_) {
      paused_until_ = until;
      tokens_ = 0;
      last_ = until;
    }
  }

  // True when the bucket is full and not paused: it holds no state worth keeping.
  bool idle(Clock::time_point now) {
    if (now < paused_until_) {
      return false;
    }
    if (rate_ <= 0) {
      return true;
    }
    refill(now);
    return tokens_ >= burst_;
  }

 private:
  void refill(Clock::time_point now) {
    if (now > last_) {
      tokens_ =
          std::min(burst_, tokens_ + std::chrono::duration<double>(now - last_).count() * rate_);
      last_ = now;
    }
  }

  double rate_;
  double burst_;
  double tokens_;
  Clock::time_point last_{};
  Clock::time_point paused_until_{};
};

}  // namespace waflow::core::delivery
