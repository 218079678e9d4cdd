// tokenWeakness: length, variety and repetition, and never the token in the reason.
#include "config/token_strength.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace waflow::core::config {
namespace {

using ::testing::HasSubstr;

TEST(TokenStrength, RandomTokensPass) {
  EXPECT_FALSE(tokenWeakness("3c9f1e7a0b5d28c46e1f9a3b7d0c5e82"));          // openssl rand -hex 16
  EXPECT_FALSE(tokenWeakness("Zq8vN2xK4pL7rT1wY6sB9dF3gH5jM0cA+eU/iO=="));  // base64
  EXPECT_FALSE(tokenWeakness("correct-horse-battery-staple-river-42"));
}

TEST(TokenStrength, WeakTokensAreRefusedWithTheReason) {
  EXPECT_THAT(*tokenWeakness("abc"), HasSubstr("it has 3 characters; at least 32"));
  EXPECT_THAT(*tokenWeakness(std::string(40, 'x')), HasSubstr("only 1 different characters"));
  EXPECT_THAT(*tokenWeakness("passwordpasswordpasswordpassword"),
              HasSubstr("only 7 different characters"));
  EXPECT_THAT(*tokenWeakness("abcdefghijabcdefghijabcdefghijabcdefghij"),
              HasSubstr("repeats the same few characters"));
}

TEST(TokenStrength, TheReasonNeverContainsTheToken) {
  for (const char* weak : {"abc", "qwertyqwertyqwertyqwertyqwertyqwerty",
                           "0123456789012345678901234567890123456789"}) {
    std::optional<std::string> why = tokenWeakness(weak);
    ASSERT_TRUE(why) << weak;
    EXPECT_THAT(*why, ::testing::Not(HasSubstr(weak)));
  }
}

}  // namespace
}  // namespace waflow::core::config
