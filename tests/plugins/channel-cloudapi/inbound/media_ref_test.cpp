// mediaOf(): the media descriptor of parsed inbound messages.
#include "media_ref.h"
#include "webhook_parser.h"

#include "fixture.h"

#include <gtest/gtest.h>

namespace waflow::cloudapi {
namespace {

waflow::InboundMessage onlyMessage(const std::string& fixture) {
  static WebhookParser parser;
  ParsedWebhook parsed = parser.parse(testing::readFixture(fixture));
  EXPECT_EQ(parsed.messages.size(), 1u) << fixture;
  return parsed.messages.empty() ? waflow::InboundMessage{} : parsed.messages[0];
}

TEST(MediaRefTest, Image) {
  auto media = mediaOf(onlyMessage("image_caption"));
  ASSERT_TRUE(media.has_value());
  EXPECT_EQ(media->kind, "image");
  EXPECT_EQ(media->id, "1479537139650973");
  EXPECT_EQ(media->mime_type, "image/jpeg");
  EXPECT_EQ(media->sha256, "u9Qp1nq3mXrI2sJk0FZq8bq0Yq2HnVJ3j4f7wX1m2lM=");
  EXPECT_EQ(media->caption, "bukti transfer");
  EXPECT_EQ(media->url.rfind("https://lookaside.fbsbx.com/", 0), 0u);
  EXPECT_EQ(media->filename, "");
  EXPECT_FALSE(media->voice);
}

TEST(MediaRefTest, DocumentFilename) {
  auto media = mediaOf(onlyMessage("document"));
  ASSERT_TRUE(media.has_value());
  EXPECT_EQ(media->kind, "document");
  EXPECT_EQ(media->id, "2198834567001122");
  EXPECT_EQ(media->filename, "INV-2025-06.pdf");
  EXPECT_EQ(media->mime_type, "application/pdf");
}

TEST(MediaRefTest, VoiceNoteAndAnimatedSticker) {
  auto voice = mediaOf(onlyMessage("audio_voice"));
  ASSERT_TRUE(voice.has_value());
  EXPECT_EQ(voice->kind, "audio");
  EXPECT_EQ(voice->mime_type, "audio/ogg; codecs=opus");
  EXPECT_TRUE(voice->voice);
  auto sticker = mediaOf(onlyMessage("sticker_animated"));
  ASSERT_TRUE(sticker.has_value());
  EXPECT_EQ(sticker->kind, "sticker");
  EXPECT_TRUE(sticker->animated);
  EXPECT_FALSE(sticker->voice);
  auto video = mediaOf(onlyMessage("video"));
  ASSERT_TRUE(video.has_value());
  EXPECT_EQ(video->id, "765756756012345");
  EXPECT_EQ(video->sha256, "Jh2ij6PzUvJ2ygrrtegrZMzRxkEPwc24Oyib4s03w9Jc=");
}

TEST(MediaRefTest, NoMedia) {
  EXPECT_FALSE(mediaOf(onlyMessage("text_reply")).has_value());
  EXPECT_FALSE(mediaOf(onlyMessage("reaction")).has_value());
  EXPECT_FALSE(mediaOfJson("not json").has_value());
  EXPECT_FALSE(mediaOfJson(R"({"type":"image","image":{"mime_type":"image/png"}})").has_value());
  EXPECT_FALSE(mediaOfJson(R"({"type":"image","image":"x"})").has_value());
  EXPECT_FALSE(mediaOfJson(R"({"type":"image"})").has_value());
  waflow::InboundMessage mislabeled;
  mislabeled.type = "text";
  mislabeled.raw_json = R"({"type":"image","image":{"id":"1"}})";
  EXPECT_FALSE(mediaOf(mislabeled).has_value());  // the parsed type decides
}

}  // namespace
}  // namespace waflow::cloudapi
