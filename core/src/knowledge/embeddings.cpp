// The embeddings endpoint client of embeddings.h: builds the request, reads the OpenAI-style
// answer ({"data": [{"index": i, "embedding": [...]}, ...]}) and explains every way it can fail.
//
// Thread-safety: stateless; see embeddings.h.
#include "knowledge/embeddings.h"

#include "json/bounded_parse.h"

#include <cmath>
#include <cstddef>
#include <utility>

namespace waflow::core::knowledge {

using nlohmann::json;

namespace {

// The error of an OpenAI-style error body, else the start of the body.
std::string providerMessage(const std::string& body) {
  json parsed = json_input::parseOrDiscarded(body);
  if (parsed.is_object()) {
    if (auto e = parsed.find("error"); e != parsed.end()) {
      if (e->is_object() && e->contains("message") && (*e)["message"].is_string()) {
        return (*e)["message"].get<std::string>();
      }
      if (e->is_string()) {
        return e->get<std::string>();
      }
    }
  }
  return body.substr(0, 200);
}

// The vectors of a 2xx answer to a request of `expected` texts into `vectors` (in input order),
// or what is wrong with it.
std::string parseVectors(const ClientResponse& r, const std::string& url, std::size_t expected,
                         std::vector<std::vector<float>>& vectors) {
  json parsed = json_input::parseOrDiscarded(r.body);
  const json* data = nullptr;
  if (parsed.is_object()) {
    if (auto it = parsed.find("data"); it != parsed.end() && it->is_array()) {
      data = &*it;
    }
  }
  if (data == nullptr) {
    return "the embeddings endpoint " + url + " answered without a data array";
  }
  vectors.assign(expected, {});
  for (std::size_t i = 0; i < data->size(); ++i) {
    const json& item = (*data)[i];
    std::size_t index = item.contains("index") && item["index"].is_number_unsigned()
                            ? item["index"].get<std::size_t>()
                            : i;
    auto embedding = item.find("embedding");
    if (index >= expected || embedding == item.end() || !embedding->is_array() ||
        embedding->empty()) {
      return "the embeddings endpoint " + url + " answered an invalid data[" + std::to_string(i) +
             "]";
    }
    std::vector<float>& v = vectors[index];
    v.reserve(embedding->size());
    for (const json& x : *embedding) {
      v.push_back(x.is_number() ? x.get<float>() : 0.0F);
    }
  }
  for (std::size_t i = 0; i < expected; ++i) {
    if (vectors[i].empty()) {
      return "the embeddings endpoint " + url + " answered no vector for input " +
             std::to_string(i);
    }
  }
  return {};
}

}  // namespace

void requestEmbeddings(HttpClient& http, const config::EmbeddingsConfig& e,
                       std::vector<std::string> texts, EmbeddingsCallback done) {
  json body = {{"model", e.model}, {"input", texts}};
  if (e.dimensions > 0) {
    body["dimensions"] = e.dimensions;
  }
  ClientRequest request;
  request.method = "POST";
  request.url = e.base_url + "/embeddings";
  request.headers = {{"Content-Type", "application/json"}};
  if (!e.api_key.empty()) {
    request.headers.emplace_back("Authorization", "Bearer " + e.api_key);
  }
  request.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  request.timeout = e.timeout;
  const std::size_t expected = texts.size();
  const std::string url = request.url;
  http.send(std::move(request), [expected, url, done = std::move(done)](ClientResponse r) {
    if (!r.ok()) {
      done("the embeddings request to " + url + " failed: " + r.error_message, {});
      return;
    }
    if (r.status < 200 || r.status > 299) {
      std::string hint = r.status == 401 || r.status == 403
                             ? " (check knowledge embeddings api_key)"
                         : r.status == 404 ? " (check embeddings base_url and model)"
                                           : "";
      done("the embeddings endpoint " + url + " answered HTTP " + std::to_string(r.status) + ": " +
               providerMessage(r.body) + hint,
           {});
      return;
    }
    std::vector<std::vector<float>> vectors;
    std::string error = parseVectors(r, url, expected, vectors);
    if (!error.empty()) {
      done(std::move(error), {});
      return;
    }
    done("", std::move(vectors));
  });
}

std::string embeddingInput(const Chunk& chunk) {
  std::string input = chunk.title.empty() ? chunk.text : chunk.title + "\n" + chunk.text;
  if (!chunk.extra.empty()) {
    input += "\n" + chunk.extra;
  }
  return input;
}

std::vector<float> normalised(const json& numbers) {
  std::vector<float> v;
  v.reserve(numbers.size());
  double norm = 0;
  for (const json& x : numbers) {
    double d = x.is_number() ? x.get<double>() : 0.0;
    v.push_back(static_cast<float>(d));
    norm += d * d;
  }
  norm = std::sqrt(norm);
  if (norm > 0) {
    for (float& f : v) {
      f = static_cast<float>(f / norm);
    }
  }
  return v;
}

}  // namespace waflow::core::knowledge
