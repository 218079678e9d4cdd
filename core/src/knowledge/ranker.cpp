#include "knowledge/ranker.h"

#include "knowledge/analyzer.h"

#include <algorithm>
#include <cmath>

namespace waflow::core::knowledge {

Bm25Ranker::Bm25Ranker(const std::vector<std::string>& texts, Params params) : params_(params) {
  lengths_.reserve(texts.size());
  std::size_t total = 0;
  for (std::size_t doc = 0; doc < texts.size(); ++doc) {
    std::vector<std::string> terms = analyze(texts[doc]);
    lengths_.push_back(terms.size());
    total += terms.size();
    std::unordered_map<std::string, int> counts;
    for (std::string& term : terms) {
      ++counts[std::move(term)];
    }
    for (auto& [term, frequency] : counts) {
      postings_[term].push_back({doc, frequency});
    }
  }
  average_length_ =
      texts.empty() ? 0.0 : static_cast<double>(total) / static_cast<double>(texts.size());
}

std::vector<Ranked> Bm25Ranker::rank(std::string_view query, std::size_t limit) const {
  std::unordered_map<std::size_t, double> scores;
  const double n = static_cast<double>(lengths_.size());
  for (const std::string& term : queryTerms(query)) {
    auto it = postings_.find(term);
    if (it == postings_.end()) {
      continue;
    }
    const double df = static_cast<double>(it->second.size());
    // The BM25+ style IDF that stays positive for terms in more than half of the texts.
    const double idf = std::log(1.0 + (n - df + 0.5) / (df + 0.5));
    for (const Posting& p : it->second) {
      const double tf = p.frequency;
      const double norm =
          average_length_ > 0 ? static_cast<double>(lengths_[p.doc]) / average_length_ : 1.0;
      scores[p.doc] +=
          idf * tf * (params_.k1 + 1) / (tf + params_.k1 * (1 - params_.b + params_.b * norm));
    }
  }
  std::vector<Ranked> out;
  out.reserve(scores.size());
  for (const auto& [doc, score] : scores) {
    out.push_back({doc, score});
  }
  std::sort(out.begin(), out.end(), [](const Ranked& a, const Ranked& b) {
    return a.score != b.score ? a.score > b.score : a.index < b.index;
  });
  if (limit > 0 && out.size() > limit) {
    out.resize(limit);
  }
  return out;
}

std::vector<Ranked> rankTexts(std::string_view query, const std::vector<std::string>& texts,
                              std::size_t limit) {
  return Bm25Ranker(texts).rank(query, limit);
}

}  // namespace waflow::core::knowledge
