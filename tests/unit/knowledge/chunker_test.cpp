// The chunker: Markdown sections with heading paths, long sections split at paragraphs, text
// paragraphs grouped, CSV FAQs with RFC 4180 quoting, and the errors a shop owner can make.
#include "knowledge/chunker.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace waflow::core::knowledge {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::vector<std::string> titles(const std::vector<Chunk>& chunks) {
  std::vector<std::string> out;
  for (const Chunk& c : chunks) {
    out.push_back(c.title);
  }
  return out;
}

TEST(KnowledgeChunker, MarkdownSectionsAreTitledWithTheirHeadingPath) {
  const std::string md =
      "\xEF\xBB\xBFIntro before any heading.\n"
      "\n"
      "# Policies\n"
      "General text.\n"
      "## Shipping\n"
      "We ship daily.\n"
      "### Domestic ###\n"
      "Two to three days.\n"
      "## Returns\n"
      "Within 7 days.\r\n"
      "```\n"
      "# not a heading inside code\n"
      "```\n"
      "Warranty\n"
      "--------\n"
      "Six months.\n"
      "#hashtag is text\n";
  std::vector<Chunk> chunks = chunkMarkdown(md, 800);
  EXPECT_EQ(titles(chunks),
            (std::vector<std::string>{"", "Policies", "Policies > Shipping",
                                      "Policies > Shipping > Domestic", "Policies > Returns",
                                      "Policies > Warranty"}));
  EXPECT_EQ(chunks[0].text, "Intro before any heading.");
  EXPECT_EQ(chunks[3].text, "Two to three days.");
  EXPECT_EQ(chunks[4].text, "Within 7 days.\n```\n# not a heading inside code\n```");
  EXPECT_EQ(chunks[5].text, "Six months.\n#hashtag is text");
}

TEST(KnowledgeChunker, HeadingsWithoutTextMakeNoChunk) {
  std::vector<Chunk> chunks = chunkMarkdown("# A\n## B\n\n## C\ntext\n# D\n", 800);
  EXPECT_EQ(titles(chunks), (std::vector<std::string>{"A > C"}));
}

TEST(KnowledgeChunker, LongSectionsSplitAtParagraphsThenSentencesNeverInsideACharacter) {
  std::string paragraph(300, 'x');
  std::string md = "# Long\n" + paragraph + "\n\n" + paragraph + "\n\n" + paragraph + "\n";
  std::vector<Chunk> chunks = chunkMarkdown(md, 700);
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(chunks[0].text, paragraph + "\n\n" + paragraph);
  EXPECT_EQ(chunks[1].text, paragraph);
  EXPECT_EQ(chunks[1].title, "Long");

  // One paragraph of sentences, longer than the limit: cut at sentence ends.
  std::string sentences;
  for (int i = 0; i < 20; ++i) {
    sentences += "Kalimat nomor " + std::to_string(i) + " cukup panjang untuk diuji. ";
  }
  std::vector<std::string> pieces = splitText(sentences, 200);
  ASSERT_GT(pieces.size(), 4u);
  for (const std::string& p : pieces) {
    EXPECT_LE(p.size(), 200u);
    EXPECT_EQ(p.back(), '.') << p;
  }

  // No spaces and multi-byte characters: hard cuts on character boundaries.
  std::string emoji;
  for (int i = 0; i < 100; ++i) {
    emoji += "\xF0\x9F\x99\x8F";  // 4 bytes each
  }
  for (const std::string& p : splitText(emoji, 30)) {
    EXPECT_LE(p.size(), 30u);
    EXPECT_EQ(p.size() % 4, 0u);
  }
}

TEST(KnowledgeChunker, TextGroupsParagraphsUpToTheChunkSize) {
  std::string a(100, 'a');
  std::string b(100, 'b');
  std::string c(100, 'c');
  std::vector<Chunk> chunks = chunkText(a + "\n\n\n" + b + "\r\n\r\n" + c + "\n", 210);
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(chunks[0].text, a + "\n\n" + b);
  EXPECT_EQ(chunks[1].text, c);
  EXPECT_EQ(chunks[0].title, "");
}

TEST(KnowledgeChunker, CsvFaqRowsWithQuotingAndTags) {
  const std::string csv =
      "Pertanyaan , Jawaban,Tags\r\n"
      "Berapa ongkir?,\"Rp12.000, lewat JNE\",\"ongkir, tarif\"\r\n"
      "\r\n"
      "\"Bisa COD \"\"bayar di tempat\"\"?\",\"Bisa.\n"
      "Untuk Jabodetabek.\"\n"
      "Tanpa tag?,Ya\n";
  ChunkResult r = chunkCsvFaq(csv);
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.chunks.size(), 3u);
  EXPECT_EQ(r.chunks[0].title, "Berapa ongkir?");
  EXPECT_EQ(r.chunks[0].text, "Rp12.000, lewat JNE");
  EXPECT_EQ(r.chunks[0].extra, "ongkir, tarif");
  EXPECT_EQ(r.chunks[1].title, "Bisa COD \"bayar di tempat\"?");
  EXPECT_EQ(r.chunks[1].text, "Bisa.\nUntuk Jabodetabek.");
  EXPECT_EQ(r.chunks[2].extra, "");
}

TEST(KnowledgeChunker, CsvMistakesAreReportedWithTheirLine) {
  ChunkResult no_header = chunkCsvFaq("q,a\nBerapa?,Rp1\n");
  EXPECT_THAT(no_header.error, HasSubstr("1: the first row must name the columns 'question' and "
                                         "'answer'"));
  EXPECT_THAT(no_header.error, HasSubstr("found: q, a"));

  ChunkResult unclosed = chunkCsvFaq("question,answer\nA,B\nC,\"never closed\nD,E\n");
  EXPECT_THAT(unclosed.error, HasSubstr("3: a quoted field is not closed"));

  ChunkResult stray = chunkCsvFaq("question,answer\nA,\"B\" C\n");
  EXPECT_THAT(stray.error, HasSubstr("2: text after a closing quote"));

  ChunkResult missing = chunkCsvFaq("question,answer\nA,B\n\"multi\nline\",B\nC\n");
  EXPECT_THAT(missing.error, HasSubstr("5: the answer is empty"));
  EXPECT_THAT(missing.chunks, IsEmpty());
}

TEST(KnowledgeChunker, EmptyFilesHaveNoChunksAndNoError) {
  for (const char* path : {"a.md", "b.txt", "c.csv"}) {
    ChunkResult r = chunkFile(path, "", 800);
    EXPECT_EQ(r.error, "") << path;
    EXPECT_THAT(r.chunks, IsEmpty()) << path;
    r = chunkFile(path, "\n  \n\t\n", 800);
    EXPECT_THAT(r.chunks, IsEmpty()) << path;
  }
}

TEST(KnowledgeChunker, FormatsByExtension) {
  EXPECT_EQ(formatOf("docs/FAQ.CSV"), SourceFormat::kCsv);
  EXPECT_EQ(formatOf("a/b.markdown"), SourceFormat::kMarkdown);
  EXPECT_EQ(formatOf("notes.md"), SourceFormat::kMarkdown);
  EXPECT_EQ(formatOf("readme.txt"), SourceFormat::kText);
  EXPECT_EQ(formatOf("photo.jpg"), SourceFormat::kUnsupported);
  EXPECT_EQ(formatOf("dir.md/file"), SourceFormat::kUnsupported);
  EXPECT_THAT(chunkFile("x.pdf", "%PDF", 800).error, HasSubstr("unsupported file type"));
  EXPECT_EQ(chunkFile("x.md", "# T\nbody", 800).chunks.at(0).title, "T");
}

}  // namespace
}  // namespace waflow::core::knowledge
