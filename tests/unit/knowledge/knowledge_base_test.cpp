// KnowledgeBase against the real storage-sqlite plugin (loaded by the daemon's plugin loader)
// and, for embeddings, FakeAi over real HTTP: retrieval quality on a small Indonesian shop's
// FAQ and English policy pages, re-indexing on change, and hybrid search.
#include "knowledge/knowledge_base.h"

#include "fake_ai.h"
#include "storage_harness.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

namespace waflow::core::knowledge {
namespace {

namespace fs = std::filesystem;
using test::FakeAi;
using test::FakeAiReply;
using test::storage::Json;
using test::storage::StorageHarness;
using ::testing::HasSubstr;

const fs::path kFixtures = WAFLOW_KNOWLEDGE_FIXTURES;

void writeFile(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

std::string readText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class KnowledgeBaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    harness_ = std::make_unique<StorageHarness>(
        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    harness_->openOrFail("storage-sqlite", {{"path", (harness_->dir() / "kb.db").string()}});
    storage_ = std::make_unique<core::storage::PluginStorage>(harness_->instance());
    docs_ = harness_->dir() / "docs";
    fs::create_directories(docs_);
    fs::copy(kFixtures / "toko", docs_, fs::copy_options::recursive);
  }

  config::KnowledgeConfig shopConfig() const {
    config::KnowledgeConfig c;
    c.id = "toko";
    c.sources = {docs_.string()};
    c.base_dir = harness_->dir().string();
    return c;
  }

  std::shared_ptr<KnowledgeBase> make(config::KnowledgeConfig c) {
    return KnowledgeBase::create(std::move(c), *storage_, &harness_->services().http);
  }

  static KnowledgeBase::SyncReport sync(KnowledgeBase& kb) {
    auto promise = std::make_shared<std::promise<KnowledgeBase::SyncReport>>();
    auto future = promise->get_future();
    kb.sync([promise](KnowledgeBase::SyncReport r) { promise->set_value(std::move(r)); });
    EXPECT_EQ(future.wait_for(std::chrono::seconds(30)), std::future_status::ready);
    return future.get();
  }

  static KnowledgeBase::SearchResult search(KnowledgeBase& kb, const std::string& question,
                                            std::size_t limit = 3) {
    auto promise = std::make_shared<std::promise<KnowledgeBase::SearchResult>>();
    auto future = promise->get_future();
    kb.search(question, limit,
              [promise](KnowledgeBase::SearchResult r) { promise->set_value(std::move(r)); });
    EXPECT_EQ(future.wait_for(std::chrono::seconds(30)), std::future_status::ready);
    return future.get();
  }

  // "path | title" of each document's chunks, as storage lists them.
  Json documents(const std::string& knowledge = "toko") {
    return harness_->ok("kb.documents", {{"knowledge", knowledge}})["documents"];
  }

  std::unique_ptr<StorageHarness> harness_;
  std::unique_ptr<core::storage::PluginStorage> storage_;  // the door to harness_'s plugin
  fs::path docs_;
};

// A question and the passage that answers it: its file and title.
struct Expected {
  std::string question;
  std::string path;
  std::string title;
};

const std::vector<Expected> kQuestions = {
    // Indonesian, as customers write on WhatsApp.
    {"brp ongkir ke surabaya?", "docs/faq.csv", "Berapa ongkos kirim ke Surabaya?"},
    {"bisa bayar di tempat gak?", "docs/faq.csv", "Apakah bisa bayar di tempat (COD)?"},
    {"kalau barangnya rusak gimana?", "docs/faq.csv",
     "Bagaimana kalau barang yang diterima rusak atau cacat?"},
    {"jam brp tokonya buka kak?", "docs/faq.csv", "Jam berapa toko buka?"},
    {"cara tf nya gmn min", "docs/faq.csv", "Bagaimana cara bayar pesanan?"},
    {"mau tukar ukuran bisa ga?", "docs/faq.csv", "Bagaimana cara retur atau tukar ukuran?"},
    {"tasnya ada garansi gak", "docs/faq.csv", "Apakah produk bergaransi?"},
    {"alamat tokonya dimana ya", "docs/faq.csv", "Di mana lokasi toko offline?"},
    {"gmn caranya jadi reseller?", "docs/faq.csv", "Bagaimana cara daftar jadi reseller?"},
    {"ukuran L lingkar dadanya berapa cm?", "docs/faq.csv", "Bagaimana panduan ukuran baju?"},
    {"ada promo atau diskon bulan ini?", "docs/faq.csv", "Apakah ada promo bulan ini?"},
    {"ongkir ke kalimantan brp kak", "docs/faq.csv", "Berapa ongkos kirim ke luar Jawa?"},
    {"resi paket saya belum update", "docs/faq.csv", "Bagaimana cara cek resi atau lacak paket?"},
    {"bisa nyicil pake kartu kredit?", "docs/faq.csv", "Bisa bayar cicilan atau paylater?"},
    {"batiknya luntur gak kalo dicuci?", "docs/faq.csv", "Apakah warna batik bisa luntur?"},
    {"kalau bayar sore dikirimnya kapan?", "docs/faq.csv", "Berapa lama pesanan diproses?"},
    {"bisa dropship ga kak", "docs/faq.csv", "Apakah bisa dropship?"},
    {"bikin seragam kantor minimal berapa pcs?", "docs/faq.csv",
     "Apakah bisa pesan custom atau seragam kantor?"},
    {"sejak kapan usaha batiknya berdiri?", "docs/about.txt", ""},
    // English.
    {"How long does international shipping take?", "docs/policies.md",
     "Batik Sari store policies > Shipping > International shipping"},
    {"Can I return an item and get a refund?", "docs/policies.md",
     "Batik Sari store policies > Returns and refunds"},
    {"Is there a warranty on leather bags?", "docs/policies.md",
     "Batik Sari store policies > Warranty"},
    {"domestic delivery time to other islands", "docs/policies.md",
     "Batik Sari store policies > Shipping > Domestic delivery"},
};

// How many questions get the right passage first (and, in `top3`, among the first three); the
// questions that miss the first place are listed in `misses`.
int rankedFirst(KnowledgeBase& kb, bool expect_embeddings, std::vector<std::string>* misses,
                int* top3 = nullptr) {
  int hits = 0;
  for (const Expected& q : kQuestions) {
    KnowledgeBase::SearchResult r = [&] {
      auto promise = std::make_shared<std::promise<KnowledgeBase::SearchResult>>();
      auto future = promise->get_future();
      kb.search(q.question, 3,
                [promise](KnowledgeBase::SearchResult x) { promise->set_value(std::move(x)); });
      future.wait();
      return future.get();
    }();
    EXPECT_EQ(r.error, "");
    EXPECT_EQ(r.used_embeddings, expect_embeddings) << q.question;
    for (std::size_t i = 0; i < r.passages.size() && top3 != nullptr; ++i) {
      if (r.passages[i].path == q.path && r.passages[i].title == q.title) {
        ++*top3;
      }
    }
    if (!r.passages.empty() && r.passages[0].path == q.path && r.passages[0].title == q.title) {
      ++hits;
      continue;
    }
    std::string got =
        r.passages.empty() ? "(nothing)" : r.passages[0].path + " | " + r.passages[0].title;
    misses->push_back(q.question + " -> " + got);
  }
  return hits;
}

TEST_F(KnowledgeBaseTest, TheRightPassageRanksFirstForIndonesianAndEnglishQuestions) {
  auto kb = make(shopConfig());
  KnowledgeBase::SyncReport report = sync(*kb);
  EXPECT_TRUE(report.ok()) << ::testing::PrintToString(report.errors);
  EXPECT_EQ(report.indexed, 3);
  // 20 FAQ rows, 6 sections with text in policies.md, 1 chunk of about.txt.
  EXPECT_EQ(report.chunks, 27);

  std::vector<std::string> misses;
  int hits = rankedFirst(*kb, false, &misses);
  std::cout << "[ retrieval ] BM25: " << hits << " of " << kQuestions.size()
            << " questions ranked the right passage first\n";
  EXPECT_EQ(hits, static_cast<int>(kQuestions.size())) << ::testing::PrintToString(misses);

  // Passages carry their source and text, best first, with decreasing scores.
  KnowledgeBase::SearchResult r = search(*kb, "brp ongkir ke surabaya?", 3);
  ASSERT_GE(r.passages.size(), 2u);
  EXPECT_EQ(r.passages[0].knowledge, "toko");
  EXPECT_THAT(r.passages[0].text, HasSubstr("Rp12.000 per kg"));
  EXPECT_GT(r.passages[0].score, r.passages[1].score);
  EXPECT_THAT(knowledge::formatPassages({r.passages[0]}),
              HasSubstr("[1] docs/faq.csv: Berapa ongkos kirim ke Surabaya?\nOngkos kirim"));

  // Nothing to search for: no passages, no error.
  r = search(*kb, "halo kak?", 3);
  EXPECT_EQ(r.error, "");
  EXPECT_TRUE(r.passages.empty());
}

TEST_F(KnowledgeBaseTest, OnlyChangedFilesAreIndexedAgainAndDeletedFilesDisappear) {
  auto kb = make(shopConfig());
  ASSERT_EQ(sync(*kb).indexed, 3);
  Json before = documents();
  ASSERT_EQ(before.size(), 3u);

  // Nothing changed.
  KnowledgeBase::SyncReport again = sync(*kb);
  EXPECT_EQ(again.indexed, 0);
  EXPECT_EQ(again.unchanged, 3);

  // Rewritten with the same content: the checksum decides, not the modification time.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  writeFile(docs_ / "faq.csv", readText(docs_ / "faq.csv"));
  again = sync(*kb);
  EXPECT_EQ(again.indexed, 0);
  EXPECT_EQ(again.unchanged, 3);

  // One file changes: only it is indexed again.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  writeFile(docs_ / "about.txt",
            readText(docs_ / "about.txt") + "\nSetiap Jumat ada kelas membatik dan angklung.\n");
  KnowledgeBase::SyncReport changed = sync(*kb);
  EXPECT_TRUE(changed.ok()) << ::testing::PrintToString(changed.errors);
  EXPECT_EQ(changed.indexed, 1);
  EXPECT_EQ(changed.unchanged, 2);
  Json after = documents();
  ASSERT_EQ(after.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    const bool is_about = after[i]["path"] == "docs/about.txt";
    EXPECT_EQ(after[i]["checksum"] != before[i]["checksum"], is_about) << after[i].dump();
    EXPECT_EQ(after[i]["indexed_at"] != before[i]["indexed_at"] || !is_about, true);
  }
  KnowledgeBase::SearchResult r = search(*kb, "kelas angklung");
  ASSERT_FALSE(r.passages.empty());
  EXPECT_EQ(r.passages[0].path, "docs/about.txt");

  // A new file in the folder is picked up; a deleted one takes its chunks with it.
  fs::create_directories(docs_ / "sub");
  writeFile(docs_ / "sub" / "new.md", "# Gift cards\nGift cards never expire.\n");
  fs::remove(docs_ / "policies.md");
  KnowledgeBase::SyncReport removed = sync(*kb);
  EXPECT_EQ(removed.indexed, 1);
  EXPECT_EQ(removed.removed, 1);
  std::vector<std::string> paths;
  for (const Json& d : documents()) {
    paths.push_back(d["path"]);
  }
  EXPECT_EQ(paths, (std::vector<std::string>{"docs/about.txt", "docs/faq.csv", "docs/sub/new.md"}));
  r = search(*kb, "warranty leather bags international shipping");
  for (const knowledge::Passage& p : r.passages) {
    EXPECT_NE(p.path, "docs/policies.md");
  }
  r = search(*kb, "do gift cards expire?");
  ASSERT_FALSE(r.passages.empty());
  EXPECT_EQ(r.passages[0].title, "Gift cards");
}

TEST_F(KnowledgeBaseTest, AFileThatCannotBeParsedKeepsItsPreviousIndexAndIsReported) {
  auto kb = make(shopConfig());
  ASSERT_EQ(sync(*kb).indexed, 3);
  writeFile(docs_ / "faq.csv", "question,answer\nBerapa ongkir?,\"Rp10.000\nlupa tutup kutip\n");
  KnowledgeBase::SyncReport report = sync(*kb);
  ASSERT_EQ(report.errors.size(), 1u);
  EXPECT_EQ(report.errors[0], "docs/faq.csv: 2: a quoted field is not closed (a '\"' is missing)");
  EXPECT_EQ(report.indexed, 0);
  EXPECT_EQ(report.removed, 0);
  KnowledgeBase::SearchResult r = search(*kb, "brp ongkir ke surabaya?");
  ASSERT_FALSE(r.passages.empty());
  EXPECT_EQ(r.passages[0].title, "Berapa ongkos kirim ke Surabaya?");

  // Fixed: indexed again (a sync after errors goes to storage even if no stamp changed).
  writeFile(docs_ / "faq.csv", "question,answer\nBerapa ongkir?,Rp10.000\n");
  report = sync(*kb);
  EXPECT_TRUE(report.ok()) << ::testing::PrintToString(report.errors);
  EXPECT_EQ(report.indexed, 1);
}

TEST_F(KnowledgeBaseTest, MissingSourcesAreReportedAndSingleFilesWork) {
  config::KnowledgeConfig c = shopConfig();
  c.sources = {(docs_ / "faq.csv").string(), (docs_ / "gone.md").string()};
  auto kb = make(c);
  KnowledgeBase::SyncReport report = sync(*kb);
  EXPECT_EQ(report.indexed, 1);
  ASSERT_EQ(report.errors.size(), 1u);
  EXPECT_THAT(report.errors[0], HasSubstr("gone.md' does not exist"));
}

TEST_F(KnowledgeBaseTest, ConcurrentSyncsAreMergedAndSearchesRunMeanwhile) {
  auto kb = make(shopConfig());
  std::vector<std::future<KnowledgeBase::SyncReport>> futures;
  for (int i = 0; i < 4; ++i) {
    auto promise = std::make_shared<std::promise<KnowledgeBase::SyncReport>>();
    futures.push_back(promise->get_future());
    kb->sync([promise](KnowledgeBase::SyncReport r) { promise->set_value(std::move(r)); });
  }
  int indexed = 0;
  for (auto& f : futures) {
    ASSERT_EQ(f.wait_for(std::chrono::seconds(30)), std::future_status::ready);
    KnowledgeBase::SyncReport r = f.get();
    EXPECT_TRUE(r.ok());
    indexed += r.indexed;
  }
  // The first run indexed the three files; the merged later run found them unchanged.
  EXPECT_EQ(indexed, 3 * 1);
  EXPECT_EQ(documents().size(), 3u);
}

// ---- embeddings ----------------------------------------------------------------------

class KnowledgeEmbeddingsTest : public KnowledgeBaseTest {
 protected:
  config::KnowledgeConfig embeddingConfig(const std::string& model = "text-embedding-3-small") {
    config::KnowledgeConfig c = shopConfig();
    config::EmbeddingsConfig e;
    e.base_url = ai_.baseUrl();
    e.model = model;
    e.api_key = "sk-test";
    e.batch_size = 8;
    c.embeddings = e;
    return c;
  }
  FakeAi ai_;
};

TEST_F(KnowledgeEmbeddingsTest, ChunksAreEmbeddedInBatchesWithTheModelAndKey) {
  auto kb = make(embeddingConfig());
  KnowledgeBase::SyncReport report = sync(*kb);
  ASSERT_TRUE(report.ok()) << ::testing::PrintToString(report.errors);
  ASSERT_EQ(report.chunks, 27);

  std::vector<std::size_t> batches;
  std::size_t inputs = 0;
  for (const test::RecordedAiRequest& req : ai_.requests()) {
    EXPECT_EQ(req.method, "POST");
    EXPECT_EQ(req.target, "/v1/embeddings");
    EXPECT_EQ(req.header("authorization"), "Bearer sk-test");
    EXPECT_EQ(req.body["model"], "text-embedding-3-small");
    EXPECT_FALSE(req.body.contains("dimensions"));
    ASSERT_TRUE(req.body["input"].is_array());
    batches.push_back(req.body["input"].size());
    inputs += req.body["input"].size();
  }
  // Files in name order: about.txt (1 chunk), faq.csv (20 = 8 + 8 + 4), policies.md (6).
  EXPECT_EQ(batches, (std::vector<std::size_t>{1, 8, 8, 4, 6}));
  EXPECT_EQ(inputs, 27u);
  // A chunk is embedded as its title and text (and tags).
  const Json first_faq = ai_.requests()[1].body["input"][0];
  EXPECT_THAT(first_faq.get<std::string>(), HasSubstr("Berapa ongkos kirim ke Surabaya?\n"));

  // The vectors are stored as sent (float32): kb.vectors gives FakeAi's embedding back.
  Json vectors = harness_->ok("kb.vectors", {{"knowledge", "toko"}})["vectors"];
  ASSERT_EQ(vectors.size(), 27u);
  std::vector<double> expected = FakeAi::embed(first_faq.get<std::string>());
  bool found = false;
  for (const Json& v : vectors) {
    if (v["title"] == "Berapa ongkos kirim ke Surabaya?") {
      found = true;
      ASSERT_EQ(v["embedding"].size(), expected.size());
      for (std::size_t i = 0; i < expected.size(); ++i) {
        EXPECT_NEAR(v["embedding"][i].get<double>(), expected[i], 1e-6);
      }
    }
  }
  EXPECT_TRUE(found);

  // Nothing changed: nothing embedded again.
  ai_.clearRecords();
  EXPECT_EQ(sync(*kb).indexed, 0);
  EXPECT_EQ(ai_.requests().size(), 0u);

  // Another model: every file is embedded again (the checksum covers the model).
  auto other = make(embeddingConfig("text-embedding-3-large"));
  EXPECT_EQ(sync(*other).indexed, 3);
  EXPECT_EQ(ai_.requests().back().body["model"], "text-embedding-3-large");
}

TEST_F(KnowledgeEmbeddingsTest, HybridSearchRanksTheRightPassageFirstAndFallsBackToWords) {
  auto kb = make(embeddingConfig());
  ASSERT_TRUE(sync(*kb).ok());
  ai_.clearRecords();

  // FakeAi's embeddings are bags of raw words (no stemming, no stop words, no informal
  // spellings), a poor second opinion on WhatsApp slang: fused with them, a few slang questions
  // lose the first place. The counts are printed; most stay first.
  std::vector<std::string> misses;
  int top3 = 0;
  int hits = rankedFirst(*kb, true, &misses, &top3);
  std::cout << "[ retrieval ] BM25 + FakeAi embeddings: " << hits << " of " << kQuestions.size()
            << " questions ranked the right passage first, " << top3 << " in the first three\n";
  EXPECT_GE(hits, static_cast<int>(kQuestions.size()) * 3 / 4) << ::testing::PrintToString(misses);
  // Each search embedded its question alone.
  ASSERT_EQ(ai_.requests().size(), kQuestions.size());
  EXPECT_EQ(ai_.requests()[0].body["input"], Json::array({kQuestions[0].question}));

  // Questions in the documents' own words, which both rankings understand: all first.
  const std::vector<Expected> plain = {
      {"Berapa ongkos kirim ke Surabaya?", "docs/faq.csv", "Berapa ongkos kirim ke Surabaya?"},
      {"Apakah bisa bayar di tempat atau COD?", "docs/faq.csv",
       "Apakah bisa bayar di tempat (COD)?"},
      {"Barang yang diterima rusak atau cacat", "docs/faq.csv",
       "Bagaimana kalau barang yang diterima rusak atau cacat?"},
      {"Panduan ukuran kemeja batik", "docs/faq.csv", "Bagaimana panduan ukuran baju?"},
      {"Apakah warna batik bisa luntur?", "docs/faq.csv", "Apakah warna batik bisa luntur?"},
      {"How long does international shipping take?", "docs/policies.md",
       "Batik Sari store policies > Shipping > International shipping"},
      {"Can unworn items be returned for a refund?", "docs/policies.md",
       "Batik Sari store policies > Returns and refunds"},
      {"Warranty for leather bags and wallets", "docs/policies.md",
       "Batik Sari store policies > Warranty"},
  };
  for (const Expected& q : plain) {
    KnowledgeBase::SearchResult r = search(*kb, q.question);
    EXPECT_TRUE(r.used_embeddings) << q.question;
    ASSERT_FALSE(r.passages.empty()) << q.question;
    EXPECT_EQ(r.passages[0].path + " | " + r.passages[0].title, q.path + " | " + q.title)
        << q.question;
  }

  // A passage both rankings put first gets both reciprocal-rank contributions: 2 / (60 + 1).
  KnowledgeBase::SearchResult both = search(*kb, "Ada kartu ucapan atau bungkus kado?");
  ASSERT_FALSE(both.passages.empty());
  EXPECT_TRUE(both.used_embeddings);
  EXPECT_EQ(both.passages[0].title, "Apakah ada kartu ucapan atau bungkus kado?");
  EXPECT_NEAR(both.passages[0].score, 2.0 / 61.0, 1e-12);

  // The endpoint fails: BM25 alone answers.
  ai_.script(FakeAiReply::serverError(500));
  KnowledgeBase::SearchResult fallback = search(*kb, "brp ongkir ke surabaya?");
  EXPECT_EQ(fallback.error, "");
  EXPECT_FALSE(fallback.used_embeddings);
  ASSERT_FALSE(fallback.passages.empty());
  EXPECT_EQ(fallback.passages[0].title, "Berapa ongkos kirim ke Surabaya?");
}

TEST_F(KnowledgeEmbeddingsTest, ARejectedKeyFailsTheFileWhichIsRetriedByTheNextSync) {
  config::KnowledgeConfig c = embeddingConfig();
  c.embeddings->api_key = "sk-wrong";
  auto kb = make(c);
  KnowledgeBase::SyncReport report = sync(*kb);
  EXPECT_EQ(report.indexed, 0);
  ASSERT_EQ(report.errors.size(), 3u);
  EXPECT_THAT(report.errors[0], HasSubstr("docs/about.txt: the embeddings endpoint"));
  EXPECT_THAT(report.errors[0], HasSubstr("answered HTTP 401"));
  EXPECT_THAT(report.errors[0], HasSubstr("check knowledge embeddings api_key"));
  EXPECT_EQ(documents().size(), 0u);

  auto fixed = make(embeddingConfig());
  EXPECT_EQ(sync(*fixed).indexed, 3);
}

}  // namespace
}  // namespace waflow::core::knowledge
