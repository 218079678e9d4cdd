// KnowledgeBase::search() (knowledge_base.h): the passages that best answer a question. Storage
// ranks the question's terms by BM25 (kb.search); with embeddings, the question is also embedded
// and compared with the chunk vectors held in memory (nearestVectors), and the two rankings are
// merged by reciprocal rank fusion (fuse). The two rankings run at once; the last to finish
// answers.
//
// Thread-safety: search() only reads the configuration and takes a snapshot of the vectors
// under the mutex; each search's state (Pending) is shared by its two rankings under its own
// mutex. See knowledge_base.h.
#include "knowledge/knowledge_base.h"

#include "knowledge/analyzer.h"
#include "knowledge/embeddings.h"
#include "storage/storage_client.h"

#include <waflow/sdk/storage.hpp>

#include <algorithm>
#include <map>
#include <mutex>
#include <tuple>
#include <utility>

namespace waflow::core::knowledge {

using nlohmann::json;
namespace kb = knowledge;

namespace {

constexpr int kRrfK = 60;  // reciprocal rank fusion: 1 / (k + rank), the usual k

using Vector = KnowledgeBase::Vector;
using Scored = std::vector<std::pair<double, std::size_t>>;  // cosine, index into vectors

// The `candidates` vectors most similar (cosine) to `query`, best first. Vectors of another
// length are skipped: they were indexed with another model, and the next sync re-embeds.
Scored nearestVectors(const std::vector<float>& query, const std::vector<Vector>& vectors,
                      std::size_t candidates) {
  Scored scored;
  for (std::size_t i = 0; i < vectors.size(); ++i) {
    const std::vector<float>& unit = vectors[i].unit;
    if (unit.size() != query.size()) {
      continue;
    }
    double dot = 0;
    for (std::size_t k = 0; k < unit.size(); ++k) {
      dot += static_cast<double>(unit[k]) * query[k];
    }
    scored.emplace_back(dot, i);
  }
  std::sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  if (scored.size() > candidates) {
    scored.resize(candidates);
  }
  return scored;
}

// Reciprocal rank fusion of the BM25 ranking and the vector ranking, keyed by (path, title,
// text): a chunk found by both rankings adds both contributions. The best `limit`, each with its
// fused score; ties keep the order first seen (BM25 first).
std::vector<Passage> fuse(std::vector<Passage> bm25, const Scored& nearest,
                          const std::vector<Vector>& vectors, const std::string& knowledge_id,
                          std::size_t limit) {
  struct Fused {
    Passage passage;
    double score = 0;
    std::size_t first_seen = 0;
  };
  std::map<std::tuple<std::string, std::string, std::string>, Fused> fused;
  std::size_t order = 0;
  auto add = [&](Passage p, std::size_t rank) {
    auto key = std::make_tuple(p.path, p.title, p.text);
    auto [it, inserted] = fused.try_emplace(std::move(key));
    if (inserted) {
      it->second.passage = std::move(p);
      it->second.first_seen = order++;
    }
    it->second.score += 1.0 / (kRrfK + static_cast<double>(rank) + 1.0);
  };
  for (std::size_t i = 0; i < bm25.size(); ++i) {
    add(bm25[i], i);
  }
  for (std::size_t i = 0; i < nearest.size(); ++i) {
    const Vector& v = vectors[nearest[i].second];
    add({knowledge_id, v.path, v.title, v.text, 0}, i);
  }
  std::vector<Fused> ranked;
  for (auto& [key, f] : fused) {
    ranked.push_back(std::move(f));
  }
  std::sort(ranked.begin(), ranked.end(), [](const Fused& a, const Fused& b) {
    return a.score != b.score ? a.score > b.score : a.first_seen < b.first_seen;
  });
  std::vector<Passage> out;
  for (std::size_t i = 0; i < ranked.size() && i < limit; ++i) {
    ranked[i].passage.score = ranked[i].score;
    out.push_back(std::move(ranked[i].passage));
  }
  return out;
}

// One search in progress: both rankings run at once, and the last to finish answers.
struct Pending {
  std::mutex mutex;
  int remaining = 2;
  std::string storage_error;
  std::vector<Passage> bm25;
  Scored nearest;
  bool embedded = false;
};

// The answer once both rankings are in: the storage's error, the BM25 ranking alone (no
// embeddings, or the endpoint failed), or the fusion of both.
KnowledgeBase::SearchResult answer(Pending& pending, bool hybrid,
                                   const std::vector<Vector>& vectors,
                                   const std::string& knowledge_id, std::size_t limit) {
  KnowledgeBase::SearchResult result;
  if (!pending.storage_error.empty()) {
    result.error = pending.storage_error;
    return result;
  }
  if (!hybrid || !pending.embedded) {
    result.passages = std::move(pending.bm25);
    if (result.passages.size() > limit) {
      result.passages.resize(limit);
    }
    return result;
  }
  result.passages = fuse(std::move(pending.bm25), pending.nearest, vectors, knowledge_id, limit);
  result.used_embeddings = true;
  return result;
}

}  // namespace

void KnowledgeBase::search(const std::string& question, std::size_t limit,
                           std::function<void(SearchResult)> done) {
  limit = std::clamp<std::size_t>(limit, 1, 50);
  std::shared_ptr<const std::vector<Vector>> vectors;
  {
    std::lock_guard lock(mutex_);
    vectors = vectors_;
  }
  const bool hybrid = config_.embeddings.has_value() && !vectors->empty();
  // With fusion, each ranking contributes more candidates than are finally kept.
  const std::size_t candidates = hybrid ? std::max<std::size_t>(limit * 4, 20) : limit;

  // Both rankings run at once; the last to finish combines them.
  auto pending = std::make_shared<Pending>();
  auto self = shared_from_this();
  auto finish = [self, pending, vectors, limit, hybrid, done = std::move(done)] {
    done(answer(*pending, hybrid, *vectors, self->config_.id, limit));
  };
  auto arrive = [pending, finish]() mutable {
    bool last = false;
    {
      std::lock_guard lock(pending->mutex);
      last = --pending->remaining == 0;
    }
    if (last) {
      finish();
    }
  };

  std::vector<std::string> terms = kb::queryTerms(question);
  if (terms.empty()) {
    arrive();
  } else {
    storage_.call(waflow::storage::kKbSearch,
                  {{"knowledge", config_.id}, {"terms", terms}, {"limit", candidates}},
                  [pending, arrive](const plugin::CallOutcome& outcome, json output) mutable {
                    if (!outcome.ok()) {
                      pending->storage_error = "knowledge search failed: " + outcome.error;
                    } else {
                      for (const json& p : output.value("passages", json::array())) {
                        pending->bm25.push_back({p.value("knowledge", ""), p.value("path", ""),
                                                 p.value("title", ""), p.value("text", ""),
                                                 p.value("score", 0.0)});
                      }
                    }
                    arrive();
                  });
  }

  if (!hybrid) {
    arrive();
    return;
  }
  embed({question}, [self, pending, vectors, candidates, arrive](
                        std::string error, std::vector<std::vector<float>> out) mutable {
    if (!error.empty()) {
      self->logger_->warn("knowledge '{}': searching by words only: {}", self->config_.id, error);
    } else {
      json numbers = out.front();
      pending->nearest = nearestVectors(normalised(numbers), *vectors, candidates);
      pending->embedded = true;
    }
    arrive();
  });
}

}  // namespace waflow::core::knowledge
