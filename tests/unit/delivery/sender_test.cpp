// Sender with the real sandbox channel plugin: how many claimed messages it may hold at the
// configured rates, a channel it does not know refused, each answer handed back with its
// attempt counted, the channel's rate holding messages back, a recipient's pacing holding
// only that recipient back, and what still waits handed back when it closes.
#include "delivery/sender.h"

#include "bus/event_bus.h"
#include "http_client/http_client.h"
#include "plugin/plugin_catalog.h"
#include "plugin/plugin_instance.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

namespace waflow::core::delivery {
namespace {

using namespace std::chrono_literals;
using ItemPtr = Sender::ItemPtr;

ItemPtr item(const std::string& id, const std::string& to, const std::string& channel = "wa") {
  auto i = std::make_shared<OutboxItem>();
  i->m.id = id;
  i->m.channel = channel;
  i->m.to = to;
  i->m.text = "halo " + id;
  return i;
}

TEST(SenderLimits, HoldsAboutFiveSecondsOfSendingAtTheChannelsRates) {
  boost::asio::io_context io;
  Sender::Strand strand = boost::asio::make_strand(io);
  config::OutboxConfig config;
  auto sender = [&](std::map<std::string, plugin::PluginInstance*> channels) {
    return std::make_unique<Sender>(
        config, channels, io, strand, [](ItemPtr, plugin::CallOutcome) {}, [](ItemPtr) {});
  };
  config.rate_limit = 20;
  EXPECT_EQ(sender({{"a", nullptr}})->holdable(), 100u);
  EXPECT_EQ(sender({{"a", nullptr}, {"b", nullptr}})->holdable(), 200u);
  config.rate_limit = 1;
  EXPECT_EQ(sender({{"a", nullptr}})->holdable(), 64u);  // never fewer
  config.channel_rate_limits["b"] = 0;                   // unlimited
  EXPECT_EQ(sender({{"a", nullptr}, {"b", nullptr}})->holdable(), 4096u);
  auto two = sender({{"a", nullptr}, {"b", nullptr}});
  EXPECT_TRUE(two->knows("b"));
  EXPECT_FALSE(two->knows("c"));
  EXPECT_EQ(two->channelNames(), "a, b");
  EXPECT_EQ(sender({})->channelNames(), "none");
}

// A sender with one sandbox channel "wa" on two I/O threads.
class SenderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_dir_ = std::filesystem::temp_directory_path() /
                ("waflow-sender-test-" + std::to_string(::getpid()));
    catalog_.scan({WAFLOW_PLUGIN_DIR});
    for (int i = 0; i < 2; ++i) {
      threads_.emplace_back([this] { io_.run(); });
    }
    bus_.start();
    instance_ = std::make_unique<plugin::PluginInstance>(
        catalog_.find("channel-sandbox"), "wa", plugin::HostServices{io_, http_, bus_, data_dir_});
    std::string error;
    ASSERT_TRUE(instance_->create("{}", &error)) << error;
    ASSERT_TRUE(instance_->start(&error)) << error;
  }

  void TearDown() override {
    instance_.reset();
    bus_.stop(5s);
    http_.shutdown();
    work_.reset();
    for (auto& t : threads_) {
      t.join();
    }
    sender_.reset();  // after the I/O threads: no timer of its can fire any more
    std::filesystem::remove_all(data_dir_);
  }

  void makeSender() {
    sender_ = std::make_unique<Sender>(
        config_, std::map<std::string, plugin::PluginInstance*>{{"wa", instance_.get()}}, io_,
        strand_,
        [this](ItemPtr i, plugin::CallOutcome o) {
          std::lock_guard lock(mutex_);
          answered_.emplace_back(std::move(i), std::move(o));
        },
        [this](ItemPtr i) {
          std::lock_guard lock(mutex_);
          released_.push_back(std::move(i));
        });
  }

  // Runs `f` on the sender's strand and waits for it.
  template <typename F>
  auto onStrand(F f) {
    std::promise<decltype(f())> done;
    boost::asio::post(strand_, [&] {
      if constexpr (std::is_void_v<decltype(f())>) {
        f();
        done.set_value();
      } else {
        done.set_value(f());
      }
    });
    return done.get_future().get();
  }

  template <typename Predicate>
  bool eventually(Predicate predicate, std::chrono::milliseconds timeout = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      {
        std::lock_guard lock(mutex_);
        if (predicate()) {
          return true;
        }
      }
      std::this_thread::sleep_for(5ms);
    }
    std::lock_guard lock(mutex_);
    return predicate();
  }

  std::filesystem::path data_dir_;
  plugin::PluginCatalog catalog_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ =
      boost::asio::make_work_guard(io_);
  std::vector<std::thread> threads_;
  HttpClient http_{io_};
  bus::EventBus bus_{bus::EventBus::Options{2, 1024, nullptr}};
  std::unique_ptr<plugin::PluginInstance> instance_;
  Sender::Strand strand_ = boost::asio::make_strand(io_);
  config::OutboxConfig config_;
  std::unique_ptr<Sender> sender_;
  std::mutex mutex_;
  std::vector<std::pair<ItemPtr, plugin::CallOutcome>> answered_;
  std::vector<ItemPtr> released_;
};

TEST_F(SenderTest, EachAnswerComesBackWithItsAttemptCounted) {
  config_.rate_limit = 0;
  makeSender();
  EXPECT_TRUE(onStrand([&] { return sender_->submit(item("m1", "628111")); }));
  EXPECT_TRUE(onStrand([&] { return sender_->submit(item("m2", "")); }));  // no recipient
  EXPECT_FALSE(onStrand([&] { return sender_->submit(item("m3", "628111", "nope")); }));
  ASSERT_TRUE(eventually([&] { return answered_.size() == 2; }));
  std::lock_guard lock(mutex_);
  for (const auto& [i, o] : answered_) {
    EXPECT_EQ(i->attempts, 1);
    if (i->m.id == "m1") {
      EXPECT_TRUE(o.ok()) << o.error;
    } else {
      EXPECT_EQ(o.rc, waflow::Rc::kInvalid);
      EXPECT_NE(o.error.find("recipient"), std::string::npos) << o.error;
    }
  }
}

TEST_F(SenderTest, TheChannelsRateHoldsMessagesBackAndCloseHandsThemBack) {
  config_.rate_limit = 1;  // one a second, burst of one
  config_.recipient_burst = 0;
  makeSender();
  onStrand([&] {
    for (const char* id : {"m1", "m2", "m3"}) {
      sender_->submit(item(id, std::string("62800") + id));
    }
  });
  ASSERT_TRUE(eventually([&] { return answered_.size() == 1; }));
  EXPECT_EQ(onStrand([&] { return sender_->close(); }), 2u);
  std::this_thread::sleep_for(1200ms);  // past the next token: nothing more goes out
  std::lock_guard lock(mutex_);
  EXPECT_EQ(answered_.size(), 1u);
  EXPECT_EQ(answered_[0].first->m.id, "m1");
  ASSERT_EQ(released_.size(), 2u);
  EXPECT_EQ(released_[0]->m.id, "m2");
  EXPECT_EQ(released_[1]->m.id, "m3");
}

TEST_F(SenderTest, ARecipientsPacingHoldsOnlyThatRecipientBack) {
  config_.rate_limit = 0;
  config_.recipient_burst = 1;
  config_.recipient_interval = 400ms;
  makeSender();
  onStrand([&] {
    sender_->submit(item("a1", "628111"));
    sender_->submit(item("a2", "628111"));  // paced: waits about 400 ms
    sender_->submit(item("b1", "628222"));
  });
  ASSERT_TRUE(eventually([&] { return answered_.size() == 2; }));
  {
    std::lock_guard lock(mutex_);
    for (const auto& [i, o] : answered_) {
      EXPECT_NE(i->m.id, "a2");
    }
  }
  // Closed while a2 waits for its pacing: it is handed back when its wait ends, not sent.
  EXPECT_EQ(onStrand([&] { return sender_->close(); }), 0u);
  ASSERT_TRUE(eventually([&] { return released_.size() == 1; }));
  std::lock_guard lock(mutex_);
  EXPECT_EQ(released_[0]->m.id, "a2");
  EXPECT_EQ(answered_.size(), 2u);
}

TEST_F(SenderTest, APausedChannelSendsNothingUntilThePauseEnds) {
  config_.rate_limit = 0;
  config_.recipient_burst = 0;
  makeSender();
  onStrand([&] {
    sender_->pauseChannel("wa", Sender::Clock::now() + 300ms);
    sender_->submit(item("m1", "628111"));
  });
  std::this_thread::sleep_for(100ms);
  {
    std::lock_guard lock(mutex_);
    EXPECT_TRUE(answered_.empty());
  }
  ASSERT_TRUE(eventually([&] { return answered_.size() == 1; }));
}

}  // namespace
}  // namespace waflow::core::delivery
