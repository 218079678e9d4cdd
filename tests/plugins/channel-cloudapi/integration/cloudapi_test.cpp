// The Cloud API channel end to end: the real daemon and plugin, signed
// webhooks in, sends out to a fake Graph API over real HTTP.
#include "cloudapi_daemon_config.h"
#include "daemon/daemon_process.h"
#include "fake_graph_api.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>
#include <thread>

namespace waflow::test {
namespace {

using ::testing::HasSubstr;
using Json = nlohmann::json;

class CloudApiTest : public ::testing::Test {
 protected:
  void startDaemon(const std::string& extra = "") {
    daemon_ = std::make_unique<DaemonProcess>(cloudApiConfig(fake_, extra),
                                              std::vector<std::string>{}, cloudApiSecrets());
    ASSERT_TRUE(daemon_->start()) << daemon_->log();
  }
  std::string webhookUrl() const { return daemon_->url("/webhooks/wa"); }

  FakeGraphApi fake_;
  std::unique_ptr<DaemonProcess> daemon_;
};

TEST_F(CloudApiTest, AnswersMetasVerificationHandshake) {
  startDaemon();
  auto ok = http(
      "GET",
      webhookUrl() + "?hub.mode=subscribe&hub.verify_token=verify-me-123&hub.challenge=1158201444");
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "1158201444");
  auto wrong = http(
      "GET", webhookUrl() + "?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1158201444");
  EXPECT_EQ(wrong.status, 403);
  EXPECT_THAT(wrong.body, ::testing::Not(HasSubstr("1158201444")));
}

TEST_F(CloudApiTest, ASignedMessageIsAnsweredThroughTheGraphApi) {
  startDaemon();
  std::string body = fake_.buildTextWebhook(kPhoneNumberId, "6281234567890", "Budi", "halo kak");
  auto r = FakeGraphApi::postWebhook(webhookUrl(), kSecret, body);
  EXPECT_EQ(r.status, 200) << r.body << r.error;
  ASSERT_TRUE(fake_.waitForSends(1)) << daemon_->log();
  auto send = fake_.sends().at(0);
  EXPECT_EQ(send.phone_number_id, kPhoneNumberId);
  EXPECT_EQ(send.to, "6281234567890");
  EXPECT_EQ(send.type, "text");
  EXPECT_EQ(send.body["text"]["body"], "halo kak");
  EXPECT_EQ(send.body["messaging_product"], "whatsapp");
  EXPECT_EQ(send.header("authorization"), "Bearer test-token");
  EXPECT_EQ(daemon_->terminate(), 0);
  // The token and the app secret never reach the log.
  EXPECT_EQ(daemon_->log().find("test-token"), std::string::npos);
  EXPECT_EQ(daemon_->log().find(kSecret), std::string::npos);
}

// One Meta app (one app secret) can serve several numbers, so a webhook for number 111 that
// reaches this channel is correctly signed; answering it would reply from our number with our
// token. It is acknowledged (or Meta redelivers it for days), counted, logged once a minute at
// most, and never stored or answered.
TEST_F(CloudApiTest, NotificationsForAnotherNumberAreAcknowledgedButNeverAnswered) {
  startDaemon();
  std::string foreign = fake_.buildTextWebhook("111", "628777", "Eka", "halo dari nomor 111");
  for (int i = 0; i < 3; ++i) {  // Meta's redeliveries
    auto r = FakeGraphApi::postWebhook(webhookUrl(), kSecret, foreign);
    EXPECT_EQ(r.status, 200) << r.body << r.error;
  }
  Json status = Json::parse(foreign);
  Json& value = status["entry"][0]["changes"][0]["value"];
  value.erase("messages");
  value.erase("contacts");
  value["statuses"] = Json::array({{{"id", "wamid.OTHER"},
                                    {"status", "failed"},
                                    {"recipient_id", "628777"},
                                    {"timestamp", "1750000000"},
                                    {"errors", Json::array({{{"code", 190}}})}}});
  EXPECT_EQ(FakeGraphApi::postWebhook(webhookUrl(), kSecret, status.dump()).status, 200);

  // This channel's own number is answered as before, and that answer is the only send.
  auto own = FakeGraphApi::postWebhook(
      webhookUrl(), kSecret, fake_.buildTextWebhook(kPhoneNumberId, "628888", "Dewi", "halo"));
  EXPECT_EQ(own.status, 200);
  ASSERT_TRUE(fake_.waitForSends(1)) << daemon_->log();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  auto sends = fake_.sends();
  ASSERT_EQ(sends.size(), 1u) << daemon_->log();
  EXPECT_EQ(sends[0].to, "628888");
  EXPECT_EQ(sends[0].phone_number_id, kPhoneNumberId);

  std::string metrics = http("GET", daemon_->url("/metrics")).body;
  EXPECT_THAT(metrics, HasSubstr("waflow_plugin_events_total{event=\"foreign_number_refused\","
                                 "instance=\"wa\",plugin=\"channel-cloudapi\"} 4"));
  EXPECT_THAT(metrics, HasSubstr("waflow_messages_received_total{channel=\"wa\"} 1"));
  // A failed status for 111 with code 190 must not mark this channel's token as dead.
  EXPECT_EQ(http("GET", daemon_->url("/readyz")).status, 200);
  // Logged once, then held back (at most one line a minute).
  std::string log = daemon_->log();
  std::string line = "refused a webhook change for phone_number_id '111'";
  std::size_t first = log.find(line);
  ASSERT_NE(first, std::string::npos) << log;
  EXPECT_EQ(log.find(line, first + 1), std::string::npos) << log;
}

TEST_F(CloudApiTest, ForgedMissingOrAlteredSignaturesAreRejectedAndNothingIsProcessed) {
  startDaemon();
  std::string body = fake_.buildTextWebhook(kPhoneNumberId, "628111", "Eve", "forged");
  auto missing = http("POST", webhookUrl(), body, {"Content-Type: application/json"});
  EXPECT_EQ(missing.status, 401);
  EXPECT_THAT(missing.body, HasSubstr("missing X-Hub-Signature-256"));
  auto wrong_key = http("POST", webhookUrl(), body,
                        {"X-Hub-Signature-256: " + FakeGraphApi::signatureHeader("guess", body)});
  EXPECT_EQ(wrong_key.status, 403);
  std::string altered = body;
  altered[altered.find("forged")] = 'F';  // one byte changed after signing
  auto changed = http("POST", webhookUrl(), altered,
                      {"X-Hub-Signature-256: " + FakeGraphApi::signatureHeader(kSecret, body)});
  EXPECT_EQ(changed.status, 403);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(fake_.sendCount(), 0u);
  EXPECT_THAT(http("GET", daemon_->url("/metrics")).body,
              ::testing::Not(HasSubstr("waflow_messages_received_total{channel=\"wa\"} 1")));
  EXPECT_THAT(daemon_->log(), HasSubstr("signature does not match"));
}

TEST_F(CloudApiTest, RateLimitedSendsAreRetriedUntilDelivered) {
  fake_.failNextSends(Fault::rateLimited(1), 2);
  startDaemon();
  auto r = FakeGraphApi::postWebhook(
      webhookUrl(), kSecret, fake_.buildTextWebhook(kPhoneNumberId, "628222", "Sari", "pesan"));
  EXPECT_EQ(r.status, 200);
  ASSERT_TRUE(fake_.waitForSends(3, std::chrono::seconds(15))) << daemon_->log();
  auto sends = fake_.sends();
  EXPECT_EQ(sends[0].error_code, 130429);
  EXPECT_EQ(sends[1].error_code, 130429);
  EXPECT_EQ(sends[2].status, 200);
  EXPECT_FALSE(sends[2].wamid.empty());
  // Retry-After (1 s) was honoured between attempts.
  EXPECT_GE(sends[1].received - sends[0].received, std::chrono::milliseconds(900));
}

TEST_F(CloudApiTest, AnExpiredTokenMakesTheChannelUnready) {
  startDaemon();
  EXPECT_EQ(http("GET", daemon_->url("/readyz")).status, 200);
  fake_.setAccessToken("a-newer-token");  // ours is now rejected with code 190
  FakeGraphApi::postWebhook(webhookUrl(), kSecret,
                            fake_.buildTextWebhook(kPhoneNumberId, "628333", "Adi", "tes"));
  HttpResult ready;
  for (int i = 0; i < 100; ++i) {
    ready = http("GET", daemon_->url("/readyz"));
    if (ready.status == 503) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(ready.status, 503);
  EXPECT_THAT(ready.body, HasSubstr("channel wa: access token rejected"));
  EXPECT_THAT(daemon_->log(), HasSubstr("channel unhealthy"));
  // An auth failure is not retried: the one rejected call is all Meta saw.
  uint64_t calls = fake_.requestCount();
  EXPECT_EQ(calls, 1u);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_EQ(fake_.requestCount(), calls);
}

TEST_F(CloudApiTest, InboundMediaIsDownloadedIntoTheMediaDirectory) {
  startDaemon();
  std::string bytes(20000, 'x');
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    bytes[i] = static_cast<char>(i * 31 % 251);
  }
  std::string media_id = fake_.addMedia(bytes, "image/jpeg");
  Json body = Json::parse(fake_.buildTextWebhook(kPhoneNumberId, "628444", "Rina", "x"));
  Json& message = body["entry"][0]["changes"][0]["value"]["messages"][0];
  message.erase("text");
  message["type"] = "image";
  message["image"] = {{"id", media_id}, {"mime_type", "image/jpeg"}, {"caption", "bukti transfer"}};
  auto r = FakeGraphApi::postWebhook(webhookUrl(), kSecret, body.dump());
  EXPECT_EQ(r.status, 200);
  auto file = daemon_->dir() / "data" / "plugins" / "wa" / "media" / (media_id + ".jpg");
  for (int i = 0; i < 200 && !std::filesystem::exists(file); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  ASSERT_TRUE(std::filesystem::exists(file)) << daemon_->log();
  std::ifstream in(file, std::ios::binary);
  std::stringstream got;
  got << in.rdbuf();
  EXPECT_EQ(got.str(), bytes);
  // The caption is what the auto-reply read.
  ASSERT_TRUE(fake_.waitForSends(1));
  EXPECT_EQ(fake_.sends()[0].body["text"]["body"], "bukti transfer");
}

TEST_F(CloudApiTest, TurningSignatureChecksOffNeedsTheSwitchAndWarns) {
  daemon_ = std::make_unique<DaemonProcess>(
      R"(
channels:
  wa:
    plugin: channel-cloudapi
    config: { phone_number_id: "1", access_token: t, verify_token: v }
)",
      std::vector<std::string>{}, cloudApiSecrets());
  EXPECT_FALSE(daemon_->start());
  EXPECT_THAT(daemon_->log(), HasSubstr("app_secret is required"));

  startDaemon("      verify_signature: false");
  EXPECT_THAT(daemon_->log(), HasSubstr("verify_signature is false"));
  std::string body = fake_.buildTextWebhook(kPhoneNumberId, "628555", "Tio", "unsigned");
  EXPECT_EQ(http("POST", webhookUrl(), body).status, 200);
  EXPECT_TRUE(fake_.waitForSends(1));
}

}  // namespace
}  // namespace waflow::test
