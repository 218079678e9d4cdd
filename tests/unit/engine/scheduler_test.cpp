// Scheduler against a fake storage: the order of recovery and claims at start, what a fired
// job carries, completions batched while one is in flight, and a job added for sooner than
// the next wake-up firing then rather than at the next minute's poll.
#include "engine/scheduler.h"

#include "fake_storage.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

namespace waflow::core::engine {
namespace {

using nlohmann::json;
using testing::FakeAnswer;
using testing::FakeStorage;
using namespace std::chrono_literals;

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A scheduler on its own io thread, and the jobs its handler was given.
class SchedulerTest : public ::testing::Test {
 protected:
  SchedulerTest() : work_(io_.get_executor()), scheduler_(storage_, io_, "owner-1") {
    storage_.answer(waflow::storage::kJobRecover, {{"recovered", 0}});
    storage_.answer(waflow::storage::kJobNext, {{"due_at", nullptr}});
    storage_.answer(waflow::storage::kJobDone, {{"done", 1}});
  }
  ~SchedulerTest() override {
    scheduler_.stop();
    work_.reset();
    io_.stop();
    if (thread_.joinable()) {
      thread_.join();
    }
  }

  void start() {
    thread_ = std::thread([this] { io_.run(); });
    scheduler_.start([this](Scheduler::Job job) {
      std::lock_guard lock(mutex_);
      fired_.push_back(std::move(job));
    });
  }

  bool waitFired(size_t count, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      {
        std::lock_guard lock(mutex_);
        if (fired_.size() >= count) {
          return true;
        }
      }
      std::this_thread::sleep_for(5ms);
    }
    return false;
  }

  FakeStorage storage_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  Scheduler scheduler_;
  std::thread thread_;
  std::mutex mutex_;
  std::vector<Scheduler::Job> fired_;
};

TEST_F(SchedulerTest, RecoversThisOwnersLeasesBeforeItClaimsAndFiresWhatIsDue) {
  const int64_t due = nowMs() - 60000;
  int claims = 0;
  storage_.on(waflow::storage::kJobClaim, [&](const json& in) {
    EXPECT_EQ(storage_.calls(waflow::storage::kJobRecover).size(), 1u) << "claimed before recovery";
    json jobs = json::array();
    if (claims++ == 0) {
      jobs.push_back({{"id", "j1"},
                      {"kind", "followup"},
                      {"due_at", due},
                      {"payload", {{"text", "hi"}}},
                      {"conversation", "wa:628111"},
                      {"attempts", 2}});
    }
    EXPECT_EQ(in["owner"], "owner-1");
    return FakeAnswer::ok({{"jobs", jobs}});
  });

  start();

  ASSERT_TRUE(waitFired(1, 5s));
  std::lock_guard lock(mutex_);
  const Scheduler::Job& job = fired_[0];
  EXPECT_EQ(job.id, "j1");
  EXPECT_EQ(job.kind, "followup");
  EXPECT_EQ(job.payload["text"], "hi");
  EXPECT_EQ(job.conversation, "wa:628111");
  EXPECT_EQ(job.attempts, 2);
  EXPECT_TRUE(job.missed);  // due a minute before the start
  EXPECT_EQ(storage_.calls(waflow::storage::kJobRecover)[0], (json{{"owner", "owner-1"}}));
  EXPECT_TRUE(storage_.shapeErrors().empty()) << storage_.shapeErrors()[0];
}

TEST_F(SchedulerTest, CompletionsWaitingForACallInFlightGoOutTogether) {
  storage_.answer(waflow::storage::kJobClaim, {{"jobs", json::array()}});
  storage_.hold();

  scheduler_.complete("a");
  ASSERT_TRUE(storage_.waitForCalls(waflow::storage::kJobDone, 1, 2s));
  scheduler_.complete("b");
  scheduler_.complete("c");
  storage_.release();
  ASSERT_TRUE(storage_.waitForCalls(waflow::storage::kJobDone, 2, 2s));

  std::vector<json> calls = storage_.calls(waflow::storage::kJobDone);
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0], (json{{"ids", {"a"}}}));
  EXPECT_EQ(calls[1], (json{{"ids", {"b", "c"}}}));
  EXPECT_TRUE(storage_.shapeErrors().empty());
}

TEST_F(SchedulerTest, AJobAddedForSoonerThanTheNextWakeUpFiresThen) {
  // An in-memory job table: claim hands out what is due.
  std::mutex table_mutex;
  std::vector<json> table;
  storage_.on(waflow::storage::kJobAdd, [&](const json& in) {
    std::lock_guard lock(table_mutex);
    for (const json& job : in["jobs"]) {
      table.push_back(job);
    }
    return FakeAnswer::ok({{"added", json::array({true})}});
  });
  storage_.on(waflow::storage::kJobClaim, [&](const json& in) {
    std::lock_guard lock(table_mutex);
    json due = json::array();
    for (auto it = table.begin(); it != table.end();) {
      if ((*it)["due_at"].get<int64_t>() <= in["now"].get<int64_t>()) {
        due.push_back(*it);
        it = table.erase(it);
      } else {
        ++it;
      }
    }
    return FakeAnswer::ok({{"jobs", due}});
  });
  start();
  ASSERT_TRUE(storage_.waitForCalls(waflow::storage::kJobNext, 1, 2s));  // asleep for a minute

  std::promise<bool> stored;
  Scheduler::Job job;
  job.id = "soon";
  job.kind = "delay";
  job.due_at = nowMs() + 100;
  scheduler_.add({job}, false, [&](bool ok) { stored.set_value(ok); });

  EXPECT_TRUE(stored.get_future().get());
  ASSERT_TRUE(waitFired(1, 5s));  // not at the next minute's poll
  std::lock_guard lock(mutex_);
  EXPECT_EQ(fired_[0].id, "soon");
  EXPECT_FALSE(fired_[0].missed);
  EXPECT_TRUE(storage_.shapeErrors().empty()) << storage_.shapeErrors()[0];
}

TEST_F(SchedulerTest, CancelOnReplyAsksForTheConversationsReplyJobsOnly) {
  storage_.answer(waflow::storage::kJobCancel, {{"cancelled", 1}});
  std::promise<bool> done;

  scheduler_.cancelOnReply("wa:628111", [&](bool ok) { done.set_value(ok); });

  EXPECT_TRUE(done.get_future().get());
  std::vector<json> calls = storage_.calls(waflow::storage::kJobCancel);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0], (json{{"conversation", "wa:628111"}, {"only_cancel_on_reply", true}}));
  EXPECT_TRUE(storage_.shapeErrors().empty()) << storage_.shapeErrors()[0];
}

TEST_F(SchedulerTest, AnAddThatStorageRefusesIsReportedNotStored) {
  storage_.fail(waflow::storage::kJobAdd, waflow::Rc::kError, "disk full");
  std::promise<bool> stored;
  Scheduler::Job job;
  job.id = "x";
  job.kind = "delay";
  job.due_at = nowMs() + 1000;

  scheduler_.add({job}, false, [&](bool ok) { stored.set_value(ok); });

  EXPECT_FALSE(stored.get_future().get());
}

}  // namespace
}  // namespace waflow::core::engine
