// The name checks of text/names.h, which replaced std::regex patterns of the same meaning.
#include "text/names.h"

#include <gtest/gtest.h>

#include <string>

namespace waflow::core::text {
namespace {

TEST(NamesTest, InstanceIds) {
  EXPECT_TRUE(isInstanceId("toko-utama"));
  EXPECT_TRUE(isInstanceId("0_a"));
  EXPECT_TRUE(isInstanceId(std::string(63, 'a')));
  EXPECT_FALSE(isInstanceId(std::string(64, 'a')));
  EXPECT_FALSE(isInstanceId(""));
  EXPECT_FALSE(isInstanceId("-toko"));
  EXPECT_FALSE(isInstanceId("Toko"));
  EXPECT_FALSE(isInstanceId("toko utama"));
}

TEST(NamesTest, IdentifiersEventNamesAndHeaderTokens) {
  EXPECT_TRUE(isIdentifier("_nama1"));
  EXPECT_FALSE(isIdentifier("1nama"));
  EXPECT_FALSE(isIdentifier("na-ma"));
  EXPECT_FALSE(isIdentifier(""));
  EXPECT_TRUE(isEventName("payment.paid"));
  EXPECT_TRUE(isEventName("order:created-v2"));
  EXPECT_FALSE(isEventName(".paid"));
  EXPECT_FALSE(isEventName("payment paid"));
  EXPECT_TRUE(isHeaderToken("X-Api-Key"));
  EXPECT_TRUE(isHeaderToken("a!#$%&'*+-.^_`|~0"));
  EXPECT_FALSE(isHeaderToken("Bad Header"));
  EXPECT_FALSE(isHeaderToken("X:Y"));
  EXPECT_FALSE(isHeaderToken(""));
}

}  // namespace
}  // namespace waflow::core::text
