// The inbound path against a fake storage: a stored message opens its contact's window and is
// published; a redelivery is not; nothing is acknowledged when storage fails; statuses reach
// the bus in the native form the outbox reads; and a message is marked handled only once every
// handler of its message.received is done, whatever the order they subscribed in.
#include "delivery/inbox.h"

#include "bus/event_bus.h"
#include "delivery/customer_window.h"
#include "delivery/events.h"
#include "fake_storage.h"
#include "metrics/metrics.h"

#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <thread>

namespace waflow::core::delivery {
namespace {

using nlohmann::json;
using testing::FakeAnswer;
using testing::FakeStorage;
using namespace std::chrono_literals;

plugin::WebhookOutcome oneMessage(const std::string& id, const std::string& from) {
  plugin::WebhookOutcome outcome;
  waflow::InboundMessage m;
  m.id = id;
  m.from = from;
  m.type = "text";
  m.text = "halo";
  m.timestamp = 1700000000;
  outcome.messages.push_back(std::move(m));
  return outcome;
}

template <typename Predicate>
bool eventually(Predicate predicate) {
  for (int i = 0; i < 300 && !predicate(); ++i) {
    std::this_thread::sleep_for(10ms);
  }
  return predicate();
}

class InboxTest : public ::testing::Test {
 protected:
  InboxTest() : bus_({.workers = 2}), inbox_(storage_, window_, bus_, metrics_, io_, 3) {
    storage_.answer(waflow::storage::kInboxDone, json::object());
  }
  ~InboxTest() override {
    bus_.stop(2s);
    inbox_.stop();
  }

  bool accept(plugin::WebhookOutcome outcome) {
    std::promise<bool> stored;
    inbox_.accept("wa", std::move(outcome), "req-1", [&](bool ok) { stored.set_value(ok); });
    return stored.get_future().get();
  }

  FakeStorage storage_;
  CustomerWindow window_;
  bus::EventBus bus_;
  metrics::Registry metrics_;
  boost::asio::io_context io_;
  Inbox inbox_;
};

TEST_F(InboxTest, AStoredMessageOpensTheWindowIsPublishedAndMarkedHandledAfterEveryHandler) {
  storage_.answer(waflow::storage::kInboxPut, {{"new", {true}}, {"contacts", {"628111"}}});
  std::mutex mutex;
  std::vector<std::string> order;
  auto note = [&](const std::string& what) {
    std::lock_guard lock(mutex);
    order.push_back(what);
  };
  inbox_.attachCompletion();  // first, as a convention no longer needs it to be last
  bus_.subscribeAsync(
      kMessageReceived,
      [&](const bus::Event& event, bus::Done done) {
        const ReceivedMessage* received = receivedMessage(event);
        note(received != nullptr ? "flows:" + received->message.id : "flows:?");
        std::thread([&note, done = std::move(done)]() mutable {
          std::this_thread::sleep_for(30ms);
          note("flows done");
          done();
        }).detach();
      },
      "flows");
  storage_.on(waflow::storage::kInboxDone, [&](const json& in) {
    note("inbox.done:" + in["messages"][0]["id"].get<std::string>());
    return FakeAnswer::ok(json::object());
  });
  bus_.start();

  ASSERT_TRUE(accept(oneMessage("wamid.1", "628111")));

  ASSERT_TRUE(storage_.waitForCalls(waflow::storage::kInboxDone, 1, 3s));
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(mutex);
    return order.size() == 3;
  }));
  EXPECT_EQ(order, (std::vector<std::string>{"flows:wamid.1", "flows done", "inbox.done:wamid.1"}));
  EXPECT_TRUE(window_.lastInbound("wa", "628111").has_value());
  json put = storage_.calls(waflow::storage::kInboxPut).at(0)["messages"][0];
  EXPECT_EQ(put["id"], "wamid.1");
  EXPECT_EQ(put["conversation"], "wa:628111");
  EXPECT_TRUE(storage_.shapeErrors().empty()) << storage_.shapeErrors()[0];
}

TEST_F(InboxTest, ARedeliveryIsAcknowledgedButNotPublishedAgain) {
  storage_.answer(waflow::storage::kInboxPut, {{"new", {false}}, {"contacts", {"628111"}}});
  std::atomic<int> published{0};
  bus_.subscribe(
      kMessageReceived, [&](const bus::Event&) { published.fetch_add(1); }, "count");
  bus_.start();

  EXPECT_TRUE(accept(oneMessage("wamid.1", "628111")));

  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(published.load(), 0);
  EXPECT_FALSE(window_.lastInbound("wa", "628111").has_value());
  EXPECT_NE(metrics_.render().find("waflow_messages_duplicate_total{channel=\"wa\"} 1"),
            std::string::npos);
}

TEST_F(InboxTest, NothingIsAcknowledgedWhenStorageFails) {
  storage_.fail(waflow::storage::kInboxPut, waflow::Rc::kBusy, "database is locked");
  std::atomic<int> published{0};
  bus_.subscribe(
      kMessageReceived, [&](const bus::Event&) { published.fetch_add(1); }, "count");
  bus_.start();

  EXPECT_FALSE(accept(oneMessage("wamid.1", "628111")));

  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(published.load(), 0);
}

TEST_F(InboxTest, AStoredStatusReachesTheBusWithTheOutboxMessageItIsAbout) {
  storage_.answer(waflow::storage::kStatusPut, {{"new", {true}}, {"outbox_ids", {"wa:in1:r0"}}});
  std::promise<StatusReport> seen;
  bus_.subscribe(
      kMessageStatus,
      [&](const bus::Event& event) {
        if (const StatusReport* report = statusReport(event)) {
          seen.set_value(*report);
        }
      },
      "outbox-like");
  bus_.start();
  plugin::WebhookOutcome outcome;
  waflow::StatusUpdate status;
  status.message_id = "wamid.out";
  status.status = "failed";
  status.recipient = "628111";
  status.error_code = 131047;
  outcome.statuses.push_back(status);

  ASSERT_TRUE(accept(std::move(outcome)));

  auto future = seen.get_future();
  ASSERT_EQ(future.wait_for(3s), std::future_status::ready);
  StatusReport report = future.get();
  EXPECT_EQ(report.channel, "wa");
  EXPECT_EQ(report.outbox_id, "wa:in1:r0");
  EXPECT_EQ(report.status.error_code, 131047);
  EXPECT_TRUE(storage_.shapeErrors().empty()) << storage_.shapeErrors()[0];
}

TEST(StatusReport, AHandMadeStatusEventCarriesNone) {
  bus::Event event;
  event.type = kMessageStatus;
  event.payload = R"({"channel":"wa","status":"failed","outbox_id":"x"})";
  EXPECT_EQ(statusReport(event), nullptr);
}

}  // namespace
}  // namespace waflow::core::delivery
