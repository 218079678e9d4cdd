// TokenBucket: the sender's rate limit per number and pacing per recipient, on a clock the
// test moves by hand.
#include "delivery/token_bucket.h"

#include <gtest/gtest.h>

namespace waflow::core::delivery {
namespace {

using namespace std::chrono_literals;
using Clock = TokenBucket::Clock;

TEST(TokenBucketTest, ABurstGoesAtOnceThenOnePerInterval) {
  TokenBucket bucket(/*rate_per_second=*/2, /*burst=*/3);
  const Clock::time_point t0 = Clock::now();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(bucket.take(t0), Clock::duration::zero()) << "send " << i;
  }
  // The clock is the test's own: the waits are exact, not measured.
  EXPECT_EQ(bucket.take(t0), Clock::duration(500ms));
  EXPECT_EQ(bucket.take(t0 + 500ms), Clock::duration::zero());
  EXPECT_EQ(bucket.take(t0 + 500ms), Clock::duration(500ms));  // that token is spent
}

TEST(TokenBucketTest, IdleTimeRefillsNoMoreThanTheBurst) {
  TokenBucket bucket(10, 2);
  const Clock::time_point t0 = Clock::now();
  EXPECT_EQ(bucket.take(t0), Clock::duration::zero());
  EXPECT_EQ(bucket.take(t0), Clock::duration::zero());
  EXPECT_FALSE(bucket.idle(t0));
  const Clock::time_point later = t0 + 1h;
  EXPECT_TRUE(bucket.idle(later));
  EXPECT_EQ(bucket.take(later), Clock::duration::zero());
  EXPECT_EQ(bucket.take(later), Clock::duration::zero());
  EXPECT_EQ(bucket.take(later), Clock::duration(100ms));
}

TEST(TokenBucketTest, APauseFromTheProviderHoldsEverySendUntilItEnds) {
  TokenBucket bucket(100, 100);
  const Clock::time_point t0 = Clock::now();
  bucket.pauseUntil(t0 + 6s);
  EXPECT_EQ(bucket.take(t0 + 1s), 5s);
  EXPECT_FALSE(bucket.idle(t0 + 1s));
  // Afterwards it refills from empty: no burst right after a "too many" answer.
  EXPECT_EQ(bucket.take(t0 + 6s), Clock::duration(10ms));
  EXPECT_EQ(bucket.take(t0 + 6s + 10ms), Clock::duration::zero());
}

TEST(TokenBucketTest, ZeroRateMeansUnlimitedButStillHonoursPauses) {
  TokenBucket bucket(0, 1);
  const Clock::time_point t0 = Clock::now();
  for (int i = 0; i < 10000; ++i) {
    ASSERT_EQ(bucket.take(t0), Clock::duration::zero());
  }
  bucket.pauseUntil(t0 + 2s);
  EXPECT_EQ(bucket.take(t0), 2s);
  EXPECT_EQ(bucket.take(t0 + 2s), Clock::duration::zero());
}

}  // namespace
}  // namespace waflow::core::delivery
