// The `knowledge:` section of waflow.yaml: its shape, defaults, paths, secrets and the errors a
// user can make, each with its line and column.
#include "config/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace waflow::core::config {
namespace {

namespace fs = std::filesystem;
using ::testing::Contains;
using ::testing::ElementsAre;

class KnowledgeConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("waflow-kbconfig-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "docs");
    std::ofstream(dir_ / "faq.csv") << "question,answer\n";
    std::ofstream(dir_ / "logo.png") << "png";
  }
  void TearDown() override { fs::remove_all(dir_); }

  LoadResult load(const std::string& yaml, std::map<std::string, std::string> env = {}) {
    return loadConfigString(yaml, "waflow.yaml", dir_.string(),
                            [env](const std::string& name) -> std::optional<std::string> {
                              auto it = env.find(name);
                              if (it == env.end()) {
                                return std::nullopt;
                              }
                              return it->second;
                            });
  }

  static std::vector<std::string> errors(const LoadResult& r) {
    std::vector<std::string> out;
    for (const diag::Diagnostic& d : r.diagnostics) {
      out.push_back(std::to_string(d.line) + ":" + std::to_string(d.column) + ": " + d.text());
    }
    return out;
  }

  fs::path dir_;
};

TEST_F(KnowledgeConfigTest, EntriesWithDefaultsResolvedPathsAndEmbeddings) {
  LoadResult r = load(
      "knowledge:\n"
      "  toko:\n"
      "    sources: [faq.csv, docs/]\n"
      "  manual:\n"
      "    sources: [docs]\n"
      "    chunk_size: 500\n"
      "    embeddings:\n"
      "      base_url: https://api.openai.com/v1/\n"
      "      model: text-embedding-3-small\n"
      "      api_key: ${OPENAI_API_KEY}\n"
      "      dimensions: 256\n"
      "      batch_size: 16\n"
      "      timeout: 5s\n",
      {{"OPENAI_API_KEY", "sk-live-123456"}});
  ASSERT_TRUE(r.config) << ::testing::PrintToString(errors(r));
  const Config& c = *r.config;
  ASSERT_EQ(c.knowledge.size(), 2u);
  const KnowledgeConfig& toko = c.knowledge.at("toko");
  EXPECT_EQ(toko.id, "toko");
  EXPECT_EQ(toko.sources, (std::vector<std::string>{(dir_ / "faq.csv").string(),
                                                    (dir_ / "docs/").lexically_normal().string()}));
  EXPECT_EQ(toko.chunk_size, 800u);
  EXPECT_FALSE(toko.embeddings);
  EXPECT_EQ(toko.base_dir, dir_.string());
  EXPECT_EQ(toko.line, 2);
  EXPECT_EQ(toko.column, 3);

  const KnowledgeConfig& manual = c.knowledge.at("manual");
  EXPECT_EQ(manual.chunk_size, 500u);
  ASSERT_TRUE(manual.embeddings);
  EXPECT_EQ(manual.embeddings->base_url, "https://api.openai.com/v1");
  EXPECT_EQ(manual.embeddings->model, "text-embedding-3-small");
  EXPECT_EQ(manual.embeddings->api_key, "sk-live-123456");
  EXPECT_EQ(manual.embeddings->dimensions, 256);
  EXPECT_EQ(manual.embeddings->batch_size, 16);
  EXPECT_EQ(manual.embeddings->timeout, std::chrono::milliseconds(5000));
  EXPECT_THAT(c.secrets, Contains("sk-live-123456"));
}

TEST_F(KnowledgeConfigTest, MistakesAreErrorsAtTheirPosition) {
  LoadResult r = load(
      "knowledge:\n"
      "  toko:\n"
      "    sources: [faq.csv, missing.md, logo.png]\n"
      "    chunksize: 500\n"
      "  Toko Dua:\n"
      "    sources: [faq.csv]\n"
      "  kosong:\n"
      "    chunk_size: 50\n"
      "  emb:\n"
      "    sources: [faq.csv]\n"
      "    embeddings:\n"
      "      base_url: api.openai.com\n");
  EXPECT_FALSE(r.config);
  std::vector<std::string> e = errors(r);
  auto has = [&](const std::string& prefix, const std::string& text) {
    for (const std::string& line : e) {
      if (line.rfind(prefix, 0) == 0 && line.find(text) != std::string::npos) {
        return true;
      }
    }
    return false;
  };
  EXPECT_TRUE(has("3:24:", "knowledge.toko.sources[1]: 'missing.md' does not exist"))
      << ::testing::PrintToString(e);
  EXPECT_TRUE(has("3:36:", "'logo.png' is not a .md, .markdown, .txt or .csv file"))
      << ::testing::PrintToString(e);
  EXPECT_TRUE(has("4:5:", "chunksize")) << ::testing::PrintToString(e);
  EXPECT_TRUE(has("5:3:", "knowledge: id 'Toko Dua' does not match"))
      << ::testing::PrintToString(e);
  EXPECT_TRUE(has("8:5:", "required key 'sources' is missing")) << ::testing::PrintToString(e);
  EXPECT_TRUE(has("8:17:", "chunk_size")) << ::testing::PrintToString(e);
  EXPECT_TRUE(has("12:7:", "required key 'model' is missing")) << ::testing::PrintToString(e);
  EXPECT_TRUE(has("12:17:", "base_url")) << ::testing::PrintToString(e);
}

TEST_F(KnowledgeConfigTest, NoKnowledgeSectionMeansNoKnowledgeBases) {
  LoadResult r = load("server:\n  listen: 127.0.0.1:0\n");
  ASSERT_TRUE(r.config) << ::testing::PrintToString(errors(r));
  EXPECT_TRUE(r.config->knowledge.empty());
}

}  // namespace
}  // namespace waflow::core::config
