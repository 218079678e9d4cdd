// The in-memory BM25 ranker (contact history search uses it on a contact's past messages).
#include "knowledge/ranker.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace waflow::core::knowledge {
namespace {

std::vector<std::size_t> indices(const std::vector<Ranked>& ranked) {
  std::vector<std::size_t> out;
  for (const Ranked& r : ranked) {
    out.push_back(r.index);
  }
  return out;
}

const std::vector<std::string> kHistory = {
    "Halo kak, saya mau pesan kemeja batik ukuran L",        // 0
    "Sudah saya transfer ya ke rekening BCA",                // 1
    "Paketnya belum sampai, nomor resinya berapa?",          // 2
    "Kemeja kemarin kekecilan, bisa tukar ukuran XL?",       // 3
    "Terima kasih, barangnya sudah sampai dengan selamat",   // 4
    "Alamat pengiriman ganti ke Jl. Kaliurang km 5 Sleman",  // 5
};

TEST(KnowledgeRanker, FindsTheMessagesAboutTheQueryBestFirst) {
  EXPECT_EQ(indices(rankTexts("kapan paket saya sampai? resi?", kHistory, 1)),
            (std::vector<std::size_t>{2}));
  EXPECT_EQ(indices(rankTexts("bukti tf", kHistory)), (std::vector<std::size_t>{1}));
  // "ukuran" is in two messages; "tukar" only in one, which therefore ranks first.
  EXPECT_EQ(indices(rankTexts("tukar ukuran", kHistory)), (std::vector<std::size_t>{3, 0}));
  // Stemming joins "pengiriman" and "dikirim".
  EXPECT_EQ(indices(rankTexts("alamat dikirim kemana", kHistory)), (std::vector<std::size_t>{5}));
}

TEST(KnowledgeRanker, NothingInCommonRanksNothing) {
  EXPECT_TRUE(rankTexts("garansi dompet", kHistory).empty());
  EXPECT_TRUE(rankTexts("", kHistory).empty());
  EXPECT_TRUE(rankTexts("halo", {}).empty());
}

TEST(KnowledgeRanker, ScoresFollowBm25RareTermsAndRepetitionAndShortTexts) {
  Bm25Ranker ranker(
      {"batik batik batik", "batik tulis", "kain tulis panjang sekali lebar", "batik"});
  std::vector<Ranked> r = ranker.rank("batik");
  ASSERT_EQ(r.size(), 3u);
  // More occurrences rank higher (saturating); equal counts: the shorter text first.
  EXPECT_EQ(r[0].index, 0u);
  EXPECT_EQ(r[1].index, 3u);
  EXPECT_EQ(r[2].index, 1u);
  EXPECT_GT(r[0].score, r[1].score);
  EXPECT_GT(r[1].score, r[2].score);
  for (const Ranked& x : r) {
    EXPECT_GT(x.score, 0);
  }
  // A rare term outweighs a common one.
  std::vector<Ranked> rare = ranker.rank("batik panjang");
  EXPECT_EQ(rare.front().index, 2u);
  EXPECT_EQ(ranker.rank("batik", 2).size(), 2u);
  EXPECT_EQ(ranker.size(), 4u);
}

TEST(KnowledgeRanker, EqualScoresKeepTheListOrder) {
  EXPECT_EQ(indices(rankTexts("retur", {"retur a", "retur b", "retur c"})),
            (std::vector<std::size_t>{0, 1, 2}));
}

}  // namespace
}  // namespace waflow::core::knowledge
