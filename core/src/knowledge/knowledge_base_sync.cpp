// KnowledgeBase::sync() (knowledge_base.h): the pipeline that brings a knowledge base's index in
// storage up to date with its source files. Its steps run one after the other, each started by
// the completion of the one before:
//   listAndCompare  lists the files, reads those whose stamp (mtime, size) changed, and asks
//                   storage for the stored checksums (kb.documents); planWork() then chunks
//                   and analyses every file whose checksum differs;
//   indexNext       embeds (when configured) and stores (kb.put) each changed file in turn;
//   deleteNext      deletes (kb.delete) the documents whose file is gone;
//   loadVectors     reloads the chunk vectors search compares with (kb.vectors);
//   finishSync      reports to the callers and starts the next run if one was asked for.
//
// Thread-safety: one run at a time (sync() queues callers while one runs); a run's state
// (SyncRun) is touched by one step at a time; the KnowledgeBase fields are read and written
// under its mutex. See knowledge_base.h.
#include "knowledge/knowledge_base.h"

#include "knowledge/analyzer.h"
#include "knowledge/chunker.h"
#include "knowledge/embeddings.h"
#include "storage/storage_client.h"

#include <waflow/sdk/storage.hpp>

#include <algorithm>
#include <chrono>
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

// A file's modification time as nanoseconds since the file clock's epoch.
int64_t mtimeOf(const fs::file_time_type& t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

// What the stored checksums (the answer to kb.documents) leave to do: the files whose checksum
// differs, read (if not yet) and chunked, go to run.work; the documents whose file is gone (and
// was not merely unreadable) go to run.deletions, sorted.
void planWork(const KnowledgeBase& self, KnowledgeBase::SyncRun& run, const json& output) {
  using SyncRun = KnowledgeBase::SyncRun;
  std::unordered_map<std::string, std::string> stored;
  for (const json& d : output.value("documents", json::array())) {
    stored[d.value("path", "")] = d.value("checksum", "");
  }
  for (SyncRun::File& file : run.files) {
    auto it = stored.find(file.source.name);
    if (it != stored.end() && it->second == file.checksum) {
      ++run.report.unchanged;
      continue;
    }
    if (!file.read) {
      std::string error;
      if (!kb::readFile(file.source.path, file.contents, error)) {
        run.report.errors.push_back(file.source.name + ": " + error);
        continue;
      }
      file.checksum = self.documentChecksum(file.contents);
    }
    kb::ChunkResult chunked =
        kb::chunkFile(file.source.name, file.contents, self.config().chunk_size);
    if (!chunked.error.empty()) {
      run.report.errors.push_back(file.source.name + ": " + chunked.error);
      continue;
    }
    run.work.push_back({file.source.name, file.checksum, std::move(chunked.chunks)});
    file.contents.clear();
  }
  std::set<std::string> names;
  for (const SyncRun::File& file : run.files) {
    names.insert(file.source.name);
  }
  for (const auto& [path, checksum] : stored) {
    if (!names.contains(path) && !run.unreadable.contains(path)) {
      run.deletions.push_back(path);
    }
  }
  std::sort(run.deletions.begin(), run.deletions.end());
}

// The chunks of kb.put: each with its analysed terms and, when given, its embedding.
json chunksForStorage(const std::vector<kb::Chunk>& chunks,
                      const std::vector<std::vector<float>>& embeddings) {
  json out = json::array();
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    const kb::Chunk& c = chunks[i];
    json chunk = {{"title", c.title},
                  {"text", c.text},
                  {"title_terms", kb::joinTerms(kb::analyze(c.title))},
                  {"terms", kb::joinTerms(kb::analyze(c.text + "\n" + c.extra))}};
    if (i < embeddings.size() && !embeddings[i].empty()) {
      chunk["embedding"] = embeddings[i];
    }
    out.push_back(std::move(chunk));
  }
  return out;
}

}  // namespace

// ---- the steps of a sync ------------------------------------------------------------

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
  storage_.call(waflow::storage::kKbDocuments, {{"knowledge", config_.id}},
                [self, run](const plugin::CallOutcome& outcome, json output) {
                  if (!outcome.ok()) {
                    run->report.errors.push_back("the storage failed listing the indexed files (" +
                                                 outcome.error + ")");
                    self->finishSync(run);
                    return;
                  }
                  planWork(*self, *run, output);
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
    json input = {{"knowledge", self->config_.id},
                  {"path", w.name},
                  {"checksum", w.checksum},
                  {"chunks", chunksForStorage(w.chunks, embeddings)}};
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

}  // namespace waflow::core::knowledge
