// text::firstChars: how much of a customer's text rules see (flows.max_rule_text).
#include "text/utf8.h"

#include <gtest/gtest.h>

#include <string>

namespace waflow::core::text {
namespace {

TEST(FirstCharsTest, CutsAfterCharactersNotBytes) {
  EXPECT_EQ(firstChars("halo kak", 4), "halo");
  EXPECT_EQ(firstChars("halo", 4), "halo");
  EXPECT_EQ(firstChars("halo", 10), "halo");
  EXPECT_EQ(firstChars("", 3), "");
  EXPECT_EQ(firstChars("abc", 0), "");
  // é is two bytes, 🍰 four: never split.
  EXPECT_EQ(firstChars("éé🍰x", 1), "é");
  EXPECT_EQ(firstChars("éé🍰x", 3), "éé🍰");
  EXPECT_EQ(firstChars("éé🍰x", 4), "éé🍰x");
}

TEST(FirstCharsTest, StrayBytesCountAsOneCharacterEach) {
  const std::string broken =
      "a\xFF\x80"
      "b";  // a lone 0xFF, a lone continuation byte
  EXPECT_EQ(firstChars(broken, 2), "a\xFF\x80");
  EXPECT_EQ(firstChars(broken, 3), broken);
}

TEST(FirstCharsTest, A40000CharacterMessageIsCutTo4096) {
  std::string text;
  for (int i = 0; i < 40000; ++i) {
    text += (i % 2 == 0) ? "a" : "é";
  }
  const std::string_view cut = firstChars(text, 4096);
  EXPECT_EQ(cut.size(), 2048u * 1 + 2048u * 2);
}

}  // namespace
}  // namespace waflow::core::text
