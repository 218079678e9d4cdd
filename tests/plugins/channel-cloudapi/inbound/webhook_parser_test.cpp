// WebhookParser against Meta-shaped fixtures: every inbound type, statuses, value-level
// errors, other fields, batches, malformed bodies and concurrent use.
#include "webhook_parser.h"

#include "fixture.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>
#include <thread>
#include <vector>

namespace waflow::cloudapi {
namespace {

using nlohmann::json;
using testing::readFixture;
using testing::wamid;

constexpr const char* kPhoneNumberId = "1122334455667";
constexpr const char* kBudi = "6281234567890";
constexpr const char* kBudiBsuid = "ID.1349120865530274191";
constexpr const char* kWaba = "102290129340398";

class WebhookParserTest : public ::testing::Test {
 protected:
  // Parses a fixture and checks it is a valid webhook without oddities.
  ParsedWebhook parseFixture(const std::string& name) {
    body_ = readFixture(name);
    ParsedWebhook parsed = parser_.parse(body_);
    EXPECT_TRUE(parsed.ok()) << parsed.error;
    EXPECT_TRUE(parsed.warnings.empty()) << parsed.warnings.front();
    return parsed;
  }

  // The JSON of value.messages[index] of the first entry's first change.
  json messageJson(std::size_t index, std::size_t entry = 0, std::size_t change = 0) const {
    return json::parse(body_)["entry"][entry]["changes"][change]["value"]["messages"][index];
  }
  json statusJson(std::size_t index, std::size_t entry = 0, std::size_t change = 0) const {
    return json::parse(body_)["entry"][entry]["changes"][change]["value"]["statuses"][index];
  }

  // The single message of a one-message fixture, with the fields every message from Budi has.
  waflow::InboundMessage onlyMessageFromBudi(const std::string& name) {
    ParsedWebhook parsed = parseFixture(name);
    EXPECT_EQ(parsed.messages.size(), 1u);
    EXPECT_TRUE(parsed.statuses.empty());
    EXPECT_TRUE(parsed.errors.empty());
    EXPECT_TRUE(parsed.other_fields.empty());
    if (parsed.messages.size() != 1) {
      return {};
    }
    waflow::InboundMessage m = parsed.messages[0];
    EXPECT_EQ(m.from, kBudi);
    EXPECT_EQ(m.from_user_id, kBudiBsuid);  // from contacts[].user_id
    EXPECT_EQ(m.contact_name, "Budi Santoso");
    EXPECT_EQ(m.recipient, kPhoneNumberId);
    EXPECT_EQ(json::parse(m.raw_json), messageJson(0));
    return m;
  }

  WebhookParser parser_;
  std::string body_;
};

TEST_F(WebhookParserTest, TextWithReplyContext) {
  auto m = onlyMessageFromBudi("text_reply");
  EXPECT_EQ(m.id, wamid("TEXT0001"));
  EXPECT_EQ(m.type, "text");
  EXPECT_EQ(m.text, "iya, jadi pesan 2 porsi");
  EXPECT_EQ(m.reply_id, "");
  EXPECT_EQ(m.context_id, wamid("PREV0001"));
  EXPECT_EQ(m.timestamp, 1750000000);
  // raw_json is minified, not the pretty-printed fixture.
  EXPECT_EQ(m.raw_json.find('\n'), std::string::npos);
}

TEST_F(WebhookParserTest, ForwardedFlagsStayInRawJson) {
  ParsedWebhook parsed = parseFixture("text_forwarded");
  ASSERT_EQ(parsed.messages.size(), 2u);
  EXPECT_EQ(parsed.messages[0].text, "promo minggu ini");
  EXPECT_EQ(parsed.messages[0].context_id, "");
  EXPECT_TRUE(json::parse(parsed.messages[0].raw_json)["context"]["forwarded"].get<bool>());
  EXPECT_EQ(parsed.messages[1].text, "pesan berantai");
  EXPECT_TRUE(
      json::parse(parsed.messages[1].raw_json)["context"]["frequently_forwarded"].get<bool>());
  EXPECT_EQ(parsed.messages[1].timestamp, 1750000011);
}

TEST_F(WebhookParserTest, ImageCaptionIsText) {
  auto m = onlyMessageFromBudi("image_caption");
  EXPECT_EQ(m.id, wamid("IMG00001"));
  EXPECT_EQ(m.type, "image");
  EXPECT_EQ(m.text, "bukti transfer");
  EXPECT_EQ(m.context_id, "");
  EXPECT_EQ(m.timestamp, 1750000020);
}

TEST_F(WebhookParserTest, VideoWithoutCaptionHasEmptyText) {
  auto m = onlyMessageFromBudi("video");
  EXPECT_EQ(m.type, "video");
  EXPECT_EQ(m.text, "");
  EXPECT_EQ(m.id, wamid("VID00001"));
}

TEST_F(WebhookParserTest, DocumentCaption) {
  auto m = onlyMessageFromBudi("document");
  EXPECT_EQ(m.type, "document");
  EXPECT_EQ(m.text, "invoice bulan Juni");
  EXPECT_EQ(json::parse(m.raw_json)["document"]["filename"], "INV-2025-06.pdf");
}

TEST_F(WebhookParserTest, VoiceNote) {
  auto m = onlyMessageFromBudi("audio_voice");
  EXPECT_EQ(m.type, "audio");
  EXPECT_EQ(m.text, "");
  EXPECT_TRUE(json::parse(m.raw_json)["audio"]["voice"].get<bool>());
}

TEST_F(WebhookParserTest, AnimatedSticker) {
  auto m = onlyMessageFromBudi("sticker_animated");
  EXPECT_EQ(m.type, "sticker");
  EXPECT_EQ(m.text, "");
  EXPECT_EQ(m.timestamp, 1750000060);
}

TEST_F(WebhookParserTest, LocationTextIsNameAndAddressElseCoordinates) {
  ParsedWebhook parsed = parseFixture("location");
  ASSERT_EQ(parsed.messages.size(), 2u);
  EXPECT_EQ(parsed.messages[0].type, "location");
  EXPECT_EQ(parsed.messages[0].text, "Toko Budi, Jl. Sudirman No. 1, Jakarta");
  EXPECT_EQ(parsed.messages[1].text, "-6.2,106.8166");
  EXPECT_DOUBLE_EQ(json::parse(parsed.messages[0].raw_json)["location"]["latitude"].get<double>(),
                   -6.2087634);
}

TEST_F(WebhookParserTest, ContactsTextIsFirstFormattedName) {
  auto m = onlyMessageFromBudi("contacts");
  EXPECT_EQ(m.type, "contacts");
  EXPECT_EQ(m.text, "Andi Wijaya");
  EXPECT_EQ(json::parse(m.raw_json)["contacts"].size(), 2u);
}

TEST_F(WebhookParserTest, InteractiveButtonReply) {
  auto m = onlyMessageFromBudi("interactive_button_reply");
  EXPECT_EQ(m.type, "interactive");
  EXPECT_EQ(m.text, "Ya");
  EXPECT_EQ(m.reply_id, "pay_yes");
  EXPECT_EQ(m.context_id, wamid("ASKPAY01"));
}

TEST_F(WebhookParserTest, InteractiveListReply) {
  auto m = onlyMessageFromBudi("interactive_list_reply");
  EXPECT_EQ(m.text, "Nasi goreng");
  EXPECT_EQ(m.reply_id, "nasi_goreng");
  EXPECT_EQ(m.context_id, wamid("MENU0001"));
}

TEST_F(WebhookParserTest, FlowReplyKeepsResponseJson) {
  auto m = onlyMessageFromBudi("interactive_nfm_reply");
  EXPECT_EQ(m.type, "interactive");
  EXPECT_EQ(m.text, "Sent");
  EXPECT_EQ(m.reply_id, "");
  EXPECT_EQ(m.context_id, wamid("FLOW0001"));
  json response = json::parse(
      json::parse(m.raw_json)["interactive"]["nfm_reply"]["response_json"].get<std::string>());
  EXPECT_EQ(response["flow_token"], "order-7781");
  EXPECT_EQ(response["jumlah"], 2);
}

TEST_F(WebhookParserTest, TemplateQuickReplyButton) {
  auto m = onlyMessageFromBudi("template_button");
  EXPECT_EQ(m.type, "button");
  EXPECT_EQ(m.text, "Konfirmasi");
  EXPECT_EQ(m.reply_id, "CONFIRM_123");
  EXPECT_EQ(m.context_id, wamid("TEMPLATE"));
}

TEST_F(WebhookParserTest, ReactionEmojiDecodedFromEscapes) {
  auto m = onlyMessageFromBudi("reaction");
  EXPECT_EQ(m.type, "reaction");
  EXPECT_EQ(m.text, "\xF0\x9F\x98\xAE");  // U+1F62E, sent as \ud83d\ude2e
  EXPECT_EQ(m.context_id, wamid("OURMSG01"));
  EXPECT_NE(m.raw_json.find("\xF0\x9F\x98\xAE"), std::string::npos);
}

TEST_F(WebhookParserTest, ReactionRemovalHasEmptyText) {
  ParsedWebhook parsed = parseFixture("reaction_removed");
  ASSERT_EQ(parsed.messages.size(), 2u);
  EXPECT_EQ(parsed.messages[0].text, "");  // "emoji": ""
  EXPECT_EQ(parsed.messages[0].context_id, wamid("OURMSG01"));
  EXPECT_EQ(parsed.messages[1].text, "");  // no emoji at all
  EXPECT_EQ(parsed.messages[1].context_id, wamid("OURMSG02"));
  EXPECT_EQ(parsed.messages[1].type, "reaction");
}

TEST_F(WebhookParserTest, Order) {
  auto m = onlyMessageFromBudi("order");
  EXPECT_EQ(m.type, "order");
  EXPECT_EQ(m.text, "tolong dikirim sore");
  json raw = json::parse(m.raw_json);
  EXPECT_EQ(raw["order"]["product_items"][1]["product_retailer_id"], "ROTI-BAKAR");
  EXPECT_EQ(raw["order"]["catalog_id"], "354160437058781");
}

TEST_F(WebhookParserTest, SystemUserChangedNumber) {
  ParsedWebhook parsed = parseFixture("system_user_changed_number");
  ASSERT_EQ(parsed.messages.size(), 1u);
  const auto& m = parsed.messages[0];
  EXPECT_EQ(m.type, "system");
  EXPECT_EQ(m.from, kBudi);
  EXPECT_EQ(m.from_user_id, "");
  EXPECT_EQ(m.contact_name, "");  // the value has no contacts[]
  EXPECT_EQ(m.text, "Budi Santoso changed from 6281234567890 to 6281298765432");
  EXPECT_EQ(json::parse(m.raw_json)["system"]["wa_id"], "6281298765432");
  EXPECT_EQ(m.timestamp, 1753851315);
}

TEST_F(WebhookParserTest, ReferralFromAdKeptInRaw) {
  auto m = onlyMessageFromBudi("referral_ad");
  EXPECT_EQ(m.type, "text");
  EXPECT_EQ(m.text, "Halo, saya mau tanya promo ini");
  json referral = json::parse(m.raw_json)["referral"];
  EXPECT_EQ(referral["source_type"], "ad");
  EXPECT_EQ(referral["source_id"], "120212345678901234");
  EXPECT_EQ(referral["ctwa_clid"].get<std::string>().substr(0, 8), "ARAkLkA8");
}

TEST_F(WebhookParserTest, UnsupportedAndUnknownKeepTheirErrors) {
  ParsedWebhook parsed = parseFixture("unsupported");
  ASSERT_EQ(parsed.messages.size(), 2u);
  EXPECT_EQ(parsed.messages[0].type, "unsupported");
  EXPECT_EQ(parsed.messages[0].id, wamid("UNS00001"));
  EXPECT_EQ(parsed.messages[0].text, "");
  json raw = json::parse(parsed.messages[0].raw_json);
  EXPECT_EQ(raw["errors"][0]["code"], 131051);
  EXPECT_EQ(raw["unsupported"]["type"], "poll");
  EXPECT_EQ(parsed.messages[1].type, "unknown");
  EXPECT_EQ(json::parse(parsed.messages[1].raw_json)["errors"][0]["error_data"]["details"],
            "Message type is not currently supported");
  // Message-level errors are not value-level errors.
  EXPECT_TRUE(parsed.errors.empty());
}

TEST_F(WebhookParserTest, UnknownFutureTypeIsKeptAsIs) {
  auto m = onlyMessageFromBudi("future_type");
  EXPECT_EQ(m.type, "poll_vote");
  EXPECT_EQ(m.text, "Sabtu pagi");
  EXPECT_EQ(json::parse(m.raw_json)["poll_vote"]["selected_option_ids"][0], "opt_2");
}

TEST_F(WebhookParserTest, BsuidOnlySender) {
  ParsedWebhook parsed = parseFixture("bsuid_only");
  ASSERT_EQ(parsed.messages.size(), 1u);
  const auto& m = parsed.messages[0];
  EXPECT_EQ(m.from, "");
  EXPECT_EQ(m.from_user_id, kBudiBsuid);
  EXPECT_EQ(m.contact_name, "Budi");  // matched on contacts[].user_id
  EXPECT_EQ(m.text, "halo dari akun tanpa nomor");
  EXPECT_EQ(m.id, wamid("BSU00001"));
  EXPECT_EQ(m.timestamp, 1770000000);
}

TEST_F(WebhookParserTest, RequestWelcome) {
  auto m = onlyMessageFromBudi("request_welcome");
  EXPECT_EQ(m.type, "request_welcome");
  EXPECT_EQ(m.text, "");
  EXPECT_EQ(m.id, wamid("WEL00001"));
}

TEST_F(WebhookParserTest, EditAndRevokePointAtTheOriginal) {
  ParsedWebhook parsed = parseFixture("edit_revoke");
  ASSERT_EQ(parsed.messages.size(), 2u);
  EXPECT_EQ(parsed.messages[0].type, "edit");
  EXPECT_EQ(parsed.messages[0].text, "iya, jadi pesan 3 porsi");
  EXPECT_EQ(parsed.messages[0].context_id, wamid("TEXT0001"));
  EXPECT_EQ(parsed.messages[1].type, "revoke");
  EXPECT_EQ(parsed.messages[1].text, "");
  EXPECT_EQ(parsed.messages[1].context_id, wamid("FWD00001"));
}

TEST_F(WebhookParserTest, StatusSentKeepsConversationAndPricing) {
  ParsedWebhook parsed = parseFixture("status_sent");
  EXPECT_TRUE(parsed.messages.empty());
  ASSERT_EQ(parsed.statuses.size(), 1u);
  const auto& s = parsed.statuses[0];
  EXPECT_EQ(s.message_id, wamid("OUT00001"));
  EXPECT_EQ(s.status, "sent");
  EXPECT_EQ(s.recipient, kBudi);
  EXPECT_EQ(s.timestamp, 1750000300);
  EXPECT_EQ(s.error_code, 0);
  EXPECT_EQ(s.error_message, "");
  json raw = json::parse(s.raw_json);
  EXPECT_EQ(raw, statusJson(0));
  EXPECT_EQ(raw["pricing"]["pricing_model"], "PMP");
  EXPECT_EQ(raw["conversation"]["expiration_timestamp"], "1750086700");
}

TEST_F(WebhookParserTest, StatusDeliveredAndRead) {
  ParsedWebhook delivered = parseFixture("status_delivered");
  ASSERT_EQ(delivered.statuses.size(), 1u);
  EXPECT_EQ(delivered.statuses[0].status, "delivered");
  EXPECT_EQ(delivered.statuses[0].timestamp, 1750000301);
  ParsedWebhook read = parseFixture("status_read");
  ASSERT_EQ(read.statuses.size(), 1u);
  EXPECT_EQ(read.statuses[0].status, "read");
  EXPECT_EQ(read.statuses[0].message_id, wamid("OUT00001"));
  EXPECT_EQ(read.statuses[0].recipient, kBudi);
}

TEST_F(WebhookParserTest, StatusFailedCarriesFirstError) {
  ParsedWebhook parsed = parseFixture("status_failed");
  ASSERT_EQ(parsed.statuses.size(), 1u);
  const auto& s = parsed.statuses[0];
  EXPECT_EQ(s.status, "failed");
  EXPECT_EQ(s.error_code, 131047);
  EXPECT_EQ(s.error_message, "Re-engagement message");
  EXPECT_EQ(json::parse(s.raw_json)["errors"][0]["error_data"]["details"].get<std::string>().substr(
                0, 22),
            "Message failed to send");
}

TEST_F(WebhookParserTest, StatusWithTracker) {
  ParsedWebhook parsed = parseFixture("status_tracker");
  ASSERT_EQ(parsed.statuses.size(), 1u);
  EXPECT_EQ(json::parse(parsed.statuses[0].raw_json)["biz_opaque_callback_data"],
            "order-7781:reminder-1");
}

TEST_F(WebhookParserTest, StatusRecipientsForGroupsAndBsuid) {
  ParsedWebhook parsed = parseFixture("status_group");
  ASSERT_EQ(parsed.statuses.size(), 3u);
  EXPECT_EQ(parsed.statuses[0].recipient, "120363040000000000");
  EXPECT_EQ(json::parse(parsed.statuses[0].raw_json)["recipient_participant_id"], "6285711122233");
  EXPECT_EQ(parsed.statuses[1].status, "played");
  EXPECT_EQ(parsed.statuses[1].recipient, kBudiBsuid);
  // No "message": the title is used.
  EXPECT_EQ(parsed.statuses[2].error_code, 131026);
  EXPECT_EQ(parsed.statuses[2].error_message, "Message undeliverable");
}

TEST_F(WebhookParserTest, ValueLevelErrors) {
  ParsedWebhook parsed = parseFixture("value_errors");
  // The message that came with the error is still delivered.
  ASSERT_EQ(parsed.messages.size(), 1u);
  EXPECT_EQ(parsed.messages[0].type, "interactive");
  EXPECT_EQ(parsed.messages[0].text, "");
  EXPECT_EQ(parsed.messages[0].context_id, wamid("ASKPAY02"));
  ASSERT_EQ(parsed.errors.size(), 1u);
  const WebhookError& e = parsed.errors[0];
  EXPECT_EQ(e.code, 131000);
  EXPECT_EQ(e.title, "Something went wrong");
  EXPECT_EQ(e.message, "Something went wrong");
  EXPECT_EQ(e.details, "Unsupported webhook payload");
  EXPECT_EQ(e.href, "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/");
  EXPECT_EQ(e.recipient, kPhoneNumberId);
  EXPECT_EQ(json::parse(e.raw_json)["error_data"]["details"], "Unsupported webhook payload");
}

// One Meta app can serve several numbers: given its own number, the parser reads only what is
// addressed to it and lists the rest as foreign, unread.
TEST_F(WebhookParserTest, ChangesForAnotherNumberAreRefusedUnread) {
  std::string body = readFixture("batch");
  ParsedWebhook own = parser_.parse(body, kPhoneNumberId);
  ASSERT_TRUE(own.ok()) << own.error;
  ASSERT_EQ(own.messages.size(), 2u);
  EXPECT_EQ(own.messages[0].id, wamid("BAT00001"));
  EXPECT_EQ(own.messages[1].id, wamid("BAT00002"));
  EXPECT_EQ(own.statuses.size(), 2u);
  for (const auto& m : own.messages) {
    EXPECT_EQ(m.recipient, kPhoneNumberId);
  }
  ASSERT_EQ(own.foreign.size(), 1u);
  EXPECT_EQ(own.foreign[0].phone_number_id, "9988776655443");
  EXPECT_EQ(own.foreign[0].messages, 1u);
  EXPECT_EQ(own.foreign[0].statuses, 1u);
  EXPECT_EQ(own.other_fields.size(), 1u);  // account-level fields carry no number

  ParsedWebhook other = parser_.parse(body, "9988776655443");
  ASSERT_EQ(other.messages.size(), 1u);
  EXPECT_EQ(other.messages[0].id, wamid("BAT00003"));
  EXPECT_EQ(other.foreign.size(), 2u);

  // No number in the metadata is not this channel's number either.
  json nameless = json::parse(readFixture("text_reply"));
  nameless["entry"][0]["changes"][0]["value"].erase("metadata");
  ParsedWebhook refused = parser_.parse(nameless.dump(), kPhoneNumberId);
  EXPECT_TRUE(refused.messages.empty());
  ASSERT_EQ(refused.foreign.size(), 1u);
  EXPECT_EQ(refused.foreign[0].phone_number_id, "");
}

TEST_F(WebhookParserTest, BatchReturnsEverythingInOrder) {
  ParsedWebhook parsed = parseFixture("batch");
  ASSERT_EQ(parsed.messages.size(), 3u);
  EXPECT_EQ(parsed.messages[0].id, wamid("BAT00001"));
  EXPECT_EQ(parsed.messages[0].contact_name, "Budi Santoso");
  EXPECT_EQ(parsed.messages[1].id, wamid("BAT00002"));
  EXPECT_EQ(parsed.messages[1].from, "6285711122233");
  EXPECT_EQ(parsed.messages[1].contact_name, "Siti Rahma");
  EXPECT_EQ(parsed.messages[1].from_user_id, "");
  EXPECT_EQ(parsed.messages[1].recipient, kPhoneNumberId);
  EXPECT_EQ(parsed.messages[2].id, wamid("BAT00003"));
  EXPECT_EQ(parsed.messages[2].type, "image");
  EXPECT_EQ(parsed.messages[2].contact_name, "Siti Rahma");
  EXPECT_EQ(parsed.messages[2].recipient, "9988776655443");  // the second entry's number
  EXPECT_EQ(json::parse(parsed.messages[2].raw_json), messageJson(0, 1, 0));

  ASSERT_EQ(parsed.statuses.size(), 3u);
  EXPECT_EQ(parsed.statuses[0].message_id, wamid("OUT00010"));
  EXPECT_EQ(parsed.statuses[0].status, "delivered");
  EXPECT_EQ(parsed.statuses[1].message_id, wamid("OUT00011"));
  EXPECT_EQ(parsed.statuses[1].status, "read");
  EXPECT_EQ(parsed.statuses[2].message_id, wamid("OUT00012"));
  EXPECT_EQ(parsed.statuses[2].status, "sent");

  ASSERT_EQ(parsed.other_fields.size(), 1u);
  EXPECT_EQ(parsed.other_fields[0].field, "phone_number_quality_update");
  EXPECT_EQ(parsed.other_fields[0].entry_id, kWaba);
  EXPECT_EQ(json::parse(parsed.other_fields[0].value_json)["event"], "FLAGGED");
}

TEST_F(WebhookParserTest, OtherFieldsArePassedOn) {
  ParsedWebhook parsed = parseFixture("template_status_update");
  EXPECT_TRUE(parsed.messages.empty());
  EXPECT_TRUE(parsed.statuses.empty());
  ASSERT_EQ(parsed.other_fields.size(), 1u);
  EXPECT_EQ(parsed.other_fields[0].field, "message_template_status_update");
  EXPECT_EQ(parsed.other_fields[0].entry_id, kWaba);
  json value = json::parse(parsed.other_fields[0].value_json);
  EXPECT_EQ(value["event"], "APPROVED");
  EXPECT_EQ(value["message_template_id"], 1234567890123456);
  EXPECT_EQ(value["message_template_name"], "order_update");

  ParsedWebhook account = parseFixture("account_update");
  ASSERT_EQ(account.other_fields.size(), 1u);
  EXPECT_EQ(account.other_fields[0].field, "account_update");
  EXPECT_EQ(json::parse(account.other_fields[0].value_json)["event"], "VERIFIED_ACCOUNT");
}

// --- bodies that are not Cloud API webhooks -------------------------------------------------

TEST_F(WebhookParserTest, RejectsWhatIsNotACloudApiWebhook) {
  struct Case {
    std::string body;
    std::string expected;  // a part of the error
  };
  std::vector<Case> cases = {
      {"", "body is empty"},
      {"From=whatsapp%3A%2B62812&Body=hi", "not valid JSON"},
      {"{\"object\":\"whatsapp_business_account\",\"entry\":[", "not valid JSON"},
      {"[{\"object\":\"whatsapp_business_account\"}]", "body is an array, not a JSON object"},
      {"\"whatsapp_business_account\"", "body is a string"},
      {"{\"entry\":[]}", "no \"object\" field"},
      {"{\"object\":42,\"entry\":[]}", "\"object\" is not a string"},
      {"{\"object\":\"page\",\"entry\":[]}", "\"object\" is \"page\""},
      {"{\"object\":\"whatsapp_business_account\",\"entry\":{}}", "\"entry\" is not an array"},
  };
  for (const Case& c : cases) {
    ParsedWebhook parsed = parser_.parse(c.body);
    EXPECT_FALSE(parsed.ok()) << c.body;
    EXPECT_NE(parsed.error.find(c.expected), std::string::npos)
        << "body: " << c.body << "\nerror: " << parsed.error;
    EXPECT_TRUE(parsed.messages.empty());
    EXPECT_TRUE(parsed.statuses.empty());
  }
}

// Meta's webhooks nest about ten levels; a body nested deeper than 64 is refused whole, so
// nothing downstream (raw_json, other_fields) ever holds a deeper document.
TEST_F(WebhookParserTest, RefusesBodiesNestedDeeperThan64Levels) {
  auto bodyWithin = [](std::size_t depth) {
    // The envelope takes 7 levels: {entry:[{changes:[{value:{messages:[{...}]}}]}]}.
    std::string deep = std::string(depth - 8, '[') + std::string(depth - 8, ']');
    return R"({"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messages":[{"from":"62811","id":"wamid.d","type":"text","text":{"body":"hi"},"extra":)" +
           deep + "}]}}]}]}";
  };
  EXPECT_TRUE(parser_.parse(bodyWithin(64)).ok());
  ParsedWebhook parsed = parser_.parse(bodyWithin(65));
  EXPECT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error.find("too deep"), std::string::npos) << parsed.error;
  parsed = parser_.parse(std::string(300000, '[') + std::string(300000, ']'));
  EXPECT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error.find("too deep"), std::string::npos) << parsed.error;
}

TEST_F(WebhookParserTest, EmptyEntryIsValidAndEmpty) {
  ParsedWebhook parsed = parser_.parse(R"({"object":"whatsapp_business_account","entry":[]})");
  EXPECT_TRUE(parsed.ok());
  EXPECT_TRUE(parsed.messages.empty());
  EXPECT_TRUE(parsed.warnings.empty());
  ParsedWebhook no_entry = parser_.parse(R"({"object":"whatsapp_business_account"})");
  EXPECT_TRUE(no_entry.ok());
  EXPECT_EQ(no_entry.warnings.size(), 1u);
}

// --- tolerated oddities: nothing is lost -----------------------------------------------------

std::string oneValue(const std::string& value_members) {
  return R"({"object":"whatsapp_business_account","entry":[{"id":"1","changes":[)"
         R"({"field":"messages","value":{"messaging_product":"whatsapp",)"
         R"("metadata":{"phone_number_id":"1122334455667"},)" +
         value_members + "}}]}]}";
}

TEST_F(WebhookParserTest, MessageWithoutIdGetsAStableSyntheticId) {
  std::string body = oneValue(
      R"("messages":[{"from":"62811","timestamp":"1","type":"text","text":{"body":"a"}}])");
  ParsedWebhook first = parser_.parse(body);
  ParsedWebhook again = parser_.parse(body);
  ASSERT_EQ(first.messages.size(), 1u);
  EXPECT_EQ(first.messages[0].id.rfind("nowamid.", 0), 0u);
  EXPECT_EQ(first.messages[0].id.size(), 8u + 32u);
  EXPECT_EQ(first.messages[0].id, again.messages[0].id);  // Meta's retry deduplicates
  EXPECT_EQ(first.messages[0].text, "a");
  EXPECT_EQ(first.warnings.size(), 1u);

  ParsedWebhook other = parser_.parse(oneValue(
      R"("messages":[{"from":"62811","timestamp":"1","type":"text","text":{"body":"b"}}])"));
  ASSERT_EQ(other.messages.size(), 1u);
  EXPECT_NE(other.messages[0].id, first.messages[0].id);
}

TEST_F(WebhookParserTest, OddMessagesAreKeptAndReported) {
  ParsedWebhook parsed = parser_.parse(
      oneValue(R"("messages":["junk",{"from":"62811","id":"wamid.A","timestamp":1750000000},)"
               R"({"from":"62811","id":"wamid.B","timestamp":"soon","type":"interactive",)"
               R"("interactive":{"type":"button_reply","list_reply":{"id":"r1","title":"Row"}}},)"
               R"({"from":"62811","id":"wamid.C","timestamp":"1750000001","type":"image",)"
               R"("image":"oops"}])"));
  ASSERT_TRUE(parsed.ok());
  ASSERT_EQ(parsed.messages.size(), 3u);
  EXPECT_EQ(parsed.messages[0].id, "wamid.A");
  EXPECT_EQ(parsed.messages[0].type, "");
  EXPECT_EQ(parsed.messages[0].timestamp, 1750000000);  // a number works too
  EXPECT_EQ(parsed.messages[1].timestamp, 0);           // not a number
  EXPECT_EQ(parsed.messages[1].text, "Row");  // falls back to the reply object that exists
  EXPECT_EQ(parsed.messages[1].reply_id, "r1");
  EXPECT_EQ(parsed.messages[2].text, "");
  EXPECT_EQ(parsed.messages[2].type, "image");
  ASSERT_EQ(parsed.warnings.size(), 2u);  // "junk", and the message without a type
  EXPECT_NE(parsed.warnings[0].find("messages[0] is a string"), std::string::npos);
  EXPECT_NE(parsed.warnings[1].find("wamid.A has no \"type\""), std::string::npos);
}

TEST_F(WebhookParserTest, UnmodelledListsInAMessagesChangeArePassedOn) {
  ParsedWebhook parsed = parser_.parse(oneValue(
      R"("messages":[{"from":"62811","id":"wamid.A","timestamp":"1","type":"text",)"
      R"("text":{"body":"x"}}],)"
      R"("message_echoes":[{"from":"15550001234","to":"62811","id":"wamid.E","type":"text"}])"));
  ASSERT_EQ(parsed.messages.size(), 1u);
  ASSERT_EQ(parsed.other_fields.size(), 1u);
  EXPECT_EQ(parsed.other_fields[0].field, "messages");
  EXPECT_EQ(parsed.other_fields[0].entry_id, "1");
  EXPECT_EQ(json::parse(parsed.other_fields[0].value_json)["message_echoes"][0]["id"], "wamid.E");
  ASSERT_EQ(parsed.warnings.size(), 1u);
  EXPECT_NE(parsed.warnings[0].find("message_echoes"), std::string::npos);
}

TEST_F(WebhookParserTest, ChangeWithoutFieldButWithMessagesIsRead) {
  ParsedWebhook parsed = parser_.parse(
      R"({"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"value":{)"
      R"("messages":[{"from":"62811","id":"wamid.A","timestamp":"1","type":"text",)"
      R"("text":{"body":"x"}}]}}]}]})");
  ASSERT_EQ(parsed.messages.size(), 1u);
  EXPECT_EQ(parsed.messages[0].text, "x");
  EXPECT_TRUE(parsed.other_fields.empty());
}

TEST_F(WebhookParserTest, MessagesChangeWithoutObjectValueIsPassedOn) {
  ParsedWebhook parsed =
      parser_.parse(R"({"object":"whatsapp_business_account","entry":[{"id":"1","changes":[)"
                    R"({"field":"messages","value":[1]}]}]})");
  ASSERT_TRUE(parsed.ok());
  ASSERT_EQ(parsed.other_fields.size(), 1u);
  EXPECT_EQ(parsed.other_fields[0].value_json, "[1]");
  EXPECT_EQ(parsed.warnings.size(), 1u);
}

TEST_F(WebhookParserTest, ManyMessagesInOneBodyAllReturnedInOrder) {
  std::string list;
  for (int i = 0; i < 1000; ++i) {
    list += (i > 0 ? "," : "");
    list += R"({"from":"62811","id":"wamid.)" + std::to_string(i) +
            R"(","timestamp":"1","type":"text","text":{"body":")" + std::to_string(i) + "\"}}";
  }
  ParsedWebhook parsed = parser_.parse(oneValue("\"messages\":[" + list + "]"));
  ASSERT_EQ(parsed.messages.size(), 1000u);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(parsed.messages[i].id, "wamid." + std::to_string(i));
    ASSERT_EQ(parsed.messages[i].text, std::to_string(i));
  }
}

TEST_F(WebhookParserTest, ConcurrentParsesGiveTheSameResult) {
  std::string batch = readFixture("batch");
  std::string reaction = readFixture("reaction");
  ParsedWebhook expected = parser_.parse(batch);
  ASSERT_EQ(expected.messages.size(), 3u);
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 300; ++i) {
        ParsedWebhook p = parser_.parse(i % 2 == 0 ? batch : reaction);
        if (i % 2 == 0) {
          bool same = p.messages.size() == 3 && p.statuses.size() == 3 &&
                      p.messages[2].raw_json == expected.messages[2].raw_json &&
                      p.messages[1].contact_name == "Siti Rahma";
          failures[t] += same ? 0 : 1;
        } else {
          failures[t] += (p.messages.size() == 1 && p.messages[0].type == "reaction") ? 0 : 1;
        }
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  for (int f : failures) {
    EXPECT_EQ(f, 0);
  }
}

}  // namespace
}  // namespace waflow::cloudapi
