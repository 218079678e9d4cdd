// The knowledge passages of an ai step: each knowledge base the step names is searched for the
// question, side by side, and the best `limit` passages of all of them are kept. A base that
// is not configured or cannot be searched is logged and adds nothing.
//
// Thread-safety: safe from any thread; `done` runs once, on the thread of the last search.
#pragma once

#include "knowledge/knowledge_base.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace waflow::core::engine::steps {

// The knowledge bases of waflow.yaml (knowledge:), by id.
using KnowledgeBases = std::map<std::string, knowledge::KnowledgeBase*>;

// `done` receives [{knowledge, path, title, text, score}], best first.
void searchKnowledge(const KnowledgeBases& configured, const std::vector<std::string>& bases,
                     const std::string& question, int limit,
                     std::function<void(nlohmann::json passages)> done);

}  // namespace waflow::core::engine::steps
