// Which messages the auto-reply answers (auto_reply.answer_types), end to end through the real
// daemon and channel-cloudapi with the echo auto-reply: notices such as reactions are stored and
// left unanswered. Messages of one customer are handled in order, so when the reply to a later
// message arrives, the earlier ones have been handled: anything they were answered with came
// first.
#include "cloudapi_daemon_config.h"
#include "daemon/daemon_process.h"
#include "fake_graph_api.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <thread>

namespace waflow::test {
namespace {

using ::testing::HasSubstr;
using Json = nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kCustomer = "6281377778888";

class AutoReplyTypesTest : public ::testing::Test {
 protected:
  void start(const std::string& auto_reply) {
    daemon_ = std::make_unique<DaemonProcess>(cloudApiConfig(fake_, "", auto_reply),
                                              std::vector<std::string>{}, cloudApiSecrets());
    ASSERT_TRUE(daemon_->start()) << daemon_->log();
  }

  // The customer sends a message of `type` whose content object is `content`.
  void send(const std::string& type, const Json& content) {
    std::string webhook = reshapedWebhook(
        fake_.buildTextWebhook(kPhoneNumberId, kCustomer, "Sari", "x"), [&](Json& message, Json&) {
          message.erase("text");
          message["type"] = type;
          message[type] = content;
        });
    auto r = FakeGraphApi::postWebhook(daemon_->url("/webhooks/wa"), kSecret, webhook);
    EXPECT_EQ(r.status, 200) << r.body << r.error;
  }
  void sendText(const std::string& body) { send("text", {{"body", body}}); }
  void sendReaction(const std::string& emoji) {
    send("reaction", {{"message_id", "wamid.OURS"}, {"emoji", emoji}});
  }
  // Meta's notice for a message type the Cloud API does not carry (e.g. a poll).
  void sendUnsupported() { send("unsupported", {{"type", "poll"}}); }

  // The texts of every reply, once `n` have arrived and a moment more has passed.
  std::vector<std::string> replies(std::size_t n) {
    EXPECT_TRUE(fake_.waitForSends(n)) << daemon_->log();
    std::this_thread::sleep_for(300ms);
    std::vector<std::string> texts;
    for (const RecordedSend& s : fake_.sends()) {
      texts.push_back(s.body["text"]["body"].get<std::string>());
    }
    return texts;
  }

  FakeGraphApi fake_;
  std::unique_ptr<DaemonProcess> daemon_;
};

TEST_F(AutoReplyTypesTest, ReactionsAndNoticesAreNotAnsweredByDefault) {
  start("{ mode: echo }");
  sendReaction("👍");
  sendReaction("");  // the customer removed the reaction
  sendUnsupported();
  sendText("jadi pesan dua");
  EXPECT_THAT(replies(1), ::testing::ElementsAre("jadi pesan dua"));
  EXPECT_THAT(daemon_->log(), HasSubstr("auto_reply.answer_types does not list 'reaction'"));
}

TEST_F(AutoReplyTypesTest, TheConfiguredTypesAreAnsweredAndNoOthers) {
  start("{ mode: echo, answer_types: [reaction, image] }");
  sendText("halo");
  sendReaction("❤️");
  send("image", {{"id", fake_.addMedia("jpeg bytes", "image/jpeg")}, {"mime_type", "image/jpeg"}});
  EXPECT_THAT(replies(2), ::testing::ElementsAre("❤️", "[image received]"));
}

}  // namespace
}  // namespace waflow::test
