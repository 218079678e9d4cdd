// normalizeText and KeywordMatcher: what customers type still matches.
#include <gtest/gtest.h>

#include "text/normalize.h"

namespace waflow::core::text {
namespace {

TEST(NormalizeTextTest, FoldsCaseAccentsPunctuationAndStretchedLetters) {
  EXPECT_EQ(normalizeText("harga"), "harga");
  EXPECT_EQ(normalizeText("Hargaa"), "harga");
  EXPECT_EQ(normalizeText("HARGA?"), "harga");
  EXPECT_EQ(normalizeText("  Haloooo kakkk!!!  "), "halo kak");
  EXPECT_EQ(normalizeText("Café CRÈME brûlée"), "cafe creme brule");
  EXPECT_EQ(normalizeText("ÑANDÚ, Łódź, Straße"), "nandu lodz strase");
  EXPECT_EQ(normalizeText("e\xCC\x81"), "e");  // e + combining acute accent
  EXPECT_EQ(normalizeText("“Promo”—hari…ini"), "promo hari ini");
  EXPECT_EQ(normalizeText("Rp100.000,-"), "rp100 000");
  EXPECT_EQ(normalizeText("order #1122 ok"), "order 1122 ok");  // digits are never merged
  EXPECT_EQ(normalizeText("مرحبا 👋"), "مرحبا 👋");               // other scripts are kept
  EXPECT_EQ(normalizeText("a\xFF"
                          "b"),
            "a b");  // invalid UTF-8 separates
  EXPECT_EQ(normalizeText(""), "");
  EXPECT_EQ(normalizeText("?!"), "");
}

TEST(KeywordMatcherTest, MatchesWhatPeopleType) {
  KeywordMatcher harga({"harga"});
  for (const char* text : {"harga", "Hargaa", "HARGA?", "berapa harganya kak?", "Harga-nya?",
                           "hárga", "hrg? harga!"}) {
    EXPECT_EQ(harga.match(text), std::optional<size_t>(0)) << text;
  }
  for (const char* text : {"harta", "hargai", "sehargaan", "", "jam buka"}) {
    EXPECT_EQ(harga.match(text), std::nullopt) << text;
  }
}

TEST(KeywordMatcherTest, PhrasesSuffixesAndTypos) {
  KeywordMatcher m({"jam buka", "pricelist", "makan"});
  EXPECT_EQ(m.match("Jam BUKA toko?"), std::optional<size_t>(0));
  EXPECT_EQ(m.match("buka jam berapa"), std::nullopt);                   // words must be in order
  EXPECT_EQ(m.match("minta pricelsit dong"), std::optional<size_t>(1));  // swapped letters
  EXPECT_EQ(m.match("minta pricelis"), std::optional<size_t>(1));        // one letter missing
  EXPECT_EQ(m.match("minta bricelist"), std::nullopt);                   // first letter differs
  EXPECT_EQ(m.match("makannya enak"), std::optional<size_t>(2));         // "makanya" after folding
  EXPECT_EQ(m.match("makanan"), std::nullopt);  // short keywords get no typo allowance
}

TEST(KeywordMatcherTest, FirstKeywordInOrderWins) {
  KeywordMatcher m({"promo", "harga"});
  EXPECT_EQ(m.match("harga promo"), std::optional<size_t>(0));
  KeywordMatcher copy = m;  // copies stay valid
  EXPECT_EQ(copy.match("HARGAA"), std::optional<size_t>(1));
}

}  // namespace
}  // namespace waflow::core::text
