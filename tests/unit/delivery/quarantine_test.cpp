// Quarantine against a fake storage: which stored messages a new start hands on, which it
// sets aside (with the event, the metric and the log), and what it does when storage cannot
// count in time.
#include "delivery/quarantine.h"

#include "bus/event_bus.h"
#include "fake_storage.h"
#include "metrics/metrics.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

namespace waflow::core::delivery {
namespace {

using nlohmann::json;
using testing::FakeAnswer;
using testing::FakeStorage;
using namespace std::chrono_literals;

json stored(const std::string& id) {
  return {{"channel", "wa"}, {"id", id}, {"contact", "628111"}, {"conversation", "wa:628111"}};
}

class QuarantineTest : public ::testing::Test {
 protected:
  QuarantineTest() : bus_({.workers = 1}) { bus_.start(); }
  ~QuarantineTest() override { bus_.stop(1s); }

  FakeStorage storage_;
  bus::EventBus bus_;
  metrics::Registry metrics_;
};

TEST_F(QuarantineTest, HandsOnThePendingAndSetsAsideTheOnesPastTheLimit) {
  storage_.answer(waflow::storage::kInboxAttempt, {{"messages",
                                                    {{{"state", "pending"}, {"attempts", 2}},
                                                     {{"state", "quarantined"}, {"attempts", 4}},
                                                     {{"state", "done"}, {"attempts", 1}}}}});
  std::atomic<int> events{0};
  std::string payload;
  bus_.subscribe(
      kMessageQuarantined,
      [&](const bus::Event& event) {
        payload = event.payload;
        events.fetch_add(1);
      },
      "test");
  Quarantine quarantine(storage_, bus_, metrics_, 3);

  std::vector<json> admitted = quarantine.admit({stored("m1"), stored("m2"), stored("m3")}, 5s);

  ASSERT_EQ(admitted.size(), 1u);
  EXPECT_EQ(admitted[0]["id"], "m1");
  std::vector<json> calls = storage_.calls(waflow::storage::kInboxAttempt);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0]["max_attempts"], 3);
  EXPECT_EQ(calls[0]["messages"].size(), 3u);
  EXPECT_EQ(calls[0]["messages"][1], (json{{"channel", "wa"}, {"id", "m2"}}));
  for (int i = 0; i < 100 && events.load() == 0; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_EQ(events.load(), 1);
  json event = json::parse(payload);
  EXPECT_EQ(event["id"], "m2");
  EXPECT_EQ(event["attempts"], 4);
  EXPECT_NE(metrics_.render().find("waflow_messages_quarantined_total{channel=\"wa\"} 1"),
            std::string::npos);
  EXPECT_TRUE(storage_.shapeErrors().empty()) << storage_.shapeErrors()[0];
}

TEST_F(QuarantineTest, AStorageThatCannotCountLetsEveryMessageThrough) {
  storage_.fail(waflow::storage::kInboxAttempt, waflow::Rc::kBusy, "database is locked");
  Quarantine quarantine(storage_, bus_, metrics_, 3);

  std::vector<json> admitted = quarantine.admit({stored("m1"), stored("m2")}, 5s);

  EXPECT_EQ(admitted.size(), 2u);
  EXPECT_TRUE(storage_.shapeErrors().empty());
}

TEST_F(QuarantineTest, AnAnswerAfterTheTimeoutIsIgnoredSafely) {
  // The answer comes after admit() has given up and returned: it must land somewhere that
  // still exists (AddressSanitizer reports a write into admit()'s finished stack otherwise).
  storage_.answer(waflow::storage::kInboxAttempt,
                  {{"messages", {{{"state", "quarantined"}, {"attempts", 9}}}}});
  storage_.hold();
  Quarantine quarantine(storage_, bus_, metrics_, 3);

  std::vector<json> admitted = quarantine.admit({stored("m1")}, 50ms);
  storage_.release();
  ASSERT_TRUE(storage_.waitForCalls(waflow::storage::kInboxAttempt, 1, 1s));
  std::this_thread::sleep_for(50ms);  // the late answer is delivered meanwhile

  EXPECT_EQ(admitted.size(), 1u);  // not counted in time: handled rather than lost
}

TEST_F(QuarantineTest, ReleaseSaysWhetherTheMessageWasQuarantined) {
  storage_.on(waflow::storage::kInboxRelease, [](const json& in) {
    bool known = in["messages"][0]["id"] == "m1";
    return FakeAnswer::ok({{"released", {known}}});
  });
  Quarantine quarantine(storage_, bus_, metrics_, 3);
  std::promise<std::pair<bool, std::string>> first, second;

  quarantine.release("wa", "m1", [&](bool ok, const std::string& e) { first.set_value({ok, e}); });
  quarantine.release("wa", "zz", [&](bool ok, const std::string& e) { second.set_value({ok, e}); });

  EXPECT_TRUE(first.get_future().get().first);
  EXPECT_FALSE(second.get_future().get().first);
  EXPECT_TRUE(storage_.shapeErrors().empty());
}

}  // namespace
}  // namespace waflow::core::delivery
