// Sends through postMessages() (real HttpClient via TestHost) to FakeGraphApi: the recorded
// requests, the success shape, every scripted and random fault as the sender classifies it, and
// the signed webhooks the fake posts.
#include "fake_graph_api.h"
#include "outbound.h"
#include "test_host.h"
#include "test_http_server.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace waflow::cloudapi {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using test::FakeGraphApi;
using test::Fault;
using waflow::Rc;

class CloudApiFakeGraph : public ::testing::Test {
 protected:
  CloudApiFakeGraph() {
    config_.phone_number_id = "1122334455667";
    config_.access_token = "test-token";
    config_.base_url = fake_.baseUrl();
    config_.timeout = 10s;
  }

  SendOutcome send(const std::string& to, const std::string& text) {
    return sendWithId(config_, "", to, text);
  }

  // A text send carrying outbox id `id` (none when empty), through `config`.
  SendOutcome sendWithId(const ChannelConfig& config, const std::string& id, const std::string& to,
                         const std::string& text = "halo") {
    waflow::OutboundMessage m;
    m.id = id;
    m.to = to;
    m.type = "text";
    m.text = text;
    return host_.run(postMessages(host_.host(), config, buildSendBody(m)));
  }

  FakeGraphApi fake_;
  test::TestHost host_;
  ChannelConfig config_;
};

TEST_F(CloudApiFakeGraph, RecordsSendsAndAnswersUniqueWamids) {
  SendOutcome a = send("6281111111111", "satu");
  SendOutcome b = send("6282222222222", "dua");
  SendOutcome c = send("6281111111111", "tiga");
  for (const SendOutcome* o : {&a, &b, &c}) {
    EXPECT_EQ(o->rc, Rc::kOk) << o->message;
    EXPECT_TRUE(o->provider_message_id.starts_with("wamid.")) << o->provider_message_id;
  }
  std::set<std::string> ids = {a.provider_message_id, b.provider_message_id, c.provider_message_id};
  EXPECT_EQ(ids.size(), 3u);

  auto sends = fake_.sends();
  ASSERT_EQ(sends.size(), 3u);
  EXPECT_EQ(sends[0].api_version, "v23.0");
  EXPECT_EQ(sends[0].phone_number_id, "1122334455667");
  EXPECT_EQ(sends[0].header("Authorization"), "Bearer test-token");
  EXPECT_EQ(sends[0].header("content-type"), "application/json");
  EXPECT_EQ(sends[0].body["text"]["body"], "satu");
  EXPECT_EQ(sends[0].wamid, a.provider_message_id);
  EXPECT_EQ(sends[0].status, 200);

  auto to_first = fake_.sendsTo("6281111111111");
  ASSERT_EQ(to_first.size(), 2u);
  EXPECT_EQ(to_first[0].body["text"]["body"], "satu");
  EXPECT_EQ(to_first[1].body["text"]["body"], "tiga");
  EXPECT_LE(to_first[0].received, to_first[1].received);
}

TEST_F(CloudApiFakeGraph, TemplateOnV24CarriesMessageStatus) {
  config_.graph_api_version = "v24.0";
  waflow::OutboundMessage m;
  m.to = "6281234567890";
  m.type = "template";
  m.payload_json = R"({"name":"hello_world","language":"en_US"})";
  SendOutcome o = host_.run(postMessages(host_.host(), config_, buildSendBody(m)));
  EXPECT_EQ(o.rc, Rc::kOk);
  EXPECT_EQ(o.message_status, "accepted");
  EXPECT_EQ(fake_.sends().at(0).api_version, "v24.0");
}

TEST_F(CloudApiFakeGraph, ScriptedFaultsInOrder) {
  fake_.failNextSends(Fault::rateLimited(2));
  fake_.failNextSends(Fault::pairRateLimited(6));
  fake_.failNextSends(Fault::serverError());
  SendOutcome throughput = send("6281", "a");
  SendOutcome pair = send("6281", "b");
  SendOutcome server = send("6281", "c");
  SendOutcome ok = send("6281", "d");

  EXPECT_EQ(throughput.rc, Rc::kRetry);
  EXPECT_EQ(throughput.error_code, 130429);
  EXPECT_EQ(throughput.retry_after, 2s);
  EXPECT_EQ(pair.rc, Rc::kRetry);
  EXPECT_EQ(pair.error_code, 131056);
  EXPECT_EQ(pair.retry_after, 6s);
  EXPECT_EQ(server.rc, Rc::kRetry);
  EXPECT_EQ(server.http_status, 500);
  EXPECT_EQ(server.error_code, 131000);
  EXPECT_EQ(ok.rc, Rc::kOk);

  auto sends = fake_.sends();
  ASSERT_EQ(sends.size(), 4u);
  EXPECT_EQ(sends[0].status, 429);
  EXPECT_EQ(sends[0].error_code, 130429);
  EXPECT_EQ(sends[2].status, 500);
  EXPECT_TRUE(sends[2].wamid.empty());
  EXPECT_EQ(sends[3].status, 200);
}

TEST_F(CloudApiFakeGraph, RecipientFaultIsPermanent) {
  fake_.setRecipientFault("6289999",
                          Fault::metaError(400, 131026, {}, "Recipient is not a WhatsApp user."));
  SendOutcome bad = send("6289999", "halo");
  SendOutcome good = send("6281111", "halo");
  EXPECT_EQ(bad.rc, Rc::kError);
  EXPECT_EQ(bad.error_code, 131026);
  EXPECT_EQ(bad.message,
            "Meta error 131026 (Message undeliverable): Recipient is not a WhatsApp user.");
  EXPECT_EQ(good.rc, Rc::kOk);
  EXPECT_EQ(send("6289999", "lagi").rc, Rc::kError);
  fake_.setRecipientFault("6289999", Fault::none());
  EXPECT_EQ(send("6289999", "sekarang").rc, Rc::kOk);
}

TEST_F(CloudApiFakeGraph, SlowAndUnansweredSends) {
  fake_.failNextSends(Fault::slow(50ms));
  EXPECT_EQ(send("6281", "slow").rc, Rc::kOk);

  fake_.failNextSends(Fault::noAnswer());
  config_.timeout = 300ms;
  SendOutcome hung = send("6281", "never");
  // The request reached Meta and only its answer is missing: it may have been delivered, so it
  // is in doubt, not retried (that sent it twice).
  EXPECT_EQ(hung.rc, Rc::kInDoubt);
  EXPECT_NE(hung.message.find("timeout"), std::string::npos) << hung.message;
  EXPECT_NE(hung.message.find("in doubt"), std::string::npos) << hung.message;
  auto sends = fake_.sends();
  ASSERT_EQ(sends.size(), 2u);
  EXPECT_EQ(sends[1].status, 0);  // recorded, never answered
}

TEST_F(CloudApiFakeGraph, ASendThatCouldNotConnectIsRetriedNotInDoubt) {
  config_.base_url = "http://127.0.0.1:1";  // nothing listens: the request never went out
  SendOutcome refused = send("6281", "halo");
  EXPECT_EQ(refused.rc, Rc::kRetry) << refused.message;
}

std::vector<int> statusesWithSeed(uint64_t seed) {
  FakeGraphApi fake;
  test::FaultRates rates;
  rates.rate_limited = 0.2;
  rates.pair_rate_limited = 0.1;
  rates.server_error = 0.2;
  rates.seed = seed;
  fake.setFaultRates(rates);
  test::TestHost host;
  ChannelConfig config;
  config.phone_number_id = "1";
  config.access_token = "test-token";
  config.base_url = fake.baseUrl();
  std::vector<int> statuses;
  for (int i = 0; i < 40; ++i) {
    waflow::OutboundMessage m;
    m.to = "628123";
    m.type = "text";
    m.text = "n" + std::to_string(i);
    SendOutcome o = host.run(postMessages(host.host(), config, buildSendBody(m)));
    statuses.push_back(o.http_status * 1000000 + o.error_code);
  }
  return statuses;
}

TEST(CloudApiFakeGraphRates, SeededFaultsAreReproducible) {
  std::vector<int> first = statusesWithSeed(7);
  EXPECT_EQ(first, statusesWithSeed(7));
  std::multiset<int> kinds(first.begin(), first.end());
  EXPECT_GT(kinds.count(200 * 1000000), 0u);
  EXPECT_GT(kinds.count(429 * 1000000 + 130429), 0u);
  EXPECT_GT(kinds.count(500 * 1000000 + 131000), 0u);
  EXPECT_NE(first, statusesWithSeed(8));
}

TEST_F(CloudApiFakeGraph, ExpiredTokenAndMarkAsRead) {
  SendOutcome read =
      host_.run(postMessages(host_.host(), config_, buildMarkAsRead("wamid.IN", true)));
  EXPECT_EQ(read.rc, Rc::kOk);
  auto reads = fake_.reads();
  ASSERT_EQ(reads.size(), 1u);
  EXPECT_EQ(reads[0].message_id, "wamid.IN");
  EXPECT_TRUE(reads[0].typing);
  EXPECT_EQ(fake_.sendCount(), 0u);  // a read receipt is not a message

  fake_.setAccessToken("rotated");
  SendOutcome expired = send("6281", "x");
  EXPECT_EQ(expired.rc, Rc::kAuth);
  EXPECT_EQ(expired.error_code, 190);
  EXPECT_EQ(expired.http_status, 401);
}

TEST(CloudApiFakeGraphWebhooks, SignatureMatchesProtocolVectors) {
  EXPECT_EQ(FakeGraphApi::signatureHeader("secret", "test"),
            "sha256=0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0914");
  EXPECT_EQ(FakeGraphApi::signatureHeader("my_app_secret",
                                          R"({"object":"whatsapp_business_account","entry":[]})"),
            "sha256=1e948187320e1d8a8ab09e20b7172f8fe97e79394c0980b59b485e00288e389d");
}

std::string echoed(const FakeGraphApi::WebhookResult& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == "x-req-" + name) {
      return v;
    }
  }
  return {};
}

TEST_F(CloudApiFakeGraph, PostsSignedStatusWebhooksForIssuedWamids) {
  waflow::OutboundMessage m;
  m.to = "6281234567890";
  m.type = "text";
  m.text = "pesanan dikirim";
  m.payload_json = R"({"biz_opaque_callback_data":"order-9"})";
  SendOutcome sent = host_.run(postMessages(host_.host(), config_, buildSendBody(m)));
  ASSERT_EQ(sent.rc, Rc::kOk);

  std::string delivered =
      fake_.buildStatusWebhook(sent.provider_message_id, "delivered", 0, 1750000000);
  json note = json::parse(delivered);
  EXPECT_EQ(note["object"], "whatsapp_business_account");
  const json& value = note["entry"][0]["changes"][0]["value"];
  EXPECT_EQ(note["entry"][0]["changes"][0]["field"], "messages");
  EXPECT_EQ(value["metadata"]["phone_number_id"], "1122334455667");
  const json& status = value["statuses"][0];
  EXPECT_EQ(status["id"], sent.provider_message_id);
  EXPECT_EQ(status["status"], "delivered");
  EXPECT_EQ(status["timestamp"], "1750000000");
  EXPECT_EQ(status["recipient_id"], "6281234567890");
  EXPECT_EQ(status["biz_opaque_callback_data"], "order-9");

  json failed = json::parse(fake_.buildStatusWebhook(sent.provider_message_id, "failed", 131047));
  const json& error = failed["entry"][0]["changes"][0]["value"]["statuses"][0]["errors"][0];
  EXPECT_EQ(error["code"], 131047);
  EXPECT_EQ(error["title"], "Re-engagement message");
  EXPECT_THROW(fake_.buildStatusWebhook("wamid.UNKNOWN", "sent"), std::invalid_argument);

  test::TestHttpServer receiver;
  auto result = FakeGraphApi::postWebhook(receiver.url("/echo"), "app-secret", delivered);
  ASSERT_EQ(result.status, 200) << result.error;
  EXPECT_EQ(result.body, delivered);
  EXPECT_EQ(echoed(result, "x-hub-signature-256"),
            FakeGraphApi::signatureHeader("app-secret", delivered));
  EXPECT_EQ(echoed(result, "content-type"), "application/json");

  auto refused = FakeGraphApi::postWebhook(
      "http://127.0.0.1:" + std::to_string(test::unusedLocalPort()) + "/hook", "s", "{}");
  EXPECT_EQ(refused.status, 0);
  EXPECT_FALSE(refused.error.empty());
}

TEST_F(CloudApiFakeGraph, StatusesEchoTheOutboxIdSentAsCallbackData) {
  SendOutcome sent = sendWithId(config_, "ob-000000000042", "6281234567890");
  ASSERT_EQ(sent.rc, Rc::kOk) << sent.message;
  ASSERT_EQ(fake_.sends().size(), 1u);
  EXPECT_EQ(fake_.sends()[0].body["biz_opaque_callback_data"], "ob-000000000042");
  json note = json::parse(fake_.buildStatusWebhook(sent.provider_message_id, "delivered"));
  EXPECT_EQ(note["entry"][0]["changes"][0]["value"]["statuses"][0]["biz_opaque_callback_data"],
            "ob-000000000042");
}

TEST_F(CloudApiFakeGraph, BuildsOneWebhookWithStatusesForManyWamids) {
  std::vector<std::string> wamids;
  for (int i = 0; i < 3; ++i) {
    SendOutcome sent =
        sendWithId(config_, "ob-" + std::to_string(i), "628111111111" + std::to_string(i));
    ASSERT_EQ(sent.rc, Rc::kOk) << sent.message;
    wamids.push_back(sent.provider_message_id);
  }
  // A second number: its statuses come in a change of their own, as Meta groups them.
  ChannelConfig other = config_;
  other.phone_number_id = "9988776655443";
  SendOutcome sent = sendWithId(other, "ob-other", "6289999999999");
  ASSERT_EQ(sent.rc, Rc::kOk) << sent.message;
  wamids.push_back(sent.provider_message_id);

  json note = json::parse(fake_.buildStatusesWebhook(wamids, "sent", 0, 1750000000));
  const json& changes = note["entry"][0]["changes"];
  ASSERT_EQ(changes.size(), 2u);
  const json& first = changes[0]["value"];
  EXPECT_EQ(first["metadata"]["phone_number_id"], "1122334455667");
  ASSERT_EQ(first["statuses"].size(), 3u);
  for (int i = 0; i < 3; ++i) {
    const json& st = first["statuses"][i];
    EXPECT_EQ(st["id"], wamids[i]);
    EXPECT_EQ(st["status"], "sent");
    EXPECT_EQ(st["timestamp"], "1750000000");
    EXPECT_EQ(st["recipient_id"], "628111111111" + std::to_string(i));
    EXPECT_EQ(st["biz_opaque_callback_data"], "ob-" + std::to_string(i));
  }
  const json& second = changes[1]["value"];
  EXPECT_EQ(second["metadata"]["phone_number_id"], "9988776655443");
  ASSERT_EQ(second["statuses"].size(), 1u);
  EXPECT_EQ(second["statuses"][0]["biz_opaque_callback_data"], "ob-other");

  // The single-status builder is the same notification with one status.
  EXPECT_EQ(fake_.buildStatusesWebhook({wamids[0]}, "delivered", 0, 1750000000),
            fake_.buildStatusWebhook(wamids[0], "delivered", 0, 1750000000));
  EXPECT_THROW(fake_.buildStatusesWebhook({wamids[0], "wamid.UNKNOWN"}, "sent"),
               std::invalid_argument);
  EXPECT_THROW(fake_.buildStatusesWebhook({}, "sent"), std::invalid_argument);
}

TEST_F(CloudApiFakeGraph, BuildsInboundTextWebhooks) {
  json note = json::parse(
      fake_.buildTextWebhook("1122334455667", "6281234567890", "Budi", "harga?", "wamid.IN1"));
  const json& value = note["entry"][0]["changes"][0]["value"];
  EXPECT_EQ(value["contacts"][0]["profile"]["name"], "Budi");
  EXPECT_EQ(value["messages"][0]["id"], "wamid.IN1");
  EXPECT_EQ(value["messages"][0]["from"], "6281234567890");
  EXPECT_EQ(value["messages"][0]["text"]["body"], "harga?");
  json generated = json::parse(fake_.buildTextWebhook("1", "62", "A", "x"));
  EXPECT_TRUE(generated["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
                  .get<std::string>()
                  .starts_with("wamid."));
}

}  // namespace
}  // namespace waflow::cloudapi
