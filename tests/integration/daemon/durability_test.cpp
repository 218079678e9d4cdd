// What the durable inbox promises, with the real daemon and storage-sqlite:
// a webhook acknowledged is on disk; a redelivery is not processed again, also
// after a restart; a message stored before a crash is still answered.
#include "daemon_process.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <thread>

namespace waflow::test {
namespace {

using ::testing::HasSubstr;
using Json = nlohmann::json;

class DurabilityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = std::filesystem::temp_directory_path() /
            ("waflow-durable-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(data_);
    std::filesystem::create_directories(data_);
  }
  void TearDown() override { std::filesystem::remove_all(data_); }

  std::string config(const std::string& ai_latency) const {
    return "log: { level: debug }\ndata_dir: " + data_.string() + R"(
channels: { sandbox: { plugin: channel-sandbox } }
ai: { mock: { plugin: ai-mock, config: { latency: )" +
           ai_latency + R"( } } }
auto_reply: { mode: ai, ai: mock }
)";
  }

  static Json replies(const DaemonProcess& d, const std::string& contact, int wait_s) {
    auto r = http("GET", d.url("/webhooks/sandbox?replies_for=" + contact +
                               "&after=0&wait=" + std::to_string(wait_s)));
    return Json::parse(r.body)["replies"];
  }

  std::filesystem::path data_;
};

TEST_F(DurabilityTest, ARedeliveryAfterARestartIsNotProcessedAgain) {
  std::string body = textWebhook("628900", "wamid.once", "sekali saja");
  {
    DaemonProcess first(config("0ms"));
    ASSERT_TRUE(first.start()) << first.log();
    EXPECT_EQ(http("POST", first.url("/webhooks/sandbox"), body).status, 200);
    Json got = replies(first, "628900", 5);
    ASSERT_EQ(got.size(), 1u) << first.log();
    EXPECT_EQ(got[0]["text"], "You said: sekali saja");
    EXPECT_EQ(first.terminate(), 0);
  }
  DaemonProcess second(config("0ms"));
  ASSERT_TRUE(second.start()) << second.log();
  // Meta retries the same notification: acknowledged, not answered again.
  EXPECT_EQ(http("POST", second.url("/webhooks/sandbox"), body).status, 200);
  EXPECT_TRUE(replies(second, "628900", 2).empty());
  EXPECT_THAT(http("GET", second.url("/metrics")).body,
              HasSubstr("waflow_messages_duplicate_total{channel=\"sandbox\"} 1"));
  EXPECT_EQ(second.terminate(), 0);
}

TEST_F(DurabilityTest, AMessageStoredBeforeACrashIsAnsweredAfterTheRestart) {
  {
    // The AI takes 5 s, so the message is stored and acknowledged, but not
    // yet answered, when the process is killed.
    DaemonProcess crashing(config("5s"));
    ASSERT_TRUE(crashing.start()) << crashing.log();
    EXPECT_EQ(http("POST", crashing.url("/webhooks/sandbox"),
                   textWebhook("628901", "wamid.crash", "tolong dibalas"))
                  .status,
              200);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    crashing.kill9();
  }
  DaemonProcess restarted(config("0ms"));
  ASSERT_TRUE(restarted.start()) << restarted.log();
  Json got = replies(restarted, "628901", 10);
  ASSERT_EQ(got.size(), 1u) << restarted.log();
  EXPECT_EQ(got[0]["text"], "You said: tolong dibalas");
  EXPECT_THAT(restarted.log(), HasSubstr("were not finished; handling them now"));
  EXPECT_EQ(restarted.terminate(), 0);
  // Finished now: a third start has nothing left to do.
  DaemonProcess third(config("0ms"));
  ASSERT_TRUE(third.start());
  EXPECT_TRUE(replies(third, "628901", 1).empty());
  EXPECT_THAT(third.log(), ::testing::Not(HasSubstr("were not finished")));
  EXPECT_EQ(third.terminate(), 0);
}

}  // namespace
}  // namespace waflow::test
