// Bm25Ranker: Okapi BM25 over an in-memory list of texts, analysed with the knowledge
// analyser (analyzer.h), so ranking a contact's own message history behaves like knowledge
// retrieval without touching storage. Build it once per list, then rank() any number of
// queries; or call rankTexts() for a one-off.
//
// Thread-safety: immutable after construction; rank() may be called from several threads.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace waflow::core::knowledge {

struct Ranked {
  std::size_t index;  // position in the list given to the ranker
  double score;       // BM25; higher is better, always > 0
};

class Bm25Ranker {
 public:
  // The usual BM25 parameters: k1 term-frequency saturation, b length normalisation.
  struct Params {
    double k1 = 1.2;
    double b = 0.75;
  };

  explicit Bm25Ranker(const std::vector<std::string>& texts) : Bm25Ranker(texts, Params{}) {}
  Bm25Ranker(const std::vector<std::string>& texts, Params params);

  // The texts sharing at least one term with `query`, best first (ties: earlier text first),
  // at most `limit` of them (0 = all).
  std::vector<Ranked> rank(std::string_view query, std::size_t limit = 0) const;

  std::size_t size() const { return lengths_.size(); }

 private:
  struct Posting {
    std::size_t doc;
    int frequency;
  };
  Params params_;
  std::vector<std::size_t> lengths_;  // terms per text
  double average_length_ = 0;
  std::unordered_map<std::string, std::vector<Posting>> postings_;
};

// Bm25Ranker(texts).rank(query, limit).
std::vector<Ranked> rankTexts(std::string_view query, const std::vector<std::string>& texts,
                              std::size_t limit = 0);

}  // namespace waflow::core::knowledge
