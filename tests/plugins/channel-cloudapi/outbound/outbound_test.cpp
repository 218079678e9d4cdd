// buildSendBody / buildMarkAsRead: the exact Graph API JSON for every outbound type, and a clear
// kInvalid error for every Meta limit, checked before anything is sent.
#include "outbound.h"

#include <gtest/gtest.h>

#include <string>

namespace waflow::cloudapi {
namespace {

using nlohmann::json;

// No outbox id, so the exact bodies below carry no default biz_opaque_callback_data; the tests
// under "Outbox id as callback data" set one.
waflow::OutboundMessage msg(std::string type, std::string text, std::string payload = {},
                            std::string reply_to = {}, std::string to = "6281234567890") {
  waflow::OutboundMessage m;
  m.to = std::move(to);
  m.type = std::move(type);
  m.text = std::move(text);
  m.reply_to = std::move(reply_to);
  m.payload_json = std::move(payload);
  return m;
}

json expected(const char* literal) {
  return json::parse(literal);
}

// The error buildSendBody throws for `m`; fails the test when it does not throw.
waflow::Error errorOf(const waflow::OutboundMessage& m) {
  try {
    buildSendBody(m);
  } catch (const waflow::Error& e) {
    return e;
  }
  ADD_FAILURE() << "no error for type " << m.type << " payload " << m.payload_json;
  return waflow::Error(waflow::Rc::kOk, "");
}

void expectInvalid(const waflow::OutboundMessage& m, const std::string& fragment) {
  waflow::Error e = errorOf(m);
  EXPECT_EQ(e.code(), waflow::Rc::kInvalid) << e.what();
  EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos)
      << "message: " << e.what() << "\nexpected to contain: " << fragment;
}

std::string repeat(const std::string& s, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    out += s;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Exact bodies

TEST(CloudApiOutbound, TextWithReplyContext) {
  EXPECT_EQ(buildSendBody(msg("text", "Halo!", "", "wamid.PREV")), expected(R"({
    "messaging_product":"whatsapp","recipient_type":"individual","to":"6281234567890",
    "type":"text","text":{"body":"Halo!","preview_url":false},
    "context":{"message_id":"wamid.PREV"}})"));
}

TEST(CloudApiOutbound, TextPreviewUrlAndCallbackDataAndPlusPrefix) {
  auto m =
      msg("text", "see https://toko.example",
          R"({"preview_url":true,"biz_opaque_callback_data":"order-77"})", "", "+6281234567890");
  EXPECT_EQ(buildSendBody(m), expected(R"({
    "messaging_product":"whatsapp","recipient_type":"individual","to":"6281234567890",
    "type":"text","text":{"body":"see https://toko.example","preview_url":true},
    "biz_opaque_callback_data":"order-77"})"));
}

// ---------------------------------------------------------------------------------------------
// Outbox id as callback data: Meta echoes biz_opaque_callback_data in every status, which lets the
// daemon recognise a send it was unsure about after a crash.

TEST(CloudApiOutbound, OutboxIdBecomesCallbackDataWhenThePayloadHasNone) {
  auto m = msg("text", "Halo!");
  m.id = "ob-000000000042";
  EXPECT_EQ(buildSendBody(m), expected(R"({
    "messaging_product":"whatsapp","recipient_type":"individual","to":"6281234567890",
    "type":"text","text":{"body":"Halo!","preview_url":false},
    "biz_opaque_callback_data":"ob-000000000042"})"));
}

TEST(CloudApiOutbound, OutboxIdIsSentForEveryMessageType) {
  auto m = msg("image", "", R"({"link":"https://cdn.example/p.jpg"})");
  m.id = "ob-7";
  json body = buildSendBody(m);
  EXPECT_EQ(body["biz_opaque_callback_data"], "ob-7");
  EXPECT_FALSE(body["image"].contains("biz_opaque_callback_data"));
}

TEST(CloudApiOutbound, PayloadCallbackDataWinsOverOutboxId) {
  auto m = msg("text", "Halo!", R"({"biz_opaque_callback_data":"order-77"})");
  m.id = "ob-1";
  EXPECT_EQ(buildSendBody(m)["biz_opaque_callback_data"], "order-77");
  // An explicit empty value is the flow's choice too.
  m.payload_json = R"({"biz_opaque_callback_data":""})";
  EXPECT_EQ(buildSendBody(m)["biz_opaque_callback_data"], "");
}

TEST(CloudApiOutbound, OutboxIdOverMetasLimitIsLeftOut) {
  auto m = msg("text", "Halo!");
  m.id = std::string(513, 'x');
  EXPECT_FALSE(buildSendBody(m).contains("biz_opaque_callback_data"));
  m.id = std::string(512, 'x');
  EXPECT_EQ(buildSendBody(m)["biz_opaque_callback_data"], m.id);
  // The limit counts characters, not bytes: 512 two-byte characters fit.
  m.id = repeat("\xc3\xa9", 512);
  EXPECT_EQ(buildSendBody(m)["biz_opaque_callback_data"], m.id);
}

TEST(CloudApiOutbound, NoOutboxIdNoCallbackData) {
  EXPECT_FALSE(buildSendBody(msg("text", "Halo!")).contains("biz_opaque_callback_data"));
}

// A parent BSUID (one id across a group of business portfolios) is addressed the same way.
TEST(CloudApiOutbound, BusinessScopedUserIdGoesToRecipient) {
  for (const char* user : {"US.13491208655302741918", "US.ENT.11815799212886844830"}) {
    json body = expected(R"({"messaging_product":"whatsapp","recipient_type":"individual",
      "type":"text","text":{"body":"hi","preview_url":false}})");
    body["recipient"] = user;  // and no "to"
    EXPECT_EQ(buildSendBody(msg("text", "hi", "", "", user)), body);
  }
  // Not user ids: no country code, nothing after it, a lower-case code.
  for (const char* wrong : {"ENT.118157", "ID.", "ID.123.", "id.1349120865530274191"}) {
    expectInvalid(msg("text", "x", "", "", wrong), "is neither a phone number");
  }
}

TEST(CloudApiOutbound, ImageByIdWithCaptionFromText) {
  EXPECT_EQ(buildSendBody(msg("image", "Menu hari ini", R"({"id":"1037543291543636"})")),
            expected(R"({
    "messaging_product":"whatsapp","recipient_type":"individual","to":"6281234567890",
    "type":"image","image":{"id":"1037543291543636","caption":"Menu hari ini"}})"));
}

TEST(CloudApiOutbound, DocumentByLinkWithFilename) {
  auto m = msg(
      "document", "",
      R"({"link":"https://toko.example/inv.pdf","filename":"invoice.pdf","caption":"Invoice"})");
  EXPECT_EQ(buildSendBody(m), expected(R"({
    "messaging_product":"whatsapp","recipient_type":"individual","to":"6281234567890",
    "type":"document","document":{"link":"https://toko.example/inv.pdf","filename":"invoice.pdf",
    "caption":"Invoice"}})"));
}

TEST(CloudApiOutbound, VideoAudioSticker) {
  EXPECT_EQ(buildSendBody(msg("video", "", R"({"link":"https://t.example/v.mp4","caption":"c"})")),
            expected(R"({"messaging_product":"whatsapp","recipient_type":"individual",
    "to":"6281234567890","type":"video","video":{"link":"https://t.example/v.mp4","caption":"c"}})"));
  EXPECT_EQ(buildSendBody(msg("audio", "", R"({"id":"55"})")),
            expected(R"({"messaging_product":"whatsapp","recipient_type":"individual",
    "to":"6281234567890","type":"audio","audio":{"id":"55"}})"));
  EXPECT_EQ(buildSendBody(msg("sticker", "", R"({"link":"https://t.example/s.webp"})")),
            expected(R"({"messaging_product":"whatsapp","recipient_type":"individual",
    "to":"6281234567890","type":"sticker","sticker":{"link":"https://t.example/s.webp"}})"));
}

TEST(CloudApiOutbound, TemplateWithHeaderBodyAndButtons) {
  const char* payload = R"({"name":"order_update","language":{"code":"id"},"components":[
      {"type":"header","parameters":[{"type":"image","image":{"link":"https://t.example/h.jpg"}}]},
      {"type":"body","parameters":[{"type":"text","text":"Budi"},
        {"type":"currency","currency":{"fallback_value":"Rp10.000","code":"IDR","amount_1000":10000000}}]},
      {"type":"button","sub_type":"quick_reply","index":"0","parameters":[{"type":"payload","payload":"CONFIRM_123"}]},
      {"type":"button","sub_type":"url","index":1,"parameters":[{"type":"text","text":"abc123"}]}]})";
  json body = buildSendBody(msg("template", "", payload));
  json want = {{"messaging_product", "whatsapp"},
               {"recipient_type", "individual"},
               {"to", "6281234567890"},
               {"type", "template"},
               {"template", json::parse(payload)}};
  EXPECT_EQ(body, want);
}

TEST(CloudApiOutbound, TemplateLanguageShorthand) {
  json body = buildSendBody(msg("template", "", R"({"name":"hello_world","language":"en_US"})"));
  EXPECT_EQ(body["template"], expected(R"({"name":"hello_world","language":{"code":"en_US"}})"));
}

TEST(CloudApiOutbound, ReplyButtons) {
  const char* payload = R"({"type":"button",
    "header":{"type":"text","text":"Konfirmasi"},"body":{"text":"Lanjut bayar?"},"footer":{"text":"Toko A"},
    "action":{"buttons":[{"type":"reply","reply":{"id":"pay_yes","title":"Ya"}},
                         {"type":"reply","reply":{"id":"pay_no","title":"Tidak"}}]}})";
  EXPECT_EQ(buildSendBody(msg("interactive", "", payload, "wamid.Q")), expected(R"({
    "messaging_product":"whatsapp","recipient_type":"individual","to":"6281234567890",
    "type":"interactive","interactive":{"type":"button",
    "header":{"type":"text","text":"Konfirmasi"},"body":{"text":"Lanjut bayar?"},"footer":{"text":"Toko A"},
    "action":{"buttons":[{"type":"reply","reply":{"id":"pay_yes","title":"Ya"}},
                         {"type":"reply","reply":{"id":"pay_no","title":"Tidak"}}]}},
    "context":{"message_id":"wamid.Q"}})"));
}

TEST(CloudApiOutbound, ListViaShorthandTypeWithBodyFromText) {
  const char* payload = R"({"action":{"button":"Lihat menu","sections":[{"title":"Makanan","rows":[
        {"id":"nasi_goreng","title":"Nasi goreng","description":"Rp25.000"}]}]}})";
  EXPECT_EQ(buildSendBody(msg("list", "Pilih menu", payload)), expected(R"({
    "messaging_product":"whatsapp","recipient_type":"individual","to":"6281234567890",
    "type":"interactive","interactive":{"type":"list","body":{"text":"Pilih menu"},
    "action":{"button":"Lihat menu","sections":[{"title":"Makanan","rows":[
        {"id":"nasi_goreng","title":"Nasi goreng","description":"Rp25.000"}]}]}}})"));
}

TEST(CloudApiOutbound, CtaUrlFillsActionName) {
  const char* payload = R"({"type":"cta_url","body":{"text":"Klik untuk bayar"},
    "action":{"parameters":{"display_text":"Bayar","url":"https://pay.example/abc"}}})";
  EXPECT_EQ(buildSendBody(msg("interactive", "", payload)), expected(R"({
    "messaging_product":"whatsapp","recipient_type":"individual","to":"6281234567890",
    "type":"interactive","interactive":{"type":"cta_url","body":{"text":"Klik untuk bayar"},
    "action":{"name":"cta_url","parameters":{"display_text":"Bayar","url":"https://pay.example/abc"}}}})"));
}

TEST(CloudApiOutbound, LocationKeepsStringsOrNumbers) {
  EXPECT_EQ(buildSendBody(
                msg("location", "",
                    R"({"latitude":"-6.2","longitude":106.8,"name":"Toko","address":"Jl. A"})")),
            expected(R"({"messaging_product":"whatsapp","recipient_type":"individual",
    "to":"6281234567890","type":"location",
    "location":{"latitude":"-6.2","longitude":106.8,"name":"Toko","address":"Jl. A"}})"));
}

TEST(CloudApiOutbound, ContactsFromArrayOrObject) {
  const char* contacts = R"([{"name":{"formatted_name":"Budi S","first_name":"Budi"},
      "phones":[{"phone":"+6281111","type":"CELL","wa_id":"6281111"}]}])";
  json want = {{"messaging_product", "whatsapp"},
               {"recipient_type", "individual"},
               {"to", "6281234567890"},
               {"type", "contacts"},
               {"contacts", json::parse(contacts)}};
  EXPECT_EQ(buildSendBody(msg("contacts", "", contacts)), want);
  EXPECT_EQ(buildSendBody(msg("contacts", "", std::string(R"({"contacts":)") + contacts + "}")),
            want);
}

TEST(CloudApiOutbound, ReactionFromReplyToAndRemoval) {
  // reply_to names the reacted message and does not become a context.
  EXPECT_EQ(buildSendBody(msg("reaction", "👍", "", "wamid.X")), expected(R"({
    "messaging_product":"whatsapp","recipient_type":"individual","to":"6281234567890",
    "type":"reaction","reaction":{"message_id":"wamid.X","emoji":"👍"}})"));
  EXPECT_EQ(buildSendBody(msg("reaction", "", R"({"message_id":"wamid.Y","emoji":""})")),
            expected(R"({"messaging_product":"whatsapp","recipient_type":"individual",
    "to":"6281234567890","type":"reaction","reaction":{"message_id":"wamid.Y","emoji":""}})"));
}

TEST(CloudApiOutbound, MarkAsReadAndTyping) {
  EXPECT_EQ(buildMarkAsRead("wamid.X"),
            expected(R"({"messaging_product":"whatsapp","status":"read","message_id":"wamid.X"})"));
  EXPECT_EQ(buildMarkAsRead("wamid.X", true), expected(R"({"messaging_product":"whatsapp",
    "status":"read","message_id":"wamid.X","typing_indicator":{"type":"text"}})"));
  EXPECT_THROW(buildMarkAsRead(""), waflow::Error);
}

TEST(CloudApiOutbound, LimitsAreInclusiveAndCountCodePoints) {
  // 4096 multi-byte characters are fine: the limit counts characters, not bytes.
  EXPECT_NO_THROW(buildSendBody(msg("text", repeat("é", limits::kTextBody))));
  EXPECT_EQ(utf8Length("héllo👍"), 6u);
}

// ---------------------------------------------------------------------------------------------
// Limit violations: each names the field and the limit.

TEST(CloudApiOutboundLimits, RecipientAndType) {
  expectInvalid(msg("text", "x", "", "", ""), "to: is required");
  expectInvalid(msg("text", "x", "", "", "0812-345"), "to: '0812-345' is neither a phone number");
  expectInvalid(msg("", "x"), "type: is required");
  waflow::Error e = errorOf(msg("order", "x"));
  EXPECT_EQ(e.code(), waflow::Rc::kUnsupported);
  EXPECT_NE(std::string(e.what()).find("cannot send 'order'"), std::string::npos);
  expectInvalid(msg("image", "", "{not json"), "payload_json: not valid JSON");
}

TEST(CloudApiOutboundLimits, Text) {
  expectInvalid(msg("text", ""), "text.body: is required");
  expectInvalid(msg("text", std::string(4097, 'a')),
                "text.body: 4097 characters, over Meta's limit of 4096");
  expectInvalid(msg("text", "x", R"({"preview_url":"yes"})"), "text.preview_url: must be true");
  expectInvalid(
      msg("text", "x", R"({"biz_opaque_callback_data":")" + std::string(513, 'b') + "\"}"),
      "biz_opaque_callback_data: 513 characters, over Meta's limit of 512");
}

TEST(CloudApiOutboundLimits, Media) {
  expectInvalid(msg("image", "", R"({})"), "image: needs exactly one of \"id\"");
  expectInvalid(msg("image", "", R"({"id":"1","link":"https://x.example/a.jpg"})"),
                "image: needs exactly one of");
  expectInvalid(msg("video", "", R"({"link":"ftp://x.example/a.mp4"})"),
                "video.link: 'ftp://x.example/a.mp4' must be an http:// or https:// URL");
  expectInvalid(msg("image", std::string(1025, 'c'), R"({"id":"1"})"),
                "image.caption: 1025 characters, over Meta's limit of 1024");
  expectInvalid(msg("audio", "hello", R"({"id":"1"})"), "audio.caption: audio messages cannot");
  expectInvalid(msg("sticker", "", R"({"id":"1","caption":"x"})"), "sticker.caption:");
  expectInvalid(msg("image", "", R"({"id":"1","filename":"a.jpg"})"),
                "image.filename: only document messages take a filename");
  expectInvalid(msg("image", "", R"({"id":7})"), "image.id: must be a string");
}

TEST(CloudApiOutboundLimits, Template) {
  expectInvalid(msg("template", "", R"({"language":{"code":"id"}})"), "template.name: is required");
  expectInvalid(msg("template", "", R"({"name":"t"})"), "template.language.code: is required");
  expectInvalid(msg("template", "", R"({"name":"t","language":{"code":"id"},"components":{}})"),
                "template.components: must be an array");
  expectInvalid(msg("template", "",
                    R"({"name":"t","language":"id","components":[{"type":"button","index":0}]})"),
                "template.components[0].sub_type: is required");
  expectInvalid(
      msg("template", "",
          R"({"name":"t","language":"id","components":[{"type":"button","sub_type":"url"}]})"),
      "template.components[0].index: is required");
  expectInvalid(
      msg("template", "",
          R"({"name":"t","language":"id","components":[{"type":"body","parameters":[{"type":"text"}]}]})"),
      "template.components[0].parameters[0].text: is required");
}

json buttons(int n, const std::string& title = "T", bool duplicate_ids = false) {
  json list = json::array();
  for (int i = 0; i < n; ++i) {
    list.push_back(
        {{"type", "reply"},
         {"reply", {{"id", duplicate_ids ? "same" : "b" + std::to_string(i)}, {"title", title}}}});
  }
  return {{"type", "button"}, {"body", {{"text", "Pick"}}}, {"action", {{"buttons", list}}}};
}

TEST(CloudApiOutboundLimits, ReplyButtons) {
  EXPECT_NO_THROW(buildSendBody(msg("interactive", "", buttons(3, std::string(20, 't')).dump())));
  expectInvalid(msg("interactive", "", buttons(0).dump()),
                "interactive.action.buttons: 0 buttons; reply buttons take 1 to 3");
  expectInvalid(msg("interactive", "", buttons(4).dump()),
                "interactive.action.buttons: 4 buttons; reply buttons take 1 to 3");
  expectInvalid(
      msg("interactive", "", buttons(1, std::string(21, 't')).dump()),
      "interactive.action.buttons[0].reply.title: 21 characters, over Meta's limit of 20");
  expectInvalid(msg("interactive", "", buttons(2, "T", true).dump()),
                "interactive.action.buttons[1].reply.id: 'same' is used by another button");
  json long_id = buttons(1);
  long_id["action"]["buttons"][0]["reply"]["id"] = std::string(257, 'i');
  expectInvalid(msg("interactive", "", long_id.dump()),
                "interactive.action.buttons[0].reply.id: 257 characters, over Meta's limit of 256");
  json no_body = buttons(1);
  no_body.erase("body");
  expectInvalid(msg("interactive", "", no_body.dump()),
                "interactive.body.text: is required for a 'button' message");
  json long_body = buttons(1);
  long_body["body"]["text"] = std::string(1025, 'b');
  expectInvalid(msg("interactive", "", long_body.dump()),
                "interactive.body.text: 1025 characters, over Meta's limit of 1024");
  json header = buttons(1);
  header["header"] = {{"type", "text"}, {"text", std::string(61, 'h')}};
  expectInvalid(msg("interactive", "", header.dump()),
                "interactive.header.text: 61 characters, over Meta's limit of 60");
  json footer = buttons(1);
  footer["footer"] = {{"text", std::string(61, 'f')}};
  expectInvalid(msg("interactive", "", footer.dump()),
                "interactive.footer.text: 61 characters, over Meta's limit of 60");
  json media_header = buttons(1);
  media_header["header"] = {{"type", "image"}, {"image", json::object()}};
  expectInvalid(msg("interactive", "", media_header.dump()),
                "interactive.header.image: needs exactly one of");
  expectInvalid(msg("interactive", "", R"({"body":{"text":"x"}})"),
                "interactive.type: is required");
  expectInvalid(msg("list", "", buttons(1).dump()),
                "interactive.type: 'button' contradicts the message type 'list'");
}

json list(int sections, int rows_per_section) {
  json s = json::array();
  int id = 0;
  for (int i = 0; i < sections; ++i) {
    json rows = json::array();
    for (int r = 0; r < rows_per_section; ++r) {
      rows.push_back({{"id", "r" + std::to_string(id++)}, {"title", "Row"}});
    }
    s.push_back({{"title", "S" + std::to_string(i)}, {"rows", rows}});
  }
  return {{"type", "list"},
          {"body", {{"text", "Pick"}}},
          {"action", {{"button", "Menu"}, {"sections", s}}}};
}

TEST(CloudApiOutboundLimits, List) {
  EXPECT_NO_THROW(buildSendBody(msg("interactive", "", list(10, 1).dump())));
  EXPECT_NO_THROW(buildSendBody(msg("interactive", "", list(1, 10).dump())));
  expectInvalid(msg("interactive", "", list(0, 1).dump()),
                "interactive.action.sections: 0 sections; a list takes 1 to 10");
  expectInvalid(msg("interactive", "", list(11, 1).dump()),
                "interactive.action.sections: 11 sections; a list takes 1 to 10");
  expectInvalid(msg("interactive", "", list(3, 4).dump()),
                "interactive.action.sections: 12 rows in total, over Meta's limit of 10");
  json button = list(1, 1);
  button["action"]["button"] = std::string(21, 'b');
  expectInvalid(msg("interactive", "", button.dump()),
                "interactive.action.button: 21 characters, over Meta's limit of 20");
  json untitled = list(2, 1);
  untitled["action"]["sections"][1].erase("title");
  expectInvalid(msg("interactive", "", untitled.dump()),
                "interactive.action.sections[1].title: is required when a list has more than one");
  json single_untitled = list(1, 1);
  single_untitled["action"]["sections"][0].erase("title");
  EXPECT_NO_THROW(buildSendBody(msg("interactive", "", single_untitled.dump())));
  json section_title = list(1, 1);
  section_title["action"]["sections"][0]["title"] = std::string(25, 's');
  expectInvalid(msg("interactive", "", section_title.dump()),
                "interactive.action.sections[0].title: 25 characters, over Meta's limit of 24");
  json row_title = list(1, 1);
  row_title["action"]["sections"][0]["rows"][0]["title"] = std::string(25, 'r');
  expectInvalid(
      msg("interactive", "", row_title.dump()),
      "interactive.action.sections[0].rows[0].title: 25 characters, over Meta's limit of 24");
  json description = list(1, 1);
  description["action"]["sections"][0]["rows"][0]["description"] = std::string(73, 'd');
  expectInvalid(msg("interactive", "", description.dump()),
                "interactive.action.sections[0].rows[0].description: 73 characters, over Meta's "
                "limit of 72");
  json row_id = list(1, 1);
  row_id["action"]["sections"][0]["rows"][0]["id"] = std::string(201, 'i');
  expectInvalid(
      msg("interactive", "", row_id.dump()),
      "interactive.action.sections[0].rows[0].id: 201 characters, over Meta's limit of 200");
  json duplicate = list(2, 1);
  duplicate["action"]["sections"][1]["rows"][0]["id"] = "r0";
  expectInvalid(msg("interactive", "", duplicate.dump()),
                "interactive.action.sections[1].rows[0].id: 'r0' is used by another row");
  json media_header = list(1, 1);
  media_header["header"] = {{"type", "image"}, {"image", {{"link", "https://x.example/a.jpg"}}}};
  expectInvalid(msg("interactive", "", media_header.dump()),
                "interactive.header.type: a list message's header can only be text");
}

TEST(CloudApiOutboundLimits, CtaUrl) {
  auto cta = [](const std::string& text, const std::string& url) {
    return json{
        {"type", "cta_url"},
        {"body", {{"text", "Pay"}}},
        {"action", {{"name", "cta_url"}, {"parameters", {{"display_text", text}, {"url", url}}}}}}
        .dump();
  };
  expectInvalid(
      msg("interactive", "", cta(std::string(21, 'd'), "https://p.example")),
      "interactive.action.parameters.display_text: 21 characters, over Meta's limit of 20");
  expectInvalid(msg("interactive", "", cta("Bayar", "javascript:alert(1)")),
                "interactive.action.parameters.url: 'javascript:alert(1)' must be an http:// or "
                "https:// URL");
  expectInvalid(msg("interactive", "", cta("", "https://p.example")),
                "interactive.action.parameters.display_text: is required");
}

TEST(CloudApiOutboundLimits, LocationContactsReaction) {
  expectInvalid(msg("location", "", R"({"latitude":91,"longitude":0})"),
                "location.latitude: 91.000000 is outside -90..90");
  expectInvalid(msg("location", "", R"({"latitude":0,"longitude":"-180.5"})"),
                "location.longitude: -180.500000 is outside -180..180");
  expectInvalid(msg("location", "", R"({"latitude":"north","longitude":0})"),
                "location.latitude: 'north' is not a number");
  expectInvalid(msg("location", "", R"({"longitude":0})"), "location.latitude: is required");
  expectInvalid(msg("contacts", "", R"([])"), "contacts: payload_json must be Meta's non-empty");
  expectInvalid(msg("contacts", "", R"([{"name":{}}])"),
                "contacts[0].name.formatted_name: is required");
  expectInvalid(msg("reaction", "👍"), "reaction.message_id: is required");
}

}  // namespace
}  // namespace waflow::cloudapi
