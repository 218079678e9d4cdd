#include "bus/ring.h"

#include <deque>
#include <string>

#include <gtest/gtest.h>

namespace waflow::core::bus {
namespace {

TEST(RingTest, BehavesAsFifoAcrossWrapAroundAndGrowth) {
  Ring<std::string> ring(2);
  std::deque<std::string> model;
  int next = 0;
  // Interleave pushes and pops so the head wraps around at several capacities.
  for (int round = 0; round < 200; ++round) {
    for (int i = 0; i < round % 7 + 1; ++i) {
      ring.push(std::to_string(next));
      model.push_back(std::to_string(next));
      ++next;
    }
    for (int i = 0; i < round % 5 && !model.empty(); ++i) {
      ASSERT_EQ(ring.pop(), model.front());
      model.pop_front();
    }
    ASSERT_EQ(ring.size(), model.size());
  }
  while (!model.empty()) {
    ASSERT_EQ(ring.pop(), model.front());
    model.pop_front();
  }
  EXPECT_TRUE(ring.empty());
  EXPECT_GE(ring.capacity(), 2u);
  ring.reset();
  EXPECT_EQ(ring.capacity(), 0u);
  ring.push("again");
  EXPECT_EQ(ring.pop(), "again");
}

}  // namespace
}  // namespace waflow::core::bus
