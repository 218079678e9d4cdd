#include "knowledge/knowledge_base.h"

#include "json/bounded_parse.h"
#include "knowledge/analyzer.h"
#include "knowledge/chunker.h"
#include "log/log.h"
#include "storage/storage_client.h"

#include <waflow/sdk/storage.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <set>
#include <system_error>
#include <unordered_map>
#include <utility>

namespace waflow::core::knowledge {

using nlohmann::json;
namespace fs = std::filesystem;
namespace kb = knowledge;

// Everything one sync needs between its asynchronous steps.
struct KnowledgeBase::SyncRun {
  struct File {
    kb::SourceFile source;
    std::string checksum;
    std::string contents;  // read when the stamp changed or the file must be indexed
    bool read = false;
  };
  struct Work {
    std::string name;
    std::string checksum;
    std::vector<kb::Chunk> chunks;
  };
  std::vector<File> files;
  std::set<std::string> unreadable;  // names whose index must be kept
  std::vector<Work> work;            // files to index, in name order
  std::size_t next = 0;
  std::vector<std::string> deletions;
  SyncReport report;
};

namespace {

constexpr int kRrfK = 60;  // reciprocal rank fusion: 1 / (k + rank), the usual k

int64_t mtimeOf(const fs::file_time_type& t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

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

// The text a chunk is embedded as: its title and its text.
std::string embeddingInput(const kb::Chunk& chunk) {
  std::string input = chunk.title.empty() ? chunk.text : chunk.title + "\n" + chunk.text;
  if (!chunk.extra.empty()) {
    input += "\n" + chunk.extra;
  }
  return input;
}

}  // namespace

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
  std::string checksum = kb::sha256Hex(contents) + ";index=" + std::to_string(kIndexVersion) +
                         ";chunk=" + std::to_string(config_.chunk_size);
  if (config_.embeddings) {
    checksum += ";embed=" + config_.embeddings->model + "/" +
                std::to_string(config_.embeddings->dimensions);
  }
  return checksum;
}

// ---- sync ----------------------------------------------------------------------------

void KnowledgeBase::sync(std::function<void(SyncReport)> done) {
  {
    std::lock_guard lock(mutex_);
    waiting_.push_back(std::move(done));
    if (syncing_) {
      return;  // startSync() runs again for the waiting callers when this run ends
    }
    syncing_ = true;
  }
  startSync();
}

void KnowledgeBase::startSync() {
  {
    std::lock_guard lock(mutex_);
    current_ = std::move(waiting_);
    waiting_.clear();
  }
  auto run = std::make_shared<SyncRun>();
  listAndCompare(run);
}

void KnowledgeBase::listAndCompare(const std::shared_ptr<SyncRun>& run) {
  kb::SourceList listed = kb::listSources(config_.sources, config_.base_dir);
  for (std::string& error : listed.errors) {
    run->report.errors.push_back(std::move(error));
  }
  bool all_known = true;
  {
    std::lock_guard lock(mutex_);
    all_known = listed.files.size() == stamps_.size() && clean_;
  }
  for (kb::SourceFile& source : listed.files) {
    SyncRun::File file;
    file.source = std::move(source);
    std::error_code ec;
    const int64_t mtime = mtimeOf(fs::last_write_time(file.source.path, ec));
    const uint64_t size = ec ? 0 : fs::file_size(file.source.path, ec);
    bool known = false;
    if (!ec) {
      std::lock_guard lock(mutex_);
      auto it = stamps_.find(file.source.path);
      if (it != stamps_.end() && it->second.mtime == mtime && it->second.size == size) {
        file.checksum = it->second.checksum;
        known = true;
      }
    }
    if (!known) {
      all_known = false;
      std::string error;
      if (!kb::readFile(file.source.path, file.contents, error)) {
        run->report.errors.push_back(file.source.name + ": " + error);
        run->unreadable.insert(file.source.name);
        continue;
      }
      file.read = true;
      file.checksum = documentChecksum(file.contents);
      std::lock_guard lock(mutex_);
      stamps_[file.source.path] = {mtime, size, file.checksum};
    }
    run->files.push_back(std::move(file));
  }
  {
    // Forget files that are gone, so a file coming back is read again.
    std::set<std::string> present;
    for (const SyncRun::File& f : run->files) {
      present.insert(f.source.path);
    }
    std::lock_guard lock(mutex_);
    std::erase_if(stamps_, [&](const auto& entry) { return !present.contains(entry.first); });
  }
  if (all_known && run->report.errors.empty()) {
    run->report.unchanged = static_cast<int>(run->files.size());
    finishSync(run);
    return;
  }

  auto self = shared_from_this();
  storage_.call(
      waflow::storage::kKbDocuments, {{"knowledge", config_.id}},
      [self, run](const plugin::CallOutcome& outcome, json output) {
        if (!outcome.ok()) {
          run->report.errors.push_back("the storage failed listing the indexed files (" +
                                       outcome.error + ")");
          self->finishSync(run);
          return;
        }
        std::unordered_map<std::string, std::string> stored;
        for (const json& d : output.value("documents", json::array())) {
          stored[d.value("path", "")] = d.value("checksum", "");
        }
        for (SyncRun::File& file : run->files) {
          auto it = stored.find(file.source.name);
          if (it != stored.end() && it->second == file.checksum) {
            ++run->report.unchanged;
            continue;
          }
          if (!file.read) {
            std::string error;
            if (!kb::readFile(file.source.path, file.contents, error)) {
              run->report.errors.push_back(file.source.name + ": " + error);
              continue;
            }
            file.checksum = self->documentChecksum(file.contents);
          }
          kb::ChunkResult chunked =
              kb::chunkFile(file.source.name, file.contents, self->config_.chunk_size);
          if (!chunked.error.empty()) {
            run->report.errors.push_back(file.source.name + ": " + chunked.error);
            continue;
          }
          run->work.push_back({file.source.name, file.checksum, std::move(chunked.chunks)});
          file.contents.clear();
        }
        std::set<std::string> names;
        for (const SyncRun::File& file : run->files) {
          names.insert(file.source.name);
        }
        for (const auto& [path, checksum] : stored) {
          if (!names.contains(path) && !run->unreadable.contains(path)) {
            run->deletions.push_back(path);
          }
        }
        std::sort(run->deletions.begin(), run->deletions.end());
        self->indexNext(run);
      });
}

void KnowledgeBase::indexNext(const std::shared_ptr<SyncRun>& run) {
  if (run->next >= run->work.size()) {
    run->next = 0;
    deleteNext(run);
    return;
  }
  auto self = shared_from_this();
  SyncRun::Work& work = run->work[run->next];
  auto put = [self, run](std::vector<std::vector<float>> embeddings) {
    SyncRun::Work& w = run->work[run->next];
    json chunks = json::array();
    for (std::size_t i = 0; i < w.chunks.size(); ++i) {
      const kb::Chunk& c = w.chunks[i];
      json chunk = {{"title", c.title},
                    {"text", c.text},
                    {"title_terms", kb::joinTerms(kb::analyze(c.title))},
                    {"terms", kb::joinTerms(kb::analyze(c.text + "\n" + c.extra))}};
      if (i < embeddings.size() && !embeddings[i].empty()) {
        chunk["embedding"] = embeddings[i];
      }
      chunks.push_back(std::move(chunk));
    }
    json input = {{"knowledge", self->config_.id},
                  {"path", w.name},
                  {"checksum", w.checksum},
                  {"chunks", std::move(chunks)}};
    self->storage_.call(waflow::storage::kKbPut, input,
                        [self, run](const plugin::CallOutcome& outcome, const json&) {
                          SyncRun::Work& done = run->work[run->next];
                          if (outcome.ok()) {
                            ++run->report.indexed;
                            run->report.chunks += static_cast<int>(done.chunks.size());
                          } else {
                            run->report.errors.push_back(done.name +
                                                         ": the storage refused the index (" +
                                                         outcome.error + ")");
                          }
                          done.chunks.clear();
                          ++run->next;
                          self->indexNext(run);
                        });
  };
  if (!config_.embeddings || work.chunks.empty()) {
    put({});
    return;
  }
  auto texts = std::make_shared<std::vector<std::string>>();
  for (const kb::Chunk& c : work.chunks) {
    texts->push_back(embeddingInput(c));
  }
  embedAll(texts, 0, std::make_shared<std::vector<std::vector<float>>>(),
           [self, run, put](std::string error, std::vector<std::vector<float>> vectors) {
             if (!error.empty()) {
               // Not stored, so the next sync tries this file again.
               run->report.errors.push_back(run->work[run->next].name + ": " + error);
               ++run->next;
               self->indexNext(run);
               return;
             }
             put(std::move(vectors));
           });
}

void KnowledgeBase::deleteNext(const std::shared_ptr<SyncRun>& run) {
  if (run->next >= run->deletions.size()) {
    loadVectors(run);
    return;
  }
  auto self = shared_from_this();
  storage_.call(waflow::storage::kKbDelete,
                {{"knowledge", config_.id}, {"path", run->deletions[run->next]}},
                [self, run](const plugin::CallOutcome& outcome, const json&) {
                  if (outcome.ok()) {
                    ++run->report.removed;
                  } else {
                    run->report.errors.push_back(run->deletions[run->next] +
                                                 ": the storage failed deleting its index (" +
                                                 outcome.error + ")");
                  }
                  ++run->next;
                  self->deleteNext(run);
                });
}

void KnowledgeBase::loadVectors(const std::shared_ptr<SyncRun>& run) {
  if (!config_.embeddings) {
    finishSync(run);
    return;
  }
  auto self = shared_from_this();
  storage_.call(
      waflow::storage::kKbVectors, {{"knowledge", config_.id}},
      [self, run](const plugin::CallOutcome& outcome, json output) {
        if (!outcome.ok()) {
          run->report.errors.push_back("the storage failed loading the embeddings (" +
                                       outcome.error + ")");
          self->finishSync(run);
          return;
        }
        auto vectors = std::make_shared<std::vector<Vector>>();
        for (const json& v : output.value("vectors", json::array())) {
          vectors->push_back({v.value("path", ""), v.value("title", ""), v.value("text", ""),
                              normalised(v.value("embedding", json::array()))});
        }
        {
          std::lock_guard lock(self->mutex_);
          self->vectors_ = std::move(vectors);
        }
        self->finishSync(run);
      });
}

void KnowledgeBase::finishSync(const std::shared_ptr<SyncRun>& run) {
  std::vector<std::function<void(SyncReport)>> callers;
  bool again = false;
  {
    std::lock_guard lock(mutex_);
    clean_ = run->report.errors.empty();
    callers = std::move(current_);
    current_.clear();
    again = !waiting_.empty();
    syncing_ = again;
  }
  const SyncReport& r = run->report;
  if (r.indexed > 0 || r.removed > 0) {
    logger_->info("knowledge '{}': indexed {} file(s) ({} chunks), removed {}, unchanged {}",
                  config_.id, r.indexed, r.chunks, r.removed, r.unchanged);
  }
  for (const std::string& error : r.errors) {
    logger_->warn("knowledge '{}': {}", config_.id, error);
  }
  for (auto& done : callers) {
    if (done) {
      done(r);
    }
  }
  if (again) {
    startSync();
  }
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
  http_->send(std::move(request), [expected, url, done = std::move(done)](ClientResponse r) {
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
    json parsed = json_input::parseOrDiscarded(r.body);
    const json* data = nullptr;
    if (parsed.is_object()) {
      if (auto it = parsed.find("data"); it != parsed.end() && it->is_array()) {
        data = &*it;
      }
    }
    if (data == nullptr) {
      done("the embeddings endpoint " + url + " answered without a data array", {});
      return;
    }
    std::vector<std::vector<float>> vectors(expected);
    for (std::size_t i = 0; i < data->size(); ++i) {
      const json& item = (*data)[i];
      std::size_t index = item.contains("index") && item["index"].is_number_unsigned()
                              ? item["index"].get<std::size_t>()
                              : i;
      auto embedding = item.find("embedding");
      if (index >= expected || embedding == item.end() || !embedding->is_array() ||
          embedding->empty()) {
        done("the embeddings endpoint " + url + " answered an invalid data[" + std::to_string(i) +
                 "]",
             {});
        return;
      }
      std::vector<float>& v = vectors[index];
      v.reserve(embedding->size());
      for (const json& x : *embedding) {
        v.push_back(x.is_number() ? x.get<float>() : 0.0F);
      }
    }
    for (std::size_t i = 0; i < expected; ++i) {
      if (vectors[i].empty()) {
        done(
            "the embeddings endpoint " + url + " answered no vector for input " + std::to_string(i),
            {});
        return;
      }
    }
    done("", std::move(vectors));
  });
}

// ---- search --------------------------------------------------------------------------

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
  struct Pending {
    std::mutex mutex;
    int remaining = 2;
    std::string storage_error;
    std::vector<kb::Passage> bm25;
    std::vector<std::pair<double, std::size_t>> nearest;  // cosine, index into vectors
    bool embedded = false;
  };
  auto pending = std::make_shared<Pending>();
  auto self = shared_from_this();
  auto finish = [self, pending, vectors, limit, hybrid, done = std::move(done)] {
    SearchResult result;
    if (!pending->storage_error.empty()) {
      result.error = pending->storage_error;
      done(std::move(result));
      return;
    }
    if (!hybrid || !pending->embedded) {
      result.passages = std::move(pending->bm25);
      if (result.passages.size() > limit) {
        result.passages.resize(limit);
      }
      done(std::move(result));
      return;
    }
    // Reciprocal rank fusion, keyed by (path, title, text): a chunk found by both rankings
    // adds both contributions.
    struct Fused {
      kb::Passage passage;
      double score = 0;
      std::size_t first_seen = 0;
    };
    std::map<std::tuple<std::string, std::string, std::string>, Fused> fused;
    std::size_t order = 0;
    auto add = [&](kb::Passage p, std::size_t rank) {
      auto key = std::make_tuple(p.path, p.title, p.text);
      auto [it, inserted] = fused.try_emplace(std::move(key));
      if (inserted) {
        it->second.passage = std::move(p);
        it->second.first_seen = order++;
      }
      it->second.score += 1.0 / (kRrfK + static_cast<double>(rank) + 1.0);
    };
    for (std::size_t i = 0; i < pending->bm25.size(); ++i) {
      add(pending->bm25[i], i);
    }
    for (std::size_t i = 0; i < pending->nearest.size(); ++i) {
      const Vector& v = (*vectors)[pending->nearest[i].second];
      add({self->config_.id, v.path, v.title, v.text, 0}, i);
    }
    std::vector<Fused> ranked;
    for (auto& [key, f] : fused) {
      ranked.push_back(std::move(f));
    }
    std::sort(ranked.begin(), ranked.end(), [](const Fused& a, const Fused& b) {
      return a.score != b.score ? a.score > b.score : a.first_seen < b.first_seen;
    });
    for (std::size_t i = 0; i < ranked.size() && i < limit; ++i) {
      ranked[i].passage.score = ranked[i].score;
      result.passages.push_back(std::move(ranked[i].passage));
    }
    result.used_embeddings = true;
    done(std::move(result));
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
      std::vector<float> query = normalised(numbers);
      std::vector<std::pair<double, std::size_t>> scored;
      for (std::size_t i = 0; i < vectors->size(); ++i) {
        const std::vector<float>& unit = (*vectors)[i].unit;
        if (unit.size() != query.size()) {
          continue;  // indexed with another model; the next sync re-embeds
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
      pending->nearest = std::move(scored);
      pending->embedded = true;
    }
    arrive();
  });
}

}  // namespace waflow::core::knowledge
