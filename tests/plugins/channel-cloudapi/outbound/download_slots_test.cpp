// DownloadSlots on a real host loop (TestHost): the bound, the order, and close().
#include "download_slots.h"
#include "test_host.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <vector>

namespace waflow::cloudapi {
namespace {

using namespace std::chrono_literals;

class DownloadSlotsTest : public ::testing::Test {
 protected:
  // One download: takes a slot, records when it got it, holds it for `hold`.
  waflow::Task<void> download(DownloadSlots& slots, int id, std::chrono::milliseconds hold) {
    DownloadSlots::Permit permit = co_await slots.acquire();
    {
      std::lock_guard lock(mutex_);
      (permit ? order_ : refused_).push_back(id);
    }
    int now = ++running_;
    int seen = max_running_.load();
    while (now > seen && !max_running_.compare_exchange_weak(seen, now)) {
    }
    if (permit) {
      co_await host_.host().sleep(hold);
    }
    --running_;
  }

  // Starts every download at once, then waits until all have finished.
  waflow::Task<void> runAll(DownloadSlots& slots, int count, std::chrono::milliseconds hold,
                            bool close_midway = false) {
    for (int i = 0; i < count; ++i) {
      waflow::spawn(download(slots, i, hold), [this](std::exception_ptr) { ++finished_; });
    }
    if (close_midway) {
      slots.close();
    }
    while (finished_ < count) {
      co_await host_.host().sleep(5ms);
    }
  }

  test::TestHost host_;
  std::mutex mutex_;
  std::vector<int> order_;
  std::vector<int> refused_;
  std::atomic<int> running_{0};
  std::atomic<int> max_running_{0};
  std::atomic<int> finished_{0};
};

TEST_F(DownloadSlotsTest, AtMostTheLimitRunAndTheOthersWaitInOrder) {
  DownloadSlots slots(host_.host(), 2);
  host_.run(runAll(slots, 6, 20ms));
  EXPECT_EQ(max_running_.load(), 2);
  EXPECT_EQ(order_, (std::vector<int>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(slots.running(), 0u);
  EXPECT_EQ(slots.waiting(), 0u);
}

TEST_F(DownloadSlotsTest, CloseWakesTheWaitersWithoutASlot) {
  DownloadSlots slots(host_.host(), 1);
  host_.run(runAll(slots, 3, 50ms, /*close_midway=*/true));
  EXPECT_EQ(order_, (std::vector<int>{0}));
  EXPECT_EQ(refused_, (std::vector<int>{1, 2}));
  EXPECT_EQ(slots.running(), 0u);
}

}  // namespace
}  // namespace waflow::cloudapi
