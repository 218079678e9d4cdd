// The knowledge analyser: tokens, informal spellings, stop words and the Indonesian and English
// light stemmers, on the words a shop's customers write.
#include "knowledge/analyzer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace waflow::core::knowledge {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using Terms = std::vector<std::string>;

TEST(KnowledgeAnalyzer, TokenizeLowerCasesFoldsDiacriticsAndSplitsOnPunctuationAndEmoji) {
  EXPECT_EQ(tokenize("Café NAÏVE, résumé! Ñandú—Łódź 🙏🏽 ok?"),
            (Terms{"cafe", "naive", "resume", "nandu", "lodz", "ok"}));
  // Decomposed accents (e + U+0301) are dropped without splitting the word.
  EXPECT_EQ(tokenize("cafe\xCC\x81 24/7 Rp12.000"), (Terms{"cafe", "24", "7", "rp12", "000"}));
  // Other scripts stay letters; invalid UTF-8 splits.
  EXPECT_EQ(tokenize("батик\xFFok"), (Terms{"батик", "ok"}));
  EXPECT_THAT(tokenize(" ,.!? "), IsEmpty());
}

TEST(KnowledgeAnalyzer, IndonesianPrefixesAndSuffixesReduceToTheRoot) {
  struct Case {
    const char* word;
    Terms stems;
  };
  const std::vector<Case> cases = {
      {"menjual", {"jual"}},         {"penjualan", {"jual"}},
      {"membayar", {"bayar"}},       {"pembayaran", {"bayar"}},
      {"dibayar", {"bayar"}},        {"dikirimkan", {"kirim"}},
      {"terkirim", {"kirim"}},       {"kiriman", {"kirim"}},
      {"menyimpan", {"simpan"}},     {"melihat", {"lihat"}},
      {"berukuran", {"ukur"}},       {"ukuran", {"ukur"}},
      {"kerusakan", {"rusak"}},      {"penolakan", {"tolak", "nolak"}},
      {"keterlambatan", {"lambat"}}, {"diperbaiki", {"baik"}},
      {"pekerjaan", {"kerja"}},      {"pelayanan", {"layan"}},
      {"secepatnya", {"cepat"}},     {"bajunya", {"baju"}},
      {"harganya", {"harga"}},       {"bisakah", {"bisa"}},
      {"dibuka", {"buka"}},          {"diganti", {"ganti"}},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(stemWord(c.word), c.stems) << c.word;
  }
}

TEST(KnowledgeAnalyzer, AmbiguousNasalsGiveBothRootsSoEitherSpellingMatches) {
  // meng+vowel is meng+k... (kirim) or meng+vowel (ambil): both candidates are kept.
  EXPECT_EQ(stemWord("mengirim"), (Terms{"kirim", "irim"}));
  EXPECT_EQ(stemWord("pengiriman"), (Terms{"kirim", "irim"}));
  EXPECT_EQ(stemWord("mengambil"), (Terms{"kambil", "ambil"}));
  EXPECT_EQ(stemWord("memesan"), (Terms{"pesan", "mesan"}));
  EXPECT_EQ(stemWord("pemesanan"), (Terms{"pesan", "mesan"}));
  EXPECT_EQ(stemWord("menunggu"), (Terms{"tunggu", "nunggu"}));
  // Informal Jakartan prefixes.
  EXPECT_EQ(stemWord("ngirim"), (Terms{"kirim", "irim"}));
  EXPECT_EQ(stemWord("nyari"), (Terms{"sari", "cari"}));
}

TEST(KnowledgeAnalyzer, ShortRootsAndRootLookalikesStayWhole) {
  // A strip must leave two syllables: these end in -an/-kan/-i or start like a prefix but are
  // roots.
  for (const char* root : {"makan", "pesan", "jalan", "pesanan", "kemas", "kembali", "beli", "hari",
                           "ganti", "menu", "perlu"}) {
    std::vector<std::string> stems = stemWord(root);
    ASSERT_EQ(stems.size(), 1u) << root;
    EXPECT_EQ(stems[0].substr(0, 4), std::string(root).substr(0, 4)) << root << " -> " << stems[0];
  }
  EXPECT_EQ(stemWord("pesanan"), Terms{"pesan"});
  EXPECT_EQ(stemWord("kemasan"), Terms{"kemas"});
  // kembali and pengembalian meet at the same stem.
  EXPECT_EQ(stemWord("kembali"), Terms{"kembal"});
  EXPECT_EQ(stemWord("pengembalian").front(), "kembal");
}

TEST(KnowledgeAnalyzer, EnglishPluralsAndVerbEndings) {
  EXPECT_EQ(stemWord("shipping"), Terms{"ship"});
  EXPECT_EQ(stemWord("shipped"), Terms{"ship"});
  EXPECT_EQ(stemWord("returns"), Terms{"return"});
  EXPECT_EQ(stemWord("returned"), Terms{"return"});
  EXPECT_EQ(stemWord("policies"), Terms{"policy"});
  EXPECT_EQ(stemWord("boxes"), Terms{"box"});
  EXPECT_EQ(stemWord("wallets"), Terms{"wallet"});
  EXPECT_EQ(stemWord("ordering"), Terms{"order"});
  // Not plurals.
  EXPECT_EQ(stemWord("business"), Terms{"business"});
  EXPECT_EQ(stemWord("gratis"), Terms{"gratis"});
  // Digits are never stemmed.
  EXPECT_EQ(stemWord("24jam"), Terms{"24jam"});
}

TEST(KnowledgeAnalyzer, InformalSpellingsBecomeTheStandardWords) {
  EXPECT_EQ(analyze("brp ongkir"), analyze("berapa ongkos kirim"));
  EXPECT_EQ(analyze("ongkirnya brp"), analyze("ongkos kirim berapa"));
  EXPECT_EQ(analyze("udh tf ke norek"), analyze("sudah transfer ke nomor rekening"));
  EXPECT_EQ(analyze("gmn klo mau pesen"), analyze("bagaimana kalau mau pesan"));
  EXPECT_EQ(analyze("bisa bayar di tempat gak?"), (Terms{"bayar", "tempat"}));
  EXPECT_EQ(analyze("brp ongkir ke surabaya?"), (Terms{"ongko", "kirim", "surabaya"}));
}

TEST(KnowledgeAnalyzer, StopWordsQuestionWordsAndFormsOfAddressAreDropped) {
  EXPECT_EQ(analyze("Kak, kalau barangnya rusak gimana ya?"), (Terms{"barang", "rusak"}));
  EXPECT_EQ(analyze("What is the warranty on my bags?"), (Terms{"warranty", "bag"}));
  // kapan / when narrow the answer and are kept.
  EXPECT_EQ(analyze("kapan dikirim?"), (Terms{"kapan", "kirim"}));
  EXPECT_EQ(analyze("when is it shipped"), (Terms{"when", "ship"}));
  EXPECT_THAT(analyze("halo min, apakah ada?"), IsEmpty());
}

TEST(KnowledgeAnalyzer, QueryTermsAreUniqueInFirstSeenOrderAndBounded) {
  EXPECT_EQ(queryTerms("kirim dikirim pengiriman kirim"), (Terms{"kirim", "irim"}));
  EXPECT_EQ(queryTerms("satu dua tiga empat lima", 3), (Terms{"satu", "dua", "tiga"}));
  EXPECT_EQ(joinTerms({"ongko", "kirim"}), "ongko kirim");
  EXPECT_EQ(joinTerms({}), "");
}

}  // namespace
}  // namespace waflow::core::knowledge
