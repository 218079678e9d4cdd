// The embeddings side of knowledge retrieval: one request to an OpenAI-style embeddings
// endpoint (POST {base_url}/embeddings), the text a chunk is embedded as, and the L2
// normalisation that makes cosine similarity a dot product. KnowledgeBase uses them to embed
// chunks while syncing (knowledge_base_sync.cpp) and questions while searching
// (knowledge_base_search.cpp); batching and the missing-client check stay in KnowledgeBase.
//
// Thread-safety: stateless functions; safe from any thread. requestEmbeddings() calls `done`
// once, on the HttpClient's loop; the client must outlive that call.
#pragma once

#include "config/config.h"
#include "http_client/http_client.h"
#include "knowledge/chunker.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

namespace waflow::core::knowledge {

// `error` is empty on success; then `vectors` holds one vector per input text, in input order.
using EmbeddingsCallback =
    std::function<void(std::string error, std::vector<std::vector<float>> vectors)>;

// POSTs {e.base_url}/embeddings for `texts` (one request) and answers with their vectors, or
// with an error naming the URL (and, for 401/403/404, which setting to check).
void requestEmbeddings(HttpClient& http, const config::EmbeddingsConfig& e,
                       std::vector<std::string> texts, EmbeddingsCallback done);

// The text a chunk is embedded as: its title, its text and its extra (tags), one per line.
std::string embeddingInput(const Chunk& chunk);

// `numbers` (a JSON array; non-numbers count as 0) scaled to length 1; all zeros stay zeros.
std::vector<float> normalised(const nlohmann::json& numbers);

}  // namespace waflow::core::knowledge
