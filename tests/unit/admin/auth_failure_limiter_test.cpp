// AuthFailureLimiter: failures per address, lockouts, bounded memory.
#include "admin/auth_failure_limiter.h"

#include <gtest/gtest.h>

#include <string>

namespace waflow::core::admin {
namespace {

using Clock = AuthFailureLimiter::Clock;
using namespace std::chrono_literals;

TEST(AuthFailureLimiter, TheTenthFailureInAMinuteLocksTheAddressOut) {
  AuthFailureLimiter limiter;
  const Clock::time_point t0{};
  for (int i = 1; i <= 9; ++i) {
    EXPECT_FALSE(limiter.recordFailure("192.0.2.1", t0 + i * 1s).locked_out);
    EXPECT_EQ(limiter.lockedFor("192.0.2.1", t0 + i * 1s), Clock::duration::zero());
  }
  AuthFailureLimiter::Failure tenth = limiter.recordFailure("192.0.2.1", t0 + 10s);
  EXPECT_TRUE(tenth.locked_out);
  EXPECT_EQ(tenth.count, 10);
  EXPECT_EQ(limiter.lockedFor("192.0.2.1", t0 + 10s), 60s);
  EXPECT_EQ(limiter.lockedFor("192.0.2.1", t0 + 40s), 30s);
  EXPECT_EQ(limiter.lockedFor("192.0.2.2", t0 + 40s), Clock::duration::zero()) << "per address";
  EXPECT_EQ(limiter.lockedFor("192.0.2.1", t0 + 70s), Clock::duration::zero());
}

TEST(AuthFailureLimiter, FailuresSpreadOverMoreThanTheWindowNeverLockOut) {
  AuthFailureLimiter limiter;
  const Clock::time_point t0{};
  for (int i = 0; i < 100; ++i) {
    EXPECT_FALSE(limiter.recordFailure("192.0.2.1", t0 + i * 7s).locked_out) << i;
  }
}

TEST(AuthFailureLimiter, TheTableForgetsTheAddressThatFailedLongestAgo) {
  AuthFailureLimiter limiter({.max_failures = 2, .max_addresses = 3});
  const Clock::time_point t0{};
  limiter.recordFailure("a", t0);
  limiter.recordFailure("a", t0);  // locked out
  limiter.recordFailure("b", t0 + 1s);
  limiter.recordFailure("c", t0 + 2s);
  EXPECT_GT(limiter.lockedFor("a", t0 + 3s), Clock::duration::zero());
  limiter.recordFailure("d", t0 + 3s);
  EXPECT_EQ(limiter.size(), 3u);
  EXPECT_EQ(limiter.lockedFor("a", t0 + 3s), Clock::duration::zero());
}

TEST(AuthFailureLimiter, IPv6AddressesCountByTheirSlash64) {
  EXPECT_EQ(AuthFailureLimiter::clientKey("2001:db8:1:2:aaaa::1"),
            AuthFailureLimiter::clientKey("2001:db8:1:2:bbbb::2"));
  EXPECT_NE(AuthFailureLimiter::clientKey("2001:db8:1:2::1"),
            AuthFailureLimiter::clientKey("2001:db8:1:3::1"));
  EXPECT_EQ(AuthFailureLimiter::clientKey("::ffff:192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(AuthFailureLimiter::clientKey("192.0.2.7"), "192.0.2.7");
}

}  // namespace
}  // namespace waflow::core::admin
