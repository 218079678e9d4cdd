#include "engine/steps/ai/knowledge_search.h"

#include "engine/basics.h"

#include <algorithm>
#include <mutex>

namespace waflow::core::engine::steps {

void searchKnowledge(const KnowledgeBases& configured, const std::vector<std::string>& bases,
                     const std::string& question, int limit,
                     std::function<void(Json passages)> done) {
  if (bases.empty() || question.empty()) {
    done(Json::array());
    return;
  }
  struct Search {
    std::mutex mutex;
    std::vector<knowledge::Passage> found;
    size_t left;
  };
  auto search = std::make_shared<Search>();
  search->left = bases.size();
  // Called once per knowledge base; the last one answers with the best passages of all.
  auto finish = [search, limit, done](std::vector<knowledge::Passage> passages) {
    {
      std::lock_guard lock(search->mutex);
      for (auto& p : passages) {
        search->found.push_back(std::move(p));
      }
      if (--search->left != 0) {
        return;
      }
    }
    std::stable_sort(search->found.begin(), search->found.end(),
                     [](const auto& l, const auto& r) { return l.score > r.score; });
    Json out = Json::array();
    for (const auto& p : search->found) {
      if (out.size() >= static_cast<size_t>(limit)) {
        break;
      }
      out.push_back({{"knowledge", p.knowledge},
                     {"path", p.path},
                     {"title", p.title},
                     {"text", p.text},
                     {"score", p.score}});
    }
    done(std::move(out));
  };
  for (const std::string& id : bases) {
    auto it = configured.find(id);
    if (it == configured.end()) {
      flowLogger()->warn("knowledge base '{}' is not configured (knowledge: in waflow.yaml)", id);
      finish({});
      continue;
    }
    it->second->search(question, static_cast<size_t>(limit),
                       [finish, id](knowledge::KnowledgeBase::SearchResult result) {
                         if (!result.error.empty()) {
                           flowLogger()->warn("knowledge base '{}' could not be searched: {}", id,
                                              result.error);
                         }
                         finish(std::move(result.passages));
                       });
  }
}

}  // namespace waflow::core::engine::steps
