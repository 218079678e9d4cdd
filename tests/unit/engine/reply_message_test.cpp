// The messages reply steps send: Meta's payload per kind, and which replies are fixed (built
// once when flows load).
#include "engine/reply_message.h"

#include <gtest/gtest.h>

namespace waflow::core::engine {
namespace {

using Json = nlohmann::json;

flow::Text text(std::string value) {
  flow::Text t;
  t.value = std::move(value);
  return t;
}

TEST(ReplyMessageTest, AListBecomesMetasInteractiveListWithHeaderAndFooter) {
  flow::ReplyStep r;
  r.text = text("Pilih:");
  r.footer = text("Harga termasuk kemasan");
  r.list = flow::ListMessage{"Lihat menu",
                             {{"Kue", {{"nastar", "Nastar", "Rp120.000"}, {"x", "X", ""}}}}};
  OutgoingReply m = fixedReply(r);
  EXPECT_EQ(m.type, "interactive");
  EXPECT_EQ(m.text, "Pilih:");
  Json p = Json::parse(m.payload_json);
  EXPECT_EQ(p["type"], "list");
  EXPECT_EQ(p["body"]["text"], "Pilih:");
  EXPECT_EQ(p["footer"]["text"], "Harga termasuk kemasan");
  EXPECT_FALSE(p.contains("header"));
  EXPECT_EQ(p["action"]["button"], "Lihat menu");
  EXPECT_EQ(p["action"]["sections"][0]["rows"][0],
            Json({{"id", "nastar"}, {"title", "Nastar"}, {"description", "Rp120.000"}}));
  EXPECT_FALSE(p["action"]["sections"][0]["rows"][1].contains("description"));
}

TEST(ReplyMessageTest, ButtonsBecomeReplyButtons) {
  flow::ReplyStep r;
  r.buttons = {{"ya", "Ya"}, {"tidak", "Tidak"}};
  Json p = interactivePayload(r, "Membantu?", "Judul", "");
  EXPECT_EQ(p["type"], "button");
  EXPECT_EQ(p["header"], Json({{"type", "text"}, {"text", "Judul"}}));
  EXPECT_EQ(p["action"]["buttons"][1],
            Json({{"type", "reply"}, {"reply", {{"id", "tidak"}, {"title", "Tidak"}}}}));
}

TEST(ReplyMessageTest, MediaTakesTheTextAsCaptionOnlyWhenItHasNone) {
  flow::ReplyStep r;
  r.text = text("Alamat kami");
  r.media = flow::Media{"image", text("https://x.test/peta.jpg"), text(""), ""};
  OutgoingReply m = fixedReply(r);
  EXPECT_EQ(m.type, "image");
  EXPECT_EQ(Json::parse(m.payload_json),
            Json({{"link", "https://x.test/peta.jpg"}, {"caption", "Alamat kami"}}));
  ReplyTexts t{"ignored", "", "", "/srv/media/katalog.pdf", "Katalog", {}};
  r.media = flow::Media{"document", text(""), text(""), "katalog.pdf"};
  EXPECT_EQ(Json::parse(buildReply(r, t).payload_json), Json({{"path", "/srv/media/katalog.pdf"},
                                                              {"caption", "Katalog"},
                                                              {"filename", "katalog.pdf"}}));
  r.media = flow::Media{"audio", text(""), text(""), ""};
  EXPECT_FALSE(Json::parse(buildReply(r, t).payload_json).contains("caption"));
}

TEST(ReplyMessageTest, ATemplateCarriesItsBodyParameters) {
  flow::ReplyStep r;
  r.template_message = flow::TemplateMessage{"promo", "id", {text("Rina"), text("20%")}};
  OutgoingReply m = fixedReply(r);
  EXPECT_EQ(m.type, "template");
  Json p = Json::parse(m.payload_json);
  EXPECT_EQ(p["language"]["code"], "id");
  EXPECT_EQ(p["components"][0]["parameters"][1], Json({{"type", "text"}, {"text", "20%"}}));
}

TEST(ReplyMessageTest, OnlyRepliesWithoutTemplatesOrSpintaxAreFixed) {
  flow::ReplyStep plain;
  plain.text = text("Kami buka jam 08.00");
  EXPECT_TRUE(isFixedReply(plain));
  EXPECT_EQ(fixedReply(plain).payload_json, "");
  flow::ReplyStep spun;
  spun.text = text("{Halo|Hai}!");
  EXPECT_FALSE(isFixedReply(spun));
  flow::ReplyStep templated;
  templated.text = text("Halo {{ contact.name }}");
  templated.text.expressions.push_back(flow::LuaSnippet{});
  EXPECT_FALSE(isFixedReply(templated));
  flow::ReplyStep caption;
  caption.media = flow::Media{"image", text("https://x.test/a.jpg"), text("{A|B}"), ""};
  EXPECT_FALSE(isFixedReply(caption));
}

}  // namespace
}  // namespace waflow::core::engine
