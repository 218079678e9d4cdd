// KnowledgeBase — one `knowledge:` entry of waflow.yaml at run time: keeps the storage index of
// its source files up to date (sync) and finds the passages that answer a question (search).
//
// Indexing: sync() lists the source files, compares each file's checksum with the one stored
// (kb.documents), chunks and analyses the files that changed (core/src/knowledge), embeds their
// chunks when embeddings are configured, and replaces them in storage (kb.put); documents whose
// file is gone are deleted (kb.delete). A file that cannot be read or parsed keeps its previous
// index and is reported. The stored checksum also covers the chunk size, the analyser version
// and the embedding model, so changing any of them re-indexes everything. A file whose
// modification time and size are unchanged since the last sync is not read again, so calling
// sync() on every watch tick is cheap; when nothing changed it makes no storage call at all.
//
// Search: the question is analysed into terms and ranked by storage's BM25 (kb.search). With
// embeddings, the question is also embedded and compared by cosine similarity with the chunk
// vectors (loaded from kb.vectors after each sync and kept in memory), and the two rankings
// are combined by reciprocal rank fusion. If the embeddings endpoint fails, BM25 alone answers.
//
// Thread-safety: create() returns a shared object; sync() and search() may be called from any
// thread, concurrently. A sync() called while one runs is merged into one more run after it.
// Callbacks run on the storage's completion thread or the HttpClient's loop (search() answers
// inline when the question has no terms and there are no embeddings), never under a lock of
// this class; they must not block. The storage instance and the HTTP client
// must outlive every callback (the daemon stops them after its handlers).
#pragma once

#include "config/config.h"
#include "http_client/http_client.h"
#include "knowledge/sources.h"
#include "storage/storage_client.h"

#include <spdlog/logger.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace waflow::core::knowledge {

class KnowledgeBase : public std::enable_shared_from_this<KnowledgeBase> {
 public:
  struct SyncReport {
    int indexed = 0;    // files (re)indexed
    int removed = 0;    // documents deleted because their file is gone
    int unchanged = 0;  // files whose stored checksum matched
    int chunks = 0;     // chunks written
    // Problems, each naming the file: "faq.csv: 12: the answer is empty ...". A file with a
    // problem keeps its previous index.
    std::vector<std::string> errors;
    bool ok() const { return errors.empty(); }
  };

  struct SearchResult {
    std::vector<knowledge::Passage> passages;  // best first
    std::string error;                         // the storage failed; passages is empty
    // Vector similarity was part of the ranking (embeddings configured, and they answered).
    bool used_embeddings = false;
  };

  // `http` is needed only when config.embeddings is set (it may be null otherwise).
  static std::shared_ptr<KnowledgeBase> create(config::KnowledgeConfig config,
                                               storage::StorageClient& storage, HttpClient* http);

  KnowledgeBase(const KnowledgeBase&) = delete;
  KnowledgeBase& operator=(const KnowledgeBase&) = delete;

  const std::string& id() const { return config_.id; }
  const config::KnowledgeConfig& config() const { return config_; }

  // Brings the index up to date with the files; `done` gets what happened. The files are listed,
  // checked and read on the calling thread.
  void sync(std::function<void(SyncReport)> done);

  // Removes the index of every knowledge base whose id is not in `ids` (one taken out of
  // waflow.yaml). `done` gets each removed id with how many documents it had, or the error.
  static void retainOnly(
      storage::StorageClient& storage, const std::vector<std::string>& ids,
      std::function<void(std::vector<std::pair<std::string, int64_t>> removed, std::string error)>
          done);

  // The `limit` passages that best answer `question` (1..50).
  void search(const std::string& question, std::size_t limit,
              std::function<void(SearchResult)> done);

  // The checksum stored for a file with this content and this configuration.
  std::string documentChecksum(std::string_view contents) const;

  // Bumped when the analyser or chunker changes what they produce, so stores re-index.
  static constexpr int kIndexVersion = 1;

  struct SyncRun;  // one sync in progress (knowledge_base_sync.cpp)
  struct Vector {
    std::string path;
    std::string title;
    std::string text;
    std::vector<float> unit;  // L2-normalised
  };
  using EmbedCallback = std::function<void(std::string error, std::vector<std::vector<float>>)>;

 private:
  KnowledgeBase(config::KnowledgeConfig config, storage::StorageClient& storage, HttpClient* http);

  void startSync();
  void listAndCompare(const std::shared_ptr<SyncRun>& run);
  void indexNext(const std::shared_ptr<SyncRun>& run);
  void deleteNext(const std::shared_ptr<SyncRun>& run);
  void loadVectors(const std::shared_ptr<SyncRun>& run);
  void finishSync(const std::shared_ptr<SyncRun>& run);
  // POSTs {base_url}/embeddings for `texts` (one request); vectors in input order.
  void embed(std::vector<std::string> texts, EmbedCallback done);
  // Embeds `texts` batch_size at a time, one request after the other.
  void embedAll(std::shared_ptr<std::vector<std::string>> texts, std::size_t from,
                std::shared_ptr<std::vector<std::vector<float>>> out, EmbedCallback done);

  const config::KnowledgeConfig config_;
  storage::StorageClient& storage_;
  HttpClient* http_;
  std::shared_ptr<spdlog::logger> logger_;

  struct FileStamp {
    int64_t mtime = 0;
    uint64_t size = 0;
    std::string checksum;
  };

  std::mutex mutex_;
  bool syncing_ = false;
  std::vector<std::function<void(SyncReport)>> waiting_;  // callers of the next run
  std::vector<std::function<void(SyncReport)>> current_;  // callers of the running one
  std::map<std::string, FileStamp> stamps_;               // by path: what the last sync read
  bool clean_ = false;  // the last sync indexed everything it listed, without errors
  std::shared_ptr<const std::vector<Vector>> vectors_ = std::make_shared<std::vector<Vector>>();
};

}  // namespace waflow::core::knowledge
