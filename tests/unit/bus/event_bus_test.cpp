#include "bus/event_bus.h"

#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "log/log.h"
#include "metrics/metrics.h"

namespace waflow::core::bus {
namespace {

using namespace std::chrono_literals;
using PublishResult = EventBus::PublishResult;

// Polls `predicate` until it holds or `timeout` passes; tests fail instead of hanging.
template <typename Predicate>
bool waitUntil(Predicate predicate, std::chrono::milliseconds timeout = 20s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!predicate()) {
    if (std::chrono::steady_clock::now() > deadline) {
      return false;
    }
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

Event makeEvent(std::string type, std::string conversation, std::string payload = "",
                std::string request_id = "") {
  Event event;
  event.type = std::move(type);
  event.conversation = std::move(conversation);
  event.payload = std::move(payload);
  event.request_id = std::move(request_id);
  return event;
}

// A gate handlers block on until the test opens it (with a safety timeout).
class Gate {
 public:
  void wait() {
    std::unique_lock lock(mu_);
    ++waiting_;
    cv_.notify_all();
    cv_.wait_for(lock, 20s, [this] { return open_; });
  }
  void open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  int waiting() {
    std::lock_guard lock(mu_);
    return waiting_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
  int waiting_ = 0;
};

// Two parties meet here; returns false if the other never arrives within the timeout, which
// is what happens when the bus serializes them.
class Rendezvous {
 public:
  bool arriveAndWait(int parties) {
    std::unique_lock lock(mu_);
    ++arrived_;
    cv_.notify_all();
    return cv_.wait_for(lock, 5s, [&] { return arrived_ >= parties; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int arrived_ = 0;
};

std::pair<int, int> parsePair(const std::string& payload) {
  const auto comma = payload.find(',');
  int a = 0;
  int b = 0;
  std::from_chars(payload.data(), payload.data() + comma, a);
  std::from_chars(payload.data() + comma + 1, payload.data() + payload.size(), b);
  return {a, b};
}

TEST(EventBusTest, OrdersEventsPerConversationUnderConcurrency) {
  constexpr int kConversations = 2000;
  constexpr int kEventsEach = 50;
  constexpr int kPublishers = 4;
  EventBus bus({.workers = 4, .capacity = 4096});

  std::vector<int> last_seq(kConversations, -1);  // guarded by the bus's ordering guarantee
  std::vector<std::atomic<int>> running(kConversations);
  std::atomic<int> order_violations{0};
  std::atomic<int> overlap_violations{0};
  std::atomic<int> handled{0};
  bus.subscribe(
      "message.received",
      [&](const Event& event) {
        const auto [conversation, seq] = parsePair(event.payload);
        if (running[conversation].fetch_add(1) != 0) {
          ++overlap_violations;
        }
        if (seq % 7 == 0) {
          std::this_thread::yield();
        }
        if (seq % 23 == 0) {
          std::this_thread::sleep_for(std::chrono::microseconds(50));
        }
        if (seq != last_seq[conversation] + 1) {
          ++order_violations;
        }
        last_seq[conversation] = seq;
        running[conversation].fetch_sub(1);
        ++handled;
      },
      "recorder");
  bus.start();

  std::vector<std::thread> publishers;
  std::atomic<int> rejected{0};
  for (int p = 0; p < kPublishers; ++p) {
    publishers.emplace_back([&, p] {
      // Each conversation has one publisher, so its publish order is well defined.
      for (int seq = 0; seq < kEventsEach; ++seq) {
        for (int c = p; c < kConversations; c += kPublishers) {
          Event event = makeEvent("message.received", "chan:" + std::to_string(c),
                                  std::to_string(c) + "," + std::to_string(seq));
          if (bus.publish(std::move(event), 20s) != PublishResult::kAccepted) {
            ++rejected;
          }
        }
      }
    });
  }
  for (auto& thread : publishers) {
    thread.join();
  }
  ASSERT_EQ(rejected.load(), 0);
  ASSERT_TRUE(waitUntil([&] { return handled.load() == kConversations * kEventsEach; }))
      << "handled " << handled.load();
  EXPECT_EQ(order_violations.load(), 0);
  EXPECT_EQ(overlap_violations.load(), 0);
  for (int c = 0; c < kConversations; ++c) {
    ASSERT_EQ(last_seq[c], kEventsEach - 1) << "conversation " << c;
  }
  const EventBus::Stats stats = bus.stats();
  EXPECT_EQ(stats.published, uint64_t{kConversations * kEventsEach});
  EXPECT_TRUE(waitUntil([&] { return bus.stats().handled == stats.published; }));
  EXPECT_EQ(bus.stats().queued, 0u);
  EXPECT_EQ(bus.stats().in_flight, 0u);
}

TEST(EventBusTest, OneConversationNeverRunsTwoEventsAtOnce) {
  EventBus bus({.workers = 8, .capacity = 10000});
  std::atomic<int> running{0};
  std::atomic<int> max_running{0};
  std::atomic<int> handled{0};
  int last = -1;
  std::atomic<int> out_of_order{0};
  bus.subscribe(
      "*",
      [&](const Event& event) {
        const int now = running.fetch_add(1) + 1;
        int seen = max_running.load();
        while (now > seen && !max_running.compare_exchange_weak(seen, now)) {
        }
        std::this_thread::yield();
        const int seq = std::stoi(event.payload);
        if (seq != last + 1) {
          ++out_of_order;
        }
        last = seq;
        running.fetch_sub(1);
        ++handled;
      },
      "single");
  bus.start();
  for (int i = 0; i < 3000; ++i) {
    ASSERT_EQ(bus.tryPublish(makeEvent("x", "only", std::to_string(i))), PublishResult::kAccepted);
  }
  ASSERT_TRUE(waitUntil([&] { return handled.load() == 3000; }));
  EXPECT_EQ(max_running.load(), 1);
  EXPECT_EQ(out_of_order.load(), 0);
}

TEST(EventBusTest, DifferentConversationsRunInParallel) {
  EventBus bus({.workers = 2});
  Rendezvous rendezvous;
  std::atomic<int> met{0};
  std::atomic<int> handled{0};
  bus.subscribe(
      "chat.*",
      [&](const Event&) {
        if (rendezvous.arriveAndWait(2)) {
          ++met;
        }
        ++handled;
      },
      "meet");
  bus.start();
  ASSERT_EQ(bus.tryPublish(makeEvent("chat.a", "a")), PublishResult::kAccepted);
  ASSERT_EQ(bus.tryPublish(makeEvent("chat.b", "b")), PublishResult::kAccepted);
  ASSERT_TRUE(waitUntil([&] { return handled.load() == 2; }));
  EXPECT_EQ(met.load(), 2) << "the two conversations were not handled at the same time";
}

TEST(EventBusTest, EventsWithoutConversationRunInParallel) {
  EventBus bus({.workers = 3});
  Rendezvous rendezvous;
  std::atomic<int> met{0};
  std::atomic<int> handled{0};
  bus.subscribe(
      "tick",
      [&](const Event&) {
        if (rendezvous.arriveAndWait(3)) {
          ++met;
        }
        ++handled;
      },
      "meet");
  bus.start();
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(bus.tryPublish(makeEvent("tick", "")), PublishResult::kAccepted);
  }
  ASSERT_TRUE(waitUntil([&] { return handled.load() == 3; }));
  EXPECT_EQ(met.load(), 3);
}

TEST(EventBusTest, AsyncHandlerHoldsItsConversationUntilDone) {
  EventBus bus({.workers = 2});
  std::mutex mu;
  std::vector<std::string> log;  // "async:<payload>" / "after:<payload>"
  // By payload: A1 and B1 run on different workers, in either order.
  std::map<std::string, EventBus::Done> pending;
  auto record = [&](std::string entry) {
    std::lock_guard lock(mu);
    log.push_back(std::move(entry));
  };
  auto logged = [&](const std::string& entry) {
    std::lock_guard lock(mu);
    return std::find(log.begin(), log.end(), entry) != log.end();
  };
  bus.subscribeAsync(
      "ai.request",
      [&](const Event& event, EventBus::Done done) {
        record("async:" + event.payload);
        std::lock_guard lock(mu);
        pending[event.payload] = std::move(done);
      },
      "ai");
  bus.subscribe(
      "ai.request", [&](const Event& event) { record("after:" + event.payload); }, "after");
  bus.start();

  ASSERT_EQ(bus.tryPublish(makeEvent("ai.request", "A", "A1")), PublishResult::kAccepted);
  ASSERT_EQ(bus.tryPublish(makeEvent("ai.request", "A", "A2")), PublishResult::kAccepted);
  ASSERT_EQ(bus.tryPublish(makeEvent("ai.request", "B", "B1")), PublishResult::kAccepted);
  // B is not held up by A's pending call.
  ASSERT_TRUE(waitUntil([&] { return logged("async:A1") && logged("async:B1"); }));
  std::this_thread::sleep_for(100ms);  // give a wrong implementation the chance to run on
  EXPECT_FALSE(logged("after:A1"));
  EXPECT_FALSE(logged("async:A2"));
  // A1 and B1 wait for done(); A2 is queued or held in A1's batch.
  const EventBus::Stats waiting = bus.stats();
  EXPECT_EQ(waiting.queued + waiting.in_flight, 3u);
  EXPECT_EQ(waiting.handled, 0u);

  // Complete A1 from another thread, as an HTTP client callback would.
  EventBus::Done a1;
  {
    std::lock_guard lock(mu);
    a1 = std::move(pending.at("A1"));
  }
  std::thread([done = std::move(a1)]() mutable { done(); }).join();
  ASSERT_TRUE(waitUntil([&] { return logged("async:A2"); }));
  {
    std::lock_guard lock(mu);
    const auto after_a1 = std::find(log.begin(), log.end(), "after:A1");
    const auto async_a2 = std::find(log.begin(), log.end(), "async:A2");
    ASSERT_NE(after_a1, log.end());
    EXPECT_LT(after_a1, async_a2);
    EXPECT_EQ(std::find(log.begin(), log.end(), "after:A2"), log.end());
    for (auto& [payload, done] : pending) {
      if (done) {
        done();
      }
    }
  }
  ASSERT_TRUE(waitUntil([&] { return logged("after:A2") && logged("after:B1"); }));
  ASSERT_TRUE(waitUntil([&] { return bus.stats().handled == 3; }));
  EXPECT_EQ(bus.stats().in_flight, 0u);
}

TEST(EventBusTest, AsyncDoneCalledInlineOrDroppedStillCompletes) {
  EventBus bus({.workers = 2});
  std::atomic<int> after{0};
  bus.subscribeAsync(
      "inline", [](const Event&, EventBus::Done done) { done(); }, "inline");
  bus.subscribeAsync(
      "dropped", [](const Event&, EventBus::Done) {}, "dropper");  // never calls done
  bus.subscribe(
      "*", [&](const Event&) { ++after; }, "after");
  bus.start();
  for (int i = 0; i < 50; ++i) {
    ASSERT_EQ(
        bus.tryPublish(makeEvent(i % 2 == 0 ? "inline" : "dropped", "c" + std::to_string(i % 3))),
        PublishResult::kAccepted);
  }
  ASSERT_TRUE(waitUntil([&] { return bus.stats().handled == 50; }));
  EXPECT_EQ(after.load(), 50);
  EXPECT_EQ(bus.stats().handler_errors, 0u);
}

TEST(EventBusTest, BoundedQueueRejectsAndWaitsForSpace) {
  constexpr std::size_t kCapacity = 4;
  EventBus bus({.workers = 1, .capacity = kCapacity});
  Gate gate;
  std::atomic<int> handled{0};
  bus.subscribe(
      "*",
      [&](const Event& event) {
        if (event.payload == "block") {
          gate.wait();
        }
        ++handled;
      },
      "blocker");
  bus.start();
  ASSERT_EQ(bus.tryPublish(makeEvent("t", "c0", "block")), PublishResult::kAccepted);
  ASSERT_TRUE(waitUntil([&] { return gate.waiting() == 1; }));

  for (std::size_t i = 0; i < kCapacity; ++i) {
    EXPECT_EQ(bus.tryPublish(makeEvent("t", "c" + std::to_string(i % 2))),
              PublishResult::kAccepted);
  }
  EXPECT_EQ(bus.tryPublish(makeEvent("t", "c9")), PublishResult::kFull);
  EXPECT_EQ(bus.tryPublish(makeEvent("t", "")), PublishResult::kFull);
  const auto before = std::chrono::steady_clock::now();
  EXPECT_EQ(bus.publish(makeEvent("t", "c9"), 50ms), PublishResult::kFull);
  EXPECT_GE(std::chrono::steady_clock::now() - before, 50ms);
  EventBus::Stats stats = bus.stats();
  EXPECT_EQ(stats.queued, kCapacity);
  EXPECT_EQ(stats.in_flight, 1u);
  EXPECT_EQ(stats.rejected_full, 3u);

  std::atomic<int> late_result{-1};
  std::thread late(
      [&] { late_result = static_cast<int>(bus.publish(makeEvent("t", "c9", "late"), 20s)); });
  std::this_thread::sleep_for(20ms);
  gate.open();
  late.join();
  EXPECT_EQ(late_result.load(), static_cast<int>(PublishResult::kAccepted));
  ASSERT_TRUE(waitUntil([&] { return handled.load() == 1 + static_cast<int>(kCapacity) + 1; }));
  EXPECT_EQ(bus.stats().published, kCapacity + 2);
}

class BusLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "waflow-bus-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    log::Options options;
    options.file = (dir_ / "bus.log").string();
    log::init(options);
  }
  void TearDown() override {
    log::init(log::Options{});
    std::filesystem::remove_all(dir_);
  }
  std::string logText() const {
    std::ifstream in(dir_ / "bus.log");
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  std::filesystem::path dir_;
};

TEST_F(BusLogTest, ThrowingHandlerIsLoggedCountedAndNotFatal) {
  metrics::Registry registry;
  EventBus bus({.workers = 2, .metrics = &registry});
  std::atomic<int> second_handler{0};
  bus.subscribe(
      "job.*",
      [](const Event& event) {
        if (event.type == "job.fail") {
          throw std::runtime_error("boom " + event.payload);
        }
        if (event.type == "job.weird") {
          throw 42;
        }
      },
      "thrower");
  bus.subscribe(
      "job.*", [&](const Event&) { ++second_handler; }, "second");
  bus.start();
  ASSERT_EQ(bus.tryPublish(makeEvent("job.ok", "c", "1")), PublishResult::kAccepted);
  ASSERT_EQ(bus.tryPublish(makeEvent("job.fail", "c", "2", "feedfacefeedface")),
            PublishResult::kAccepted);
  ASSERT_EQ(bus.tryPublish(makeEvent("job.weird", "c", "3")), PublishResult::kAccepted);
  ASSERT_EQ(bus.tryPublish(makeEvent("job.ok", "c", "4")), PublishResult::kAccepted);
  ASSERT_TRUE(waitUntil([&] { return bus.stats().handled == 4; }));
  EXPECT_EQ(second_handler.load(), 4);
  EXPECT_EQ(bus.stats().handler_errors, 2u);

  const std::string text = logText();
  EXPECT_NE(text.find("[bus] [req=feedfacefeedface] handler 'thrower' failed on event 'job.fail' "
                      "(conversation 'c'): boom 2"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("handler 'thrower' failed on event 'job.weird'"), std::string::npos) << text;

  const std::string rendered = registry.render();
  EXPECT_NE(rendered.find("waflow_bus_handler_errors_total{handler=\"thrower\"} 2\n"),
            std::string::npos)
      << rendered;
  EXPECT_NE(rendered.find("waflow_bus_handler_errors_total{handler=\"second\"} 0\n"),
            std::string::npos);
  EXPECT_NE(rendered.find("waflow_bus_events_handled_total 4\n"), std::string::npos);
  EXPECT_NE(rendered.find("waflow_bus_queued_events 0\n"), std::string::npos);
  EXPECT_NE(rendered.find("waflow_bus_handler_duration_seconds_count{handler=\"second\"} 4\n"),
            std::string::npos);
}

TEST(EventBusTest, StopDrainsQueuedEventsThenRefusesNewOnes) {
  EventBus bus({.workers = 1});
  std::atomic<int> handled{0};
  bus.subscribe(
      "*",
      [&](const Event&) {
        std::this_thread::sleep_for(std::chrono::microseconds(100));
        ++handled;
      },
      "slow");
  for (int i = 0; i < 300; ++i) {
    ASSERT_EQ(bus.tryPublish(makeEvent("t", "c" + std::to_string(i % 5))),
              PublishResult::kAccepted);
  }
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(bus.tryPublish(makeEvent("t", "")), PublishResult::kAccepted);
  }
  bus.start();
  bus.stop(20s);
  EXPECT_EQ(handled.load(), 400);
  EXPECT_EQ(bus.stats().handled, 400u);
  EXPECT_EQ(bus.stats().dropped, 0u);
  EXPECT_EQ(bus.tryPublish(makeEvent("t", "c")), PublishResult::kStopped);
  EXPECT_EQ(bus.publish(makeEvent("t", "c"), 10ms), PublishResult::kStopped);
  EXPECT_THROW(bus.start(), std::logic_error);
  bus.stop(1s);  // idempotent
}

TEST(EventBusTest, StopDropsWhatIsLeftAtTheDeadline) {
  EventBus bus({.workers = 1});
  Gate gate;
  std::atomic<int> handled{0};
  bus.subscribe(
      "*",
      [&](const Event& event) {
        if (event.payload == "block") {
          gate.wait();
        }
        ++handled;
      },
      "blocker");
  bus.start();
  ASSERT_EQ(bus.tryPublish(makeEvent("t", "a", "block")), PublishResult::kAccepted);
  ASSERT_TRUE(waitUntil([&] { return gate.waiting() == 1; }));
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(bus.tryPublish(makeEvent("t", i % 2 == 0 ? "a" : "")), PublishResult::kAccepted);
  }
  std::thread stopper([&] { bus.stop(0ms); });
  // Probing with publishes: those accepted before stop() began are dropped too.
  int accepted_probes = 0;
  ASSERT_TRUE(waitUntil([&] {
    const PublishResult result = bus.tryPublish(makeEvent("t", "a"));
    accepted_probes += result == PublishResult::kAccepted ? 1 : 0;
    return result == PublishResult::kStopped;
  }));
  std::this_thread::sleep_for(100ms);  // let stop() pass its (zero) deadline
  gate.open();
  stopper.join();
  EXPECT_EQ(handled.load(), 1);
  EXPECT_EQ(bus.stats().dropped, 10u + static_cast<uint64_t>(accepted_probes));
  EXPECT_EQ(bus.stats().queued, 0u);
}

TEST(EventBusTest, LateDoneAfterStopAndDestructionIsSafe) {
  EventBus::Done kept;
  std::atomic<int> after{0};
  {
    EventBus bus({.workers = 1});
    std::mutex mu;
    bus.subscribeAsync(
        "ai",
        [&](const Event&, EventBus::Done done) {
          std::lock_guard lock(mu);
          kept = std::move(done);
        },
        "ai");
    bus.subscribe(
        "ai", [&](const Event&) { ++after; }, "after");
    bus.start();
    ASSERT_EQ(bus.tryPublish(makeEvent("ai", "c")), PublishResult::kAccepted);
    ASSERT_EQ(bus.tryPublish(makeEvent("ai", "c")), PublishResult::kAccepted);
    ASSERT_TRUE(waitUntil([&] {
      std::lock_guard lock(mu);
      return static_cast<bool>(kept);
    }));
    bus.stop(10ms);
    EXPECT_EQ(bus.stats().in_flight, 2u);  // still waiting for the async handler
  }
  kept();  // the bus is gone; completing must neither crash nor run handlers
  EXPECT_EQ(after.load(), 0);
}

TEST(EventBusTest, PatternsMatchExactPrefixAndAllInSubscriptionOrder) {
  EventBus bus({.workers = 2});
  std::mutex mu;
  std::vector<std::string> seen;
  auto recorder = [&](std::string tag) {
    return [&, tag](const Event& event) {
      std::lock_guard lock(mu);
      seen.push_back(tag + ":" + event.type);
    };
  };
  bus.subscribe("message.received", recorder("exact"), "exact");
  bus.subscribe("message.*", recorder("prefix"), "prefix");
  bus.subscribe("*", recorder("all"), "all");
  const uint64_t gone = bus.subscribe("*", recorder("gone"), "gone");
  bus.unsubscribe(gone);
  EXPECT_THROW(bus.subscribe("", recorder("x"), "x"), std::invalid_argument);
  EXPECT_THROW(bus.subscribe("message*", recorder("x"), "x"), std::invalid_argument);
  EXPECT_THROW(bus.subscribe("*.received", recorder("x"), "x"), std::invalid_argument);
  EXPECT_THROW(bus.subscribe("a.*.b", recorder("x"), "x"), std::invalid_argument);
  EXPECT_THROW(bus.subscribe(".*", recorder("x"), "x"), std::invalid_argument);
  bus.start();
  for (const char* type :
       {"message.received", "message.status", "message", "messages.x", "message.a.b"}) {
    ASSERT_EQ(bus.tryPublish(makeEvent(type, "same")), PublishResult::kAccepted);
  }
  ASSERT_TRUE(waitUntil([&] { return bus.stats().handled == 5; }));
  const std::vector<std::string> expected = {
      "exact:message.received", "prefix:message.received", "all:message.received",
      "prefix:message.status",  "all:message.status",      "all:message",
      "all:messages.x",         "prefix:message.a.b",      "all:message.a.b"};
  std::lock_guard lock(mu);
  EXPECT_EQ(seen, expected);
}

TEST(EventBusTest, AWhenHandledHandlerRunsAfterEveryOtherWhateverTheOrderOfSubscription) {
  EventBus bus({.workers = 2});
  std::mutex mu;
  std::vector<std::string> seen;
  auto record = [&](const std::string& what) {
    std::lock_guard lock(mu);
    seen.push_back(what);
  };
  bus.subscribeWhenHandled(
      "message.received", [&](const Event&) { record("done"); }, "done");
  // Subscribed after the when-handled one, and slow: it still goes first.
  bus.subscribeAsync(
      "message.received",
      [&](const Event&, Done done) {
        std::thread([&record, done = std::move(done)]() mutable {
          std::this_thread::sleep_for(20ms);
          record("flows");
          done();
        }).detach();
      },
      "flows");
  bus.subscribe(
      "message.*", [&](const Event&) { record("metrics"); }, "metrics");
  bus.start();

  ASSERT_EQ(bus.tryPublish(makeEvent("message.received", "c1")), PublishResult::kAccepted);
  ASSERT_TRUE(waitUntil([&] { return bus.stats().handled == 1; }));

  std::lock_guard lock(mu);
  EXPECT_EQ(seen, (std::vector<std::string>{"flows", "metrics", "done"}));
}

TEST(EventBusTest, HandlersSeeTheEventsRequestId) {
  EventBus bus({.workers = 1});
  std::mutex mu;
  std::vector<std::string> ids;
  bus.subscribe(
      "*",
      [&](const Event&) {
        std::lock_guard lock(mu);
        ids.emplace_back(log::currentRequestId());
      },
      "ids");
  bus.start();
  ASSERT_EQ(bus.tryPublish(makeEvent("t", "c", "", "0123456789abcdef")), PublishResult::kAccepted);
  ASSERT_EQ(bus.tryPublish(makeEvent("t", "c", "")), PublishResult::kAccepted);
  ASSERT_EQ(bus.tryPublish(makeEvent("t", "", "", "fedcba9876543210")), PublishResult::kAccepted);
  ASSERT_TRUE(waitUntil([&] { return bus.stats().handled == 3; }));
  std::lock_guard lock(mu);
  EXPECT_EQ(ids, (std::vector<std::string>{"0123456789abcdef", "", "fedcba9876543210"}));
}

TEST(EventBusTest, ManyConversationsComingAndGoingWithMixedAsync) {
  // Exercises conversation recycling, async resumption and batching together.
  EventBus bus({.workers = 3, .capacity = 1000});
  constexpr int kConversations = 300;
  constexpr int kEvents = 20;
  std::vector<int> last(kConversations, -1);
  std::atomic<int> violations{0};
  std::mutex mu;
  std::vector<EventBus::Done> parked;
  std::atomic<bool> finishing{false};
  bus.subscribeAsync(
      "step",
      [&](const Event& event, EventBus::Done done) {
        const auto [c, seq] = parsePair(event.payload);
        if (seq % 3 == 0 && !finishing) {
          std::lock_guard lock(mu);
          parked.push_back(std::move(done));  // completed later by the pump thread
        } else {
          done();
        }
      },
      "maybe-async");
  bus.subscribe(
      "step",
      [&](const Event& event) {
        const auto [c, seq] = parsePair(event.payload);
        if (seq != last[c] + 1) {
          ++violations;
        }
        last[c] = seq;
      },
      "check");
  bus.start();
  std::atomic<bool> pumping{true};
  std::thread pump([&] {
    std::mt19937 rng(7);
    while (pumping) {
      std::vector<EventBus::Done> batch;
      {
        std::lock_guard lock(mu);
        batch.swap(parked);
      }
      std::shuffle(batch.begin(), batch.end(), rng);
      for (auto& done : batch) {
        done();
      }
      std::this_thread::sleep_for(200us);
    }
  });
  for (int seq = 0; seq < kEvents; ++seq) {
    for (int c = 0; c < kConversations; ++c) {
      ASSERT_EQ(bus.publish(makeEvent("step", "k" + std::to_string(c),
                                      std::to_string(c) + "," + std::to_string(seq)),
                            20s),
                PublishResult::kAccepted);
    }
  }
  const bool all = waitUntil([&] { return bus.stats().handled == kConversations * kEvents; });
  finishing = true;
  pumping = false;
  pump.join();
  ASSERT_TRUE(all) << "handled " << bus.stats().handled;
  EXPECT_EQ(violations.load(), 0);
  for (int c = 0; c < kConversations; ++c) {
    ASSERT_EQ(last[c], kEvents - 1);
  }
}

TEST(EventBusTest, KnowsWhetherAnyHandlerListensForAType) {
  EventBus bus(EventBus::Options{1, 16, nullptr});
  EXPECT_FALSE(bus.hasSubscribers("message.sent"));
  uint64_t exact = bus.subscribe(
      "message.sent", [](const Event&) {}, "exact");
  EXPECT_TRUE(bus.hasSubscribers("message.sent"));
  EXPECT_FALSE(bus.hasSubscribers("message.failed"));
  uint64_t prefix = bus.subscribe(
      "message.*", [](const Event&) {}, "prefix");
  EXPECT_TRUE(bus.hasSubscribers("message.failed"));
  bus.unsubscribe(exact);
  bus.unsubscribe(prefix);
  EXPECT_FALSE(bus.hasSubscribers("message.sent"));
  bus.stop(std::chrono::milliseconds(100));
}

}  // namespace
}  // namespace waflow::core::bus
