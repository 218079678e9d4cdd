// The chunker of the knowledge base: turns one source file into the passages that are indexed
// and retrieved, each small enough to quote in a prompt.
//   Markdown (.md, .markdown): one passage per section, titled with its heading path
//     ("Shipping > Cash on delivery"); a section longer than the chunk size is split at
//     paragraph boundaries (a paragraph longer still, at sentence ends, then at spaces).
//     Headings inside fenced code blocks are not headings.
//   Text (.txt): paragraphs grouped up to the chunk size, untitled.
//   CSV FAQ (.csv): a header row naming the columns question and answer (or pertanyaan and
//     jawaban), optionally tags (tag, kata_kunci); RFC 4180 quoting; one passage per row,
//     titled with the question, the tags indexed with the answer.
//
// Thread-safety: stateless functions; safe from any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace waflow::core::knowledge {

struct Chunk {
  std::string title;  // heading path or question; "" when none
  std::string text;   // the passage
  std::string extra;  // indexed with the text but not shown (a CSV row's tags)
};

inline constexpr std::size_t kDefaultChunkSize = 800;

enum class SourceFormat { kMarkdown, kText, kCsv, kUnsupported };

// By extension, case-insensitively: .md/.markdown, .txt, .csv.
SourceFormat formatOf(std::string_view path);

struct ChunkResult {
  std::vector<Chunk> chunks;
  // Empty on success; otherwise what is wrong, starting with the 1-based line: "3: ...".
  std::string error;
};

std::vector<Chunk> chunkMarkdown(std::string_view text, std::size_t chunk_size);
std::vector<Chunk> chunkText(std::string_view text, std::size_t chunk_size);
ChunkResult chunkCsvFaq(std::string_view text);

// The chunks of a file's contents by its format (kUnsupported: an error). A UTF-8 byte-order
// mark is skipped; CRLF line ends are accepted.
ChunkResult chunkFile(std::string_view path, std::string_view contents, std::size_t chunk_size);

// Splits `text` into pieces of at most `limit` bytes (never inside a UTF-8 character): at blank
// lines first, then at sentence ends, then at spaces; pieces are trimmed and non-empty.
std::vector<std::string> splitText(std::string_view text, std::size_t limit);

}  // namespace waflow::core::knowledge
