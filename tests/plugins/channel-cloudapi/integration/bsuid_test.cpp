// Customers Meta identifies by a business-scoped user id (BSUID, protocols.md §A.4-A.7), end to
// end: the real daemon and channel-cloudapi, signed webhooks in, the replies read back from the
// fake Graph API. A customer with a username may reach us without a phone number; such a
// customer is answered through `recipient`, and one person is one contact whichever of their
// identifiers a message carries.
#include "cloudapi_daemon_config.h"
#include "daemon/daemon_process.h"
#include "failure_observer.h"
#include "fake_graph_api.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

namespace waflow::test {
namespace {

using ::testing::HasSubstr;
using Json = nlohmann::json;

constexpr const char* kBudiPhone = "6281234567890";
constexpr const char* kBudiUser = "ID.1349120865530274191";

class CloudApiBsuidTest : public ::testing::Test {
 protected:
  void SetUp() override {
    daemon_ = std::make_unique<DaemonProcess>(cloudApiConfig(fake_), std::vector<std::string>{},
                                              cloudApiSecrets());
  }
  void start() { ASSERT_TRUE(daemon_->start()) << daemon_->log(); }

  // Budi writes `text`, identified by `phone` and `user_id` ("" = not in the webhook), and
  // the daemon's reply is the `n`-th send the fake receives.
  RecordedSend say(const std::string& phone, const std::string& user_id, const std::string& text,
                   std::size_t n) {
    std::string webhook =
        fromUser(fake_.buildTextWebhook(kPhoneNumberId, kBudiPhone, "Budi", text), phone, user_id);
    auto r = FakeGraphApi::postWebhook(daemon_->url("/webhooks/wa"), kSecret, webhook);
    EXPECT_EQ(r.status, 200) << r.body << r.error;
    if (!fake_.waitForSends(n)) {
      ADD_FAILURE() << "no reply to '" << text << "'\n" << daemon_->log();
      return {};
    }
    return fake_.sends().at(n - 1);
  }

  FakeGraphApi fake_;
  std::unique_ptr<DaemonProcess> daemon_;
};

TEST_F(CloudApiBsuidTest, ACustomerWithoutAPhoneNumberIsAnsweredThroughRecipient) {
  start();
  RecordedSend reply = say("", kBudiUser, "halo dari akun tanpa nomor", 1);
  EXPECT_EQ(reply.body["recipient"], kBudiUser);
  EXPECT_FALSE(reply.body.contains("to")) << reply.raw_body;
  EXPECT_EQ(reply.body["text"]["body"], "halo dari akun tanpa nomor");
  EXPECT_EQ(reply.status, 200);
  EXPECT_THAT(http("GET", daemon_->url("/metrics")).body,
              HasSubstr("waflow_replies_queued_total{channel=\"wa\"} 1"));
}

// Since April 2026 Meta sends the user id beside the phone number; a customer who later hides
// the number (a username) is still the contact first known by the number, answered there.
TEST_F(CloudApiBsuidTest, AUserIdLinksAMessageToTheContactKnownByPhone) {
  start();
  RecordedSend first = say(kBudiPhone, kBudiUser, "pesan satu", 1);
  EXPECT_EQ(first.body["to"], kBudiPhone);
  RecordedSend second = say("", kBudiUser, "pesan dua", 2);
  EXPECT_EQ(second.body["to"], kBudiPhone) << second.raw_body;
  EXPECT_FALSE(second.body.contains("recipient")) << second.raw_body;
  EXPECT_EQ(second.body["text"]["body"], "pesan dua");
}

// A customer first seen without a number stays that contact when a later message also carries
// the number: the conversation is not split in two.
TEST_F(CloudApiBsuidTest, APhoneNumberLearntLaterJoinsTheContactKnownByUserId) {
  start();
  RecordedSend first = say("", kBudiUser, "pesan satu", 1);
  EXPECT_EQ(first.body["recipient"], kBudiUser);
  RecordedSend second = say(kBudiPhone, kBudiUser, "pesan dua", 2);
  EXPECT_EQ(second.body["recipient"], kBudiUser) << second.raw_body;
  EXPECT_EQ(second.body["text"]["body"], "pesan dua");
}

// A message naming nobody to answer is acknowledged and stored, and the missing reply is said:
// a log line and message.failed (read here through a flow that forwards it to the fake), never
// silence.
TEST_F(CloudApiBsuidTest, AMessageWithNoSenderIsReportedUnanswered) {
  std::filesystem::create_directories(daemon_->dir() / "flows");
  std::ofstream(daemon_->dir() / "flows" / "observe.yaml")
      << failureObserverFlow(fake_, kPhoneNumberId, "{{ event.in_reply_to }}: {{ event.error }}");
  start();
  std::string webhook = reshapedWebhook(
      fake_.buildTextWebhook(kPhoneNumberId, kBudiPhone, "Budi", "siapa saya", "wamid.NOBODY"),
      [](Json& message, Json& contact) {
        message.erase("from");
        contact.erase("wa_id");
      });
  auto r = FakeGraphApi::postWebhook(daemon_->url("/webhooks/wa"), kSecret, webhook);
  EXPECT_EQ(r.status, 200) << r.body << r.error;
  ASSERT_TRUE(fake_.waitForSends(1)) << daemon_->log();
  RecordedSend published = fake_.sends().at(0);
  EXPECT_EQ(published.to, "observer");
  EXPECT_THAT(published.body["text"]["body"].get<std::string>(),
              HasSubstr("wamid.NOBODY: the message names no sender"));
  EXPECT_THAT(daemon_->log(), HasSubstr("not answered: the message names no sender"));
  EXPECT_THAT(http("GET", daemon_->url("/metrics")).body,
              HasSubstr("waflow_replies_failed_total{channel=\"wa\"} 1"));
  EXPECT_EQ(fake_.sendCount(), 1u);
}

}  // namespace
}  // namespace waflow::test
