#include <waflow/sdk/log_throttle.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace {

using std::chrono::milliseconds;
using waflow::LogThrottle;

struct Collect {
  std::vector<std::string>* lines;
  void operator()(std::string_view line) const { lines->emplace_back(line); }
};

TEST(LogThrottle, FirstRefusalPerKindAndSourceIsLoggedTheRestSummarised) {
  LogThrottle throttle(milliseconds(10000));
  std::vector<std::string> lines;
  const auto t0 = LogThrottle::Clock::time_point{} + std::chrono::hours(1);
  for (int i = 0; i < 50; ++i) {
    throttle.log("bad signature", "203.0.113.9", "rejected " + std::to_string(i), Collect{&lines},
                 t0 + milliseconds(i * 100));
  }
  // Another source and another kind are not held back by the first.
  throttle.log("bad signature", "198.51.100.7", "other source", Collect{&lines}, t0);
  throttle.log("bad verify token", "203.0.113.9", "other kind", Collect{&lines}, t0);
  ASSERT_EQ(lines, (std::vector<std::string>{"rejected 0", "other source", "other kind"}));

  // After the interval: the summary, then the refusal itself.
  throttle.log("bad signature", "203.0.113.9", "rejected later", Collect{&lines},
               t0 + milliseconds(10000));
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[3],
            "… and 49 more refusals of this kind (bad signature) from 203.0.113.9 in the 10 s "
            "after the last one logged");
  EXPECT_EQ(lines[4], "rejected later");
  // A new window: held back again, and nothing to summarise after a quiet interval.
  throttle.log("bad signature", "203.0.113.9", "held", Collect{&lines}, t0 + milliseconds(10001));
  throttle.log("bad signature", "198.51.100.7", "after quiet", Collect{&lines},
               t0 + milliseconds(60000));
  EXPECT_EQ(lines.size(), 6u);
  EXPECT_EQ(lines[5], "after quiet");
}

TEST(LogThrottle, ManySourcesShareOneEntryOnceTheTableIsFull) {
  LogThrottle throttle(milliseconds(1000), 4);
  std::vector<std::string> lines;
  const auto t0 = LogThrottle::Clock::time_point{} + std::chrono::hours(1);
  for (int i = 0; i < 100; ++i) {
    throttle.log("bad signature", "10.0.0." + std::to_string(i), "from " + std::to_string(i),
                 Collect{&lines}, t0);
  }
  // Four tracked sources, then one line for all the others.
  EXPECT_EQ(lines, (std::vector<std::string>{"from 0", "from 1", "from 2", "from 3", "from 4"}));
  const LogThrottle::Verdict v = throttle.admit("bad signature", "10.0.0.200", t0);
  EXPECT_FALSE(v.log);
  EXPECT_EQ(v.source, "(other sources)");
  // Once their interval is over, expired entries make room again; the counts they held move
  // to "(other sources)" instead of vanishing.
  lines.clear();
  throttle.log("bad signature", "10.0.0.1", "again", Collect{&lines}, t0 + milliseconds(1000));
  throttle.log("bad signature", "10.0.0.250", "new", Collect{&lines}, t0 + milliseconds(1000));
  EXPECT_EQ(lines, (std::vector<std::string>{"again", "new"}));
  const LogThrottle::Verdict other =
      throttle.admit("bad signature", "10.0.0.251", t0 + milliseconds(1000));
  EXPECT_EQ(other.source, "10.0.0.251");
}

TEST(LogThrottle, LongSourcesAreCut) {
  LogThrottle throttle;
  const auto v = throttle.admit("kind", std::string(1000, 'x'), LogThrottle::Clock::now());
  EXPECT_TRUE(v.log);
  EXPECT_EQ(v.source.size(), 64u);
}

TEST(LogThrottle, ConcurrentRefusalsAreCountedExactlyOnce) {
  LogThrottle throttle(std::chrono::hours(1));
  std::atomic<int> logged{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        if (throttle.admit("bad signature", "203.0.113.9", LogThrottle::Clock::now()).log) {
          ++logged;
        }
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(logged.load(), 1);
}

}  // namespace
