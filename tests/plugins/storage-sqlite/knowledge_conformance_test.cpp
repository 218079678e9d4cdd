// The storage conformance suite, continued: the knowledge-base operations (kb.documents, kb.put,
// kb.delete, kb.retain, kb.search, kb.vectors), checked against every backend of
// storage_conformance_test.cpp through the real loader and host.
#include "storage_conformance.h"
#include "storage_harness.h"

#include <waflow/sdk/storage.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace waflow::test::storage {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// A chunk as kb.put takes it; terms as the core's analyser would send them.
Json chunk(const std::string& title, const std::string& text, const std::string& title_terms,
           const std::string& terms) {
  return {{"title", title}, {"text", text}, {"title_terms", title_terms}, {"terms", terms}};
}

class KnowledgeStorageConformance : public StorageConformance {
 protected:
  void putDocument(const std::string& path, std::vector<Json> chunks,
                   const std::string& knowledge = "toko", const std::string& checksum = "c1") {
    EXPECT_EQ(ok("kb.put", {{"knowledge", knowledge},
                            {"path", path},
                            {"checksum", checksum},
                            {"chunks", std::move(chunks)}}),
              Json::object());
  }
  Json search(const Json& knowledge, const std::vector<std::string>& terms, int limit = 10) {
    return ok("kb.search", {{"knowledge", knowledge}, {"terms", terms}, {"limit", limit}})
        .at("passages");
  }
  // "path|title" of each passage, in order.
  static std::vector<std::string> found(const Json& passages) {
    std::vector<std::string> out;
    for (const Json& p : passages) {
      out.push_back(p.at("path").get<std::string>() + "|" + p.at("title").get<std::string>());
    }
    return out;
  }
  void putShop() {
    putDocument(
        "faq.csv",
        {chunk("Berapa ongkos kirim ke Surabaya?", "Ongkir Rp12.000 per kg.",
               "ongko kirim surabaya", "ongko kirim rp12 000 kg"),
         chunk("Apakah bisa COD?", "COD untuk Jabodetabek; ongkos kirim dibayar kurir.", "cod",
               "cod jabodetabek ongko kirim bayar kurir"),
         chunk("Jam buka", "Senin-Sabtu 08.00-20.00.", "jam buka", "senin sabtu 08 00 20 00")});
    putDocument("policies.md", {chunk("Policies > Returns", "Returns within 7 days.",
                                      "policy return", "return 7 day")});
  }
};

TEST_P(KnowledgeStorageConformance, PutRecordsTheDocumentAndSearchFindsItsChunks) {
  putShop();
  Json documents = ok("kb.documents", {{"knowledge", "toko"}})["documents"];
  ASSERT_EQ(documents.size(), 2u);
  EXPECT_EQ(documents[0]["path"], "faq.csv");  // sorted by path
  EXPECT_EQ(documents[0]["checksum"], "c1");
  EXPECT_EQ(documents[0]["chunks"], 3);
  EXPECT_GT(documents[0]["indexed_at"].get<int64_t>(), 0);
  EXPECT_EQ(documents[1]["path"], "policies.md");

  Json passages = search("toko", {"surabaya"});
  ASSERT_EQ(passages.size(), 1u);
  const Json& p = passages[0];
  EXPECT_EQ(p["knowledge"], "toko");
  EXPECT_EQ(p["path"], "faq.csv");
  EXPECT_EQ(p["title"], "Berapa ongkos kirim ke Surabaya?");
  EXPECT_EQ(p["text"], "Ongkir Rp12.000 per kg.");
  EXPECT_TRUE(p["id"].is_number_integer());
  EXPECT_GT(p["score"].get<double>(), 0);
  // Terms of other knowledge ids are not searched.
  EXPECT_THAT(search("lain", {"surabaya"}), IsEmpty());
  EXPECT_THAT(ok("kb.documents", {{"knowledge", "lain"}})["documents"], IsEmpty());
}

TEST_P(KnowledgeStorageConformance, SearchRanksByBm25WithTheTitleWeightedHigher) {
  putShop();
  // "ongko kirim" is in the title of the first FAQ and only the body of the second.
  Json passages = search("toko", {"ongko", "kirim"});
  EXPECT_EQ(found(passages), (std::vector<std::string>{"faq.csv|Berapa ongkos kirim ke Surabaya?",
                                                       "faq.csv|Apakah bisa COD?"}));
  EXPECT_GT(passages[0]["score"].get<double>(), passages[1]["score"].get<double>());
  // Any one term is enough (OR); more matching terms rank higher.
  EXPECT_EQ(
      found(search("toko", {"cod", "kurir", "return"})),
      (std::vector<std::string>{"faq.csv|Apakah bisa COD?", "policies.md|Policies > Returns"}));
  // limit.
  EXPECT_EQ(search("toko", {"ongko", "kirim"}, 1).size(), 1u);
  // Whole words only: a term is not a prefix.
  EXPECT_THAT(search("toko", {"ong"}), IsEmpty());
}

TEST_P(KnowledgeStorageConformance, SearchTermsAreNeverReadAsQuerySyntax) {
  putShop();
  putDocument("odd.txt", {chunk("", "He said \"quote\" AND NEAR", "", "quote and near")});
  // Quotes, operators, column filters, prefixes and empty terms are plain words or nothing:
  // "title_terms:cod" is the words "title terms cod" (no chunk has them), not a column filter
  // that would find the COD answer; "buka*" is the word "buka", not a prefix query.
  EXPECT_EQ(found(search("toko", {"\"quote\"", "AND", "NEAR", "title_terms:cod", "buka*", "", "-",
                                  "(", "^"})),
            (std::vector<std::string>{"odd.txt|", "faq.csv|Jam buka"}));
  EXPECT_THAT(search("toko", {"", "  ", "\"", "*"}), IsEmpty());
  EXPECT_THAT(search("toko", {}), IsEmpty());
}

TEST_P(KnowledgeStorageConformance, SearchSpansSeveralKnowledgeIds) {
  putShop();
  putDocument("menu.md", {chunk("Kue", "Nastar dan kastengel.", "kue", "nastar kastengel")}, "kue");
  EXPECT_EQ(found(search(Json::array({"toko", "kue"}), {"nastar", "cod"})),
            (std::vector<std::string>{"faq.csv|Apakah bisa COD?", "menu.md|Kue"}));
  EXPECT_EQ(search(Json::array({"kue"}), {"nastar"})[0]["knowledge"], "kue");
}

TEST_P(KnowledgeStorageConformance, RetainKeepsOnlyTheNamedKnowledgeIds) {
  putShop();
  putDocument("menu.md", {chunk("Kue", "Nastar dan kastengel.", "kue", "nastar kastengel")}, "kue");
  putDocument("old.md", {chunk("Lama", "Promo lama.", "lama", "promo lama")}, "promo");
  EXPECT_EQ(ok("kb.retain", {{"knowledge", {"toko"}}}),
            Json::parse(R"({"removed":[{"knowledge":"kue","documents":1},)"
                        R"({"knowledge":"promo","documents":1}]})"));
  EXPECT_THAT(ok("kb.documents", {{"knowledge", "kue"}}).at("documents"), IsEmpty());
  EXPECT_THAT(search(Json::array({"kue", "promo"}), {"nastar", "promo"}), IsEmpty());
  // What is kept is untouched, and a second call has nothing left to remove.
  EXPECT_EQ(ok("kb.documents", {{"knowledge", "toko"}}).at("documents").size(), 2u);
  EXPECT_EQ(found(search("toko", {"cod"})), (std::vector<std::string>{"faq.csv|Apakah bisa COD?"}));
  EXPECT_EQ(ok("kb.retain", {{"knowledge", {"toko"}}}), Json::parse(R"({"removed":[]})"));
  // An empty list keeps nothing.
  EXPECT_EQ(ok("kb.retain", {{"knowledge", Json::array()}}),
            Json::parse(R"({"removed":[{"knowledge":"toko","documents":2}]})"));
  EXPECT_THAT(search("toko", {"cod"}), IsEmpty());
}

TEST_P(KnowledgeStorageConformance, PutReplacesTheWholeDocumentAndDeleteRemovesIt) {
  putShop();
  putDocument("faq.csv", {chunk("Garansi", "Garansi 6 bulan.", "garans", "garans 6 bulan")}, "toko",
              "c2");
  Json documents = ok("kb.documents", {{"knowledge", "toko"}})["documents"];
  EXPECT_EQ(documents[0]["checksum"], "c2");
  EXPECT_EQ(documents[0]["chunks"], 1);
  EXPECT_THAT(search("toko", {"surabaya", "cod", "buka"}), IsEmpty());
  EXPECT_EQ(found(search("toko", {"garans"})), (std::vector<std::string>{"faq.csv|Garansi"}));

  EXPECT_EQ(ok("kb.delete", {{"knowledge", "toko"}, {"path", "faq.csv"}}),
            (Json{{"deleted", true}}));
  EXPECT_EQ(ok("kb.delete", {{"knowledge", "toko"}, {"path", "faq.csv"}}),
            (Json{{"deleted", false}}));
  EXPECT_THAT(search("toko", {"garans"}), IsEmpty());
  documents = ok("kb.documents", {{"knowledge", "toko"}})["documents"];
  ASSERT_EQ(documents.size(), 1u);
  EXPECT_EQ(documents[0]["path"], "policies.md");

  // A document without chunks (an empty file) is recorded.
  putDocument("empty.txt", {});
  documents = ok("kb.documents", {{"knowledge", "toko"}})["documents"];
  ASSERT_EQ(documents.size(), 2u);
  EXPECT_EQ(documents[0]["path"], "empty.txt");
  EXPECT_EQ(documents[0]["chunks"], 0);
}

TEST_P(KnowledgeStorageConformance, VectorsComeBackAsFloat32ForChunksThatHaveThem) {
  Json with = chunk("A", "alpha", "a", "alpha");
  with["embedding"] = {0.25, -1.5, 3.0e-5, 0.1};
  Json without = chunk("B", "beta", "b", "beta");
  Json nulled = chunk("C", "gamma", "c", "gamma");
  nulled["embedding"] = nullptr;
  putDocument("x.md", {with, without, nulled});
  Json vectors = ok("kb.vectors", {{"knowledge", "toko"}})["vectors"];
  ASSERT_EQ(vectors.size(), 1u);
  EXPECT_EQ(vectors[0]["path"], "x.md");
  EXPECT_EQ(vectors[0]["title"], "A");
  EXPECT_EQ(vectors[0]["text"], "alpha");
  EXPECT_TRUE(vectors[0]["id"].is_number_integer());
  const Json& e = vectors[0]["embedding"];
  ASSERT_EQ(e.size(), 4u);
  EXPECT_EQ(e[0].get<double>(), 0.25);
  EXPECT_EQ(e[1].get<double>(), -1.5);
  EXPECT_FLOAT_EQ(static_cast<float>(e[2].get<double>()), 3.0e-5F);
  EXPECT_FLOAT_EQ(static_cast<float>(e[3].get<double>()), 0.1F);
  EXPECT_THAT(ok("kb.vectors", {{"knowledge", "lain"}})["vectors"], IsEmpty());

  // The index survives a restart.
  restart();
  EXPECT_EQ(ok("kb.vectors", {{"knowledge", "toko"}})["vectors"].size(), 1u);
  EXPECT_EQ(found(search("toko", {"beta"})), (std::vector<std::string>{"x.md|B"}));
}

TEST_P(KnowledgeStorageConformance, MalformedInputIsRefusedNamingTheField) {
  Json good = chunk("t", "text", "", "");
  Json empty_text = chunk("t", "", "", "");
  Json bad_embedding = chunk("t", "text", "", "");
  bad_embedding["embedding"] = {1, "x"};
  Json empty_embedding = chunk("t", "text", "", "");
  empty_embedding["embedding"] = Json::array();
  expectInvalid({
      {"kb.documents", Json::object(), "knowledge"},
      {"kb.put", {{"knowledge", "k"}, {"checksum", "c"}, {"chunks", Json::array()}}, "path"},
      {"kb.put", {{"knowledge", "k"}, {"path", "p"}, {"chunks", Json::array()}}, "checksum"},
      {"kb.put", {{"knowledge", "k"}, {"path", "p"}, {"checksum", "c"}, {"chunks", "x"}}, "chunks"},
      {"kb.put",
       {{"knowledge", "k"}, {"path", "p"}, {"checksum", "c"}, {"chunks", {good, empty_text}}},
       "chunks[1].text"},
      {"kb.put",
       {{"knowledge", "k"}, {"path", "p"}, {"checksum", "c"}, {"chunks", {bad_embedding}}},
       "chunks[0].embedding"},
      {"kb.put",
       {{"knowledge", "k"}, {"path", "p"}, {"checksum", "c"}, {"chunks", {empty_embedding}}},
       "chunks[0].embedding"},
      {"kb.delete", {{"knowledge", "k"}}, "path"},
      {"kb.retain", Json::object(), "knowledge"},
      {"kb.retain", {{"knowledge", "k"}}, "knowledge"},
      {"kb.search", {{"terms", Json::array()}, {"limit", 5}}, "knowledge"},
      {"kb.search",
       {{"knowledge", Json::array()}, {"terms", Json::array()}, {"limit", 5}},
       "knowledge"},
      {"kb.search", {{"knowledge", "k"}, {"terms", {1}}, {"limit", 5}}, "terms[0]"},
      {"kb.search", {{"knowledge", "k"}, {"terms", Json::array()}, {"limit", 0}}, "limit"},
      {"kb.vectors", {{"knowledge", ""}}, "knowledge"},
  });
}

INSTANTIATE_TEST_SUITE_P(Backends, KnowledgeStorageConformance,
                         ::testing::ValuesIn(conformanceBackends()), backendName);

}  // namespace
}  // namespace waflow::test::storage
