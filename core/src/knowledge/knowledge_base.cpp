// KnowledgeBase (knowledge_base.h): construction, the document checksum, removing the index of
// knowledge bases taken out of waflow.yaml, and the embedding of texts in batches, which both
// sync and search use. The sync pipeline is in knowledge_base_sync.cpp, search in
// knowledge_base_search.cpp, the embeddings endpoint itself in embeddings.cpp.
//
// Thread-safety: see knowledge_base.h.
#include "knowledge/knowledge_base.h"

#include "knowledge/embeddings.h"
#include "knowledge/sources.h"
#include "log/log.h"
#include "storage/storage_client.h"

#include <waflow/sdk/storage.hpp>

#include <algorithm>
#include <utility>

namespace waflow::core::knowledge {

using nlohmann::json;

void KnowledgeBase::retainOnly(
    storage::StorageClient& storage, const std::vector<std::string>& ids,
    std::function<void(std::vector<std::pair<std::string, int64_t>>, std::string)> done) {
  storage.call(waflow::storage::kKbRetain, {{"knowledge", ids}},
               [done = std::move(done)](const plugin::CallOutcome& outcome, const json& out) {
                 std::vector<std::pair<std::string, int64_t>> removed;
                 if (!outcome.ok()) {
                   return done(std::move(removed), outcome.error);
                 }
                 for (const json& r : out.value("removed", json::array())) {
                   removed.emplace_back(r.value("knowledge", ""), r.value("documents", int64_t{0}));
                 }
                 done(std::move(removed), {});
               });
}

std::shared_ptr<KnowledgeBase> KnowledgeBase::create(config::KnowledgeConfig config,
                                                     storage::StorageClient& storage,
                                                     HttpClient* http) {
  return std::shared_ptr<KnowledgeBase>(new KnowledgeBase(std::move(config), storage, http));
}

KnowledgeBase::KnowledgeBase(config::KnowledgeConfig config, storage::StorageClient& storage,
                             HttpClient* http)
    : config_(std::move(config)), storage_(storage), http_(http), logger_(log::get("knowledge")) {}

std::string KnowledgeBase::documentChecksum(std::string_view contents) const {
  std::string checksum = sha256Hex(contents) + ";index=" + std::to_string(kIndexVersion) +
                         ";chunk=" + std::to_string(config_.chunk_size);
  if (config_.embeddings) {
    checksum += ";embed=" + config_.embeddings->model + "/" +
                std::to_string(config_.embeddings->dimensions);
  }
  return checksum;
}

// ---- embeddings ----------------------------------------------------------------------

void KnowledgeBase::embedAll(std::shared_ptr<std::vector<std::string>> texts, std::size_t from,
                             std::shared_ptr<std::vector<std::vector<float>>> out,
                             EmbedCallback done) {
  const std::size_t batch = static_cast<std::size_t>(std::max(1, config_.embeddings->batch_size));
  if (from >= texts->size()) {
    done("", std::move(*out));
    return;
  }
  std::size_t end = std::min(texts->size(), from + batch);
  std::vector<std::string> slice(texts->begin() + static_cast<std::ptrdiff_t>(from),
                                 texts->begin() + static_cast<std::ptrdiff_t>(end));
  auto self = shared_from_this();
  embed(std::move(slice), [self, texts, end, out, done = std::move(done)](
                              std::string error, std::vector<std::vector<float>> vectors) mutable {
    if (!error.empty()) {
      done(std::move(error), {});
      return;
    }
    for (auto& v : vectors) {
      out->push_back(std::move(v));
    }
    self->embedAll(texts, end, out, std::move(done));
  });
}

void KnowledgeBase::embed(std::vector<std::string> texts, EmbedCallback done) {
  const config::EmbeddingsConfig& e = *config_.embeddings;
  if (http_ == nullptr) {
    done("embeddings are configured but no HTTP client was given", {});
    return;
  }
  requestEmbeddings(*http_, e, std::move(texts), std::move(done));
}

}  // namespace waflow::core::knowledge
