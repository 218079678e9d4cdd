// X-Hub-Signature-256: the vectors of protocols.md A.3 and every way a header can be wrong.
#include "signature.h"

#include "fixture.h"

#include <gtest/gtest.h>

#include <string>

namespace waflow::cloudapi {
namespace {

constexpr const char* kVectorBody = R"({"object":"whatsapp_business_account","entry":[])"
                                    "}";
constexpr const char* kVectorHeader =
    "sha256=1e948187320e1d8a8ab09e20b7172f8fe97e79394c0980b59b485e00288e389d";

const std::string kMismatch =
    "signature does not match the body (wrong app_secret, or the body was altered)";
const std::string kMalformed = "malformed header (expected sha256=<64 hex digits>)";

TEST(SignatureTest, KnownVectors) {
  EXPECT_EQ(signBody("secret", "test"),
            "sha256=0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0914");
  EXPECT_EQ(signBody("my_app_secret", kVectorBody), kVectorHeader);
  std::string why = "unchanged?";
  EXPECT_TRUE(verifySignature("my_app_secret", kVectorBody, std::string_view(kVectorHeader), &why));
  EXPECT_EQ(why, "");
  EXPECT_TRUE(verifySignature(
      "secret", "test",
      std::string_view("sha256=0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0914"),
      nullptr));
}

TEST(SignatureTest, ToleratesCaseAndBlanks) {
  std::string upper = "SHA256=1E948187320E1D8A8AB09E20B7172F8FE97E79394C0980B59B485E00288E389D";
  EXPECT_TRUE(verifySignature("my_app_secret", kVectorBody, std::string_view(upper), nullptr));
  std::string padded = std::string(" ") + kVectorHeader + "\t";
  EXPECT_TRUE(verifySignature("my_app_secret", kVectorBody, std::string_view(padded), nullptr));
}

TEST(SignatureTest, WrongSecret) {
  std::string why;
  EXPECT_FALSE(verifySignature("other_secret", kVectorBody, std::string_view(kVectorHeader), &why));
  EXPECT_EQ(why, kMismatch);
}

TEST(SignatureTest, BodyChangedByOneByte) {
  std::string body = testing::readFixture("reaction");
  std::string header = signBody("my_app_secret", body);
  EXPECT_TRUE(verifySignature("my_app_secret", body, std::string_view(header), nullptr));
  for (std::size_t at : {std::size_t{0}, body.size() / 2, body.size() - 1}) {
    std::string altered = body;
    altered[at] = static_cast<char>(altered[at] ^ 0x01);
    std::string why;
    EXPECT_FALSE(verifySignature("my_app_secret", altered, std::string_view(header), &why)) << at;
    EXPECT_EQ(why, kMismatch);
  }
  std::string longer = body + " ";
  EXPECT_FALSE(verifySignature("my_app_secret", longer, std::string_view(header), nullptr));
}

TEST(SignatureTest, RawBytesNotReencodedJson) {
  // The same JSON value with the emoji as UTF-8 instead of \uXXXX escapes is a different body.
  std::string escaped = R"({"emoji":"\ud83d\ude2e"})";
  std::string utf8 = "{\"emoji\":\"\xF0\x9F\x98\xAE\"}";
  std::string header = signBody("k", escaped);
  EXPECT_TRUE(verifySignature("k", escaped, std::string_view(header), nullptr));
  EXPECT_FALSE(verifySignature("k", utf8, std::string_view(header), nullptr));
}

TEST(SignatureTest, MissingHeader) {
  std::string why;
  EXPECT_FALSE(verifySignature("my_app_secret", kVectorBody, std::nullopt, &why));
  EXPECT_EQ(why, "missing X-Hub-Signature-256 header");
}

TEST(SignatureTest, MalformedHeaders) {
  std::string hex = std::string(kVectorHeader).substr(7);
  for (std::string bad :
       {std::string(), std::string("sha256="), hex, "sha1=" + hex, "sha256=" + hex.substr(1),
        "sha256=" + hex + "0", "sha256=" + hex.substr(0, 63) + "g", "sha256= " + hex,
        "sha256=" + hex.substr(0, 32) + " " + hex.substr(33)}) {
    std::string why;
    EXPECT_FALSE(verifySignature("my_app_secret", kVectorBody, std::string_view(bad), &why)) << bad;
    EXPECT_EQ(why, kMalformed) << bad;
  }
}

TEST(SignatureTest, EmptySecretNeverVerifies) {
  std::string header = signBody("", "body");
  std::string why;
  EXPECT_FALSE(verifySignature("", "body", std::string_view(header), &why));
  EXPECT_EQ(why, "no app_secret configured to check X-Hub-Signature-256");
}

TEST(SignatureTest, EmptyBodyCanBeSigned) {
  std::string header = signBody("secret", "");
  // HMAC-SHA256("secret", "") computed with Python's hmac module.
  EXPECT_EQ(header, "sha256=f9e66e179b6747ae54108f82f8ade8b3c25d76fd30afde6c395822c530196169");
  EXPECT_TRUE(verifySignature("secret", "", std::string_view(header), nullptr));
}

}  // namespace
}  // namespace waflow::cloudapi
