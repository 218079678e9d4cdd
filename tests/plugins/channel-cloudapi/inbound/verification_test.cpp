// Meta's GET verification handshake.
#include "verification.h"

#include <gtest/gtest.h>

#include <string>

namespace waflow::cloudapi {
namespace {

waflow::WebhookResponse answer(const std::string& query,
                               std::string_view configured = "s3cret-token") {
  waflow::WebhookRequest request;
  request.method = "GET";
  request.path = "/webhooks/wa";
  request.query = query;
  return answerVerification(request, configured);
}

TEST(VerificationTest, RightTokenEchoesChallenge) {
  auto r = answer("hub.mode=subscribe&hub.verify_token=s3cret-token&hub.challenge=1158201444");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "1158201444");
  EXPECT_EQ(r.content_type, "text/plain; charset=utf-8");
}

TEST(VerificationTest, PercentEncodedValuesAreDecoded) {
  auto r =
      answer("hub.challenge=abc%2Fdef&hub.verify_token=my%20token&hub.mode=subscribe", "my token");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "abc/def");
}

TEST(VerificationTest, WrongToken) {
  for (std::string token : {"s3cret-toke", "s3cret-token2", "S3CRET-TOKEN", ""}) {
    auto r = answer("hub.mode=subscribe&hub.verify_token=" + token + "&hub.challenge=1158201444");
    EXPECT_EQ(r.status, 403) << token;
    EXPECT_NE(r.body.find("hub.verify_token does not match"), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find("1158201444"), std::string::npos);  // never echoed when refused
  }
  auto missing = answer("hub.mode=subscribe&hub.challenge=1158201444");
  EXPECT_EQ(missing.status, 403);
  EXPECT_NE(missing.body.find("hub.verify_token"), std::string::npos);
}

TEST(VerificationTest, WrongMode) {
  for (std::string query : {"hub.mode=unsubscribe&hub.verify_token=s3cret-token&hub.challenge=1",
                            "hub.verify_token=s3cret-token&hub.challenge=1", ""}) {
    auto r = answer(query);
    EXPECT_EQ(r.status, 403) << query;
    EXPECT_NE(r.body.find("hub.mode=subscribe"), std::string::npos) << r.body;
  }
}

TEST(VerificationTest, MissingChallenge) {
  for (std::string query : {"hub.mode=subscribe&hub.verify_token=s3cret-token",
                            "hub.mode=subscribe&hub.verify_token=s3cret-token&hub.challenge="}) {
    auto r = answer(query);
    EXPECT_EQ(r.status, 403) << query;
    EXPECT_NE(r.body.find("hub.challenge is missing"), std::string::npos) << r.body;
  }
}

TEST(VerificationTest, NoConfiguredTokenRefusesEverything) {
  auto r = answer("hub.mode=subscribe&hub.verify_token=&hub.challenge=1", "");
  EXPECT_EQ(r.status, 403);
  EXPECT_NE(r.body.find("no verify_token configured"), std::string::npos) << r.body;
}

TEST(VerificationTest, DirectValues) {
  VerificationResult ok = verifyChallenge("subscribe", "t", "c", "t");
  EXPECT_TRUE(ok.verified());
  EXPECT_EQ(ok.body, "c");
  EXPECT_FALSE(verifyChallenge("subscribe", std::nullopt, "c", "t").verified());
  EXPECT_FALSE(verifyChallenge(std::nullopt, "t", "c", "t").verified());
  EXPECT_FALSE(verifyChallenge("subscribe", "t", std::nullopt, "t").verified());
}

}  // namespace
}  // namespace waflow::cloudapi
