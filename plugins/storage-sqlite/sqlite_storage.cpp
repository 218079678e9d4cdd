// storage-sqlite: waflow's embedded default storage, one SQLite file in WAL
// mode.
//
// Writes use group commit: one writer thread owns the only write connection;
// every write operation is queued, and the writer commits all that queued up
// while it was busy (up to `max_batch`) in ONE transaction, each operation in
// its own SAVEPOINT so a failure rolls back that operation alone. Each caller
// is answered after the COMMIT that made its write durable, so concurrent
// webhooks share one fsync instead of paying one each. Read-only operations
// run on `readers` threads, each with its own connection; WAL lets them read
// beside the writer. Input is validated on the caller's thread before it is
// queued, and callers are resumed through host.post(), never on a database
// thread, so no caller thread ever blocks on SQLite.
//
// One process at a time: start() takes an exclusive flock on "<path>.lock"
// beside the database and refuses to start while another process holds it (two
// daemons on one file would both send the same outbox messages); stop()
// releases it.
//
// Thread-safety: execute() may be called from any thread at once; start() and
// stop() are called once each by the host.
#include "operations.h"
#include "schema.h"
#include "sqlite_db.h"

#include <waflow/sdk/plugin.hpp>
#include <waflow/sdk/storage.hpp>

#include <fcntl.h>
#include <pthread.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <coroutine>
#include <cstring>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace waflow::storage_sqlite {
namespace {

constexpr const char* kSchema = R"({
  "type": "object",
  "properties": {
    "path": {"type": "string", "default": "",
             "description": "The database file. Empty: waflow.db in this instance's data directory (<data_dir>/plugins/<id>/). A relative path is taken from the daemon's working directory; missing directories are created."},
    "busy_timeout": {"type": "string", "format": "duration", "minimum": 0, "maximum": 3600000, "default": "5s",
                     "description": "How long an operation waits for a lock another process holds on the file (the sqlite3 shell, a backup) before it fails with retry."},
    "readers": {"type": "integer", "minimum": 1, "maximum": 16, "default": 2,
                "description": "Threads, each with its own connection, that run read-only operations beside the single writer."},
    "max_batch": {"type": "integer", "minimum": 1, "maximum": 100000, "default": 1000,
                  "description": "Group commit: at most this many queued write operations are committed in one transaction."},
    "cache_mib": {"type": "integer", "minimum": 1, "maximum": 4096, "default": 32,
                  "description": "MiB of database pages the writer keeps in memory. Filled only as the database grows; incoming messages touch index pages at random, so a cache that holds them saves reading them back."},
    "synchronous": {"type": "string", "enum": ["normal", "full"], "default": "full",
                    "description": "full: every commit is fsynced before it is answered, so an answered write survives a power loss. normal: an answered write survives a crash of the daemon, but the last commits may be lost if the machine loses power."}
  }
})";

// Settings from the validated config (defaults filled by the host; filled
// here too so a bare {} works).
struct Settings {
  std::string path;
  int busy_timeout_ms = 5000;
  int readers = 2;
  std::size_t max_batch = 1000;
  bool synchronous_full = true;
  int cache_mib = 32;
};

int64_t intSetting(const waflow::Config& config, const char* key, int64_t fallback, int64_t min,
                   int64_t max, const char* what) {
  auto it = config.find(key);
  if (it == config.end() || it->is_null()) {
    return fallback;
  }
  if (!it->is_number_integer() || it->get<int64_t>() < min || it->get<int64_t>() > max) {
    throw waflow::Error(waflow::Rc::kInvalid, std::string("storage-sqlite: ") + key + " must be " +
                                                  what + " (got " + it->dump() + ")");
  }
  return it->get<int64_t>();
}

Settings parseSettings(const waflow::Config& config) {
  if (!config.is_object()) {
    throw waflow::Error(waflow::Rc::kInvalid, "storage-sqlite: the config must be an object");
  }
  Settings s;
  auto path = config.find("path");
  if (path != config.end() && !path->is_null()) {
    if (!path->is_string()) {
      throw waflow::Error(waflow::Rc::kInvalid, "storage-sqlite: path must be a string");
    }
    s.path = path->get<std::string>();
  }
  s.busy_timeout_ms = static_cast<int>(intSetting(config, "busy_timeout", 5000, 0, 3600000,
                                                  "a duration of at most 1h, e.g. \"5s\""));
  s.readers = static_cast<int>(intSetting(config, "readers", 2, 1, 16, "between 1 and 16"));
  s.max_batch = static_cast<std::size_t>(
      intSetting(config, "max_batch", 1000, 1, 100000, "between 1 and 100000"));
  s.cache_mib =
      static_cast<int>(intSetting(config, "cache_mib", 32, 1, 4096, "between 1 and 4096"));
  auto synchronous = config.find("synchronous");
  std::string sync = synchronous == config.end() || synchronous->is_null() ? std::string("full")
                     : synchronous->is_string() ? synchronous->get<std::string>()
                                                : synchronous->dump();
  if (sync != "full" && sync != "normal") {
    throw waflow::Error(
        waflow::Rc::kInvalid,
        "storage-sqlite: synchronous must be \"normal\" or \"full\" (got \"" + sync + "\")");
  }
  s.synchronous_full = sync == "full";
  return s;
}

// The exclusive use of one database file by this process: an flock on
// "<database>.lock", holding the holder's pid for the message another process
// gets. The kernel drops the lock when the process dies, so a crash never
// leaves it behind; the file itself stays (deleting it could let two
// processes lock two different files of the same name).
class DatabaseLock {
 public:
  explicit DatabaseLock(const std::string& database) : path_(database + ".lock") {
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) {
      throw waflow::Error(waflow::Rc::kError, "storage-sqlite: cannot open the lock file " + path_ +
                                                  ": " + std::strerror(errno));
    }
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      int error = errno;
      std::string holder = holderPid();
      ::close(fd_);
      if (error == EWOULDBLOCK) {
        throw waflow::Error(waflow::Rc::kError,
                            "storage-sqlite: another process (pid " + holder +
                                ") is using the database " + database +
                                "; run one waflow daemon per database, or give this one its own "
                                "storage.config.path");
      }
      throw waflow::Error(waflow::Rc::kError,
                          "storage-sqlite: cannot lock " + path_ + ": " + std::strerror(error));
    }
    // Only the message another process shows depends on this; the lock holds
    // whether or not it could be written.
    std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd_, 0) == 0) {
      ssize_t written = ::pwrite(fd_, pid.data(), pid.size(), 0);
      (void)written;
    }
  }
  ~DatabaseLock() { ::close(fd_); }
  DatabaseLock(const DatabaseLock&) = delete;
  DatabaseLock& operator=(const DatabaseLock&) = delete;

 private:
  // The pid the holder wrote, or "unknown" (it may not have written it yet).
  std::string holderPid() const {
    char buffer[32] = {};
    ssize_t n = ::pread(fd_, buffer, sizeof(buffer) - 1, 0);
    std::string text = n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : std::string();
    std::size_t digits = text.find_first_not_of("0123456789");
    text = text.substr(0, digits);
    return text.empty() ? "unknown" : text;
  }

  std::string path_;
  int fd_ = -1;
};

// One queued operation. It lives in the awaiting coroutine's frame until the
// worker resumes that coroutine.
struct Job {
  const Operation* op = nullptr;
  Json input;
  std::coroutine_handle<> handle;
  waflow::Rc rc = waflow::Rc::kOk;
  std::string output;
  std::string error;
};

// A closable multi-producer queue of jobs. Closed until opened; closing keeps
// what is queued so workers drain it.
class JobQueue {
 public:
  void open() {
    std::lock_guard lock(mutex_);
    closed_ = false;
  }
  void close() {
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
    }
    ready_.notify_all();
  }
  bool push(Job* job) {
    {
      std::lock_guard lock(mutex_);
      if (closed_) {
        return false;
      }
      jobs_.push_back(job);
    }
    ready_.notify_one();
    return true;
  }
  // Waits for work and moves up to `max` jobs into `out`. Returns false once
  // the queue is closed and empty.
  bool pop(std::size_t max, std::vector<Job*>& out) {
    std::unique_lock lock(mutex_);
    ready_.wait(lock, [this] { return !jobs_.empty() || closed_; });
    if (jobs_.empty()) {
      return false;
    }
    std::size_t n = std::min(max, jobs_.size());
    out.insert(out.end(), jobs_.begin(), jobs_.begin() + static_cast<std::ptrdiff_t>(n));
    jobs_.erase(jobs_.begin(), jobs_.begin() + static_cast<std::ptrdiff_t>(n));
    return true;
  }

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Job*> jobs_;
  bool closed_ = true;
};

class SqliteStorage {
 public:
  static constexpr waflow::PluginInfo kInfo{
      waflow::Kind::kStorage, "storage-sqlite", "0.1.0",
      "Embedded SQLite storage (WAL, group commit): waflow's default", kSchema};

  SqliteStorage(waflow::Host& host, const waflow::Config& config)
      : host_(host), settings_(parseSettings(config)) {}

  ~SqliteStorage() { stop(); }
  SqliteStorage(const SqliteStorage&) = delete;
  SqliteStorage& operator=(const SqliteStorage&) = delete;

  void start() {
    std::filesystem::path file =
        settings_.path.empty() ? std::filesystem::path(std::string(host_.dataDir())) / "waflow.db"
                               : std::filesystem::path(settings_.path);
    if (file.has_parent_path()) {
      std::error_code ec;
      std::filesystem::create_directories(file.parent_path(), ec);
      if (ec) {
        throw waflow::Error(waflow::Rc::kError, "storage-sqlite: cannot create the directory " +
                                                    file.parent_path().string() + " for " +
                                                    file.filename().string() + ": " + ec.message());
      }
    }
    lock_ = std::make_unique<DatabaseLock>(file.string());
    Db::Options options;
    options.path = file.string();
    options.busy_timeout_ms = settings_.busy_timeout_ms;
    options.synchronous_full = settings_.synchronous_full;
    int64_t found = 0;
    try {
      options.create = true;
      // Every write goes through the writer, so it alone gets the large page cache.
      options.cache_kib = settings_.cache_mib * 1024;
      writer_db_ = std::make_unique<Db>(options);
      found = migrate(*writer_db_);
      {
        Stmt cache = writer_db_->prepare("PRAGMA cache_size");
        cache.step();
        writer_cache_kib_ = -cache.int64(0);  // negative: KiB; what SQLite actually took
      }
      options.create = false;
      options.cache_kib = 0;
      options.query_only = true;
      for (int i = 0; i < settings_.readers; ++i) {
        reader_dbs_.push_back(std::make_unique<Db>(options));
      }
    } catch (const SqliteError& e) {
      closeDatabases();
      throw waflow::Error(e.rc(), std::string("storage-sqlite: ") + e.what());
    } catch (...) {
      closeDatabases();
      throw;
    }
    writes_.open();
    reads_.open();
    writer_ = std::thread([this] { writerLoop(); });
    for (auto& db : reader_dbs_) {
      readers_.emplace_back([this, d = db.get()] { readerLoop(*d); });
    }
    std::string migrated = found == currentSchemaVersion()
                               ? ""
                               : " (migrated from version " + std::to_string(found) + ")";
    host_.info("storage-sqlite: " + options.path + ", schema version " +
               std::to_string(currentSchemaVersion()) + migrated + ", " +
               std::to_string(settings_.readers) +
               " readers, synchronous=" + (settings_.synchronous_full ? "full" : "normal"));
  }

  // Finishes everything already queued (each caller still gets its answer),
  // refuses new operations, checkpoints the WAL into the main file and closes.
  void stop() {
    writes_.close();
    reads_.close();
    if (writer_.joinable()) {
      writer_.join();
    }
    for (auto& t : readers_) {
      t.join();
    }
    readers_.clear();
    reader_dbs_.clear();
    if (writer_db_) {
      try {
        writer_db_->exec("PRAGMA wal_checkpoint(TRUNCATE)");
      } catch (const SqliteError& e) {
        // Not fatal: the WAL is replayed on the next open.
        host_.warn(std::string("storage-sqlite: checkpoint at shutdown failed: ") + e.what());
      }
    }
    closeDatabases();
  }

  waflow::Task<waflow::CallResult> execute(std::string operation, waflow::Config input) {
    if (operation == waflow::storage::kStats) {
      co_return waflow::CallResult{stats().dump()};
    }
    if (operation == waflow::storage::kDescribe) {
      co_return waflow::CallResult{describe().dump()};
    }
    const Operation* op = findOperation(operation);
    if (op == nullptr) {
      throw waflow::Error(waflow::Rc::kUnsupported,
                          "storage-sqlite: unknown operation '" + operation +
                              "' (see <waflow/sdk/storage.hpp> for the operations)");
    }
    op->validate(input);
    co_return co_await Submit(*this, op, std::move(input));
  }

 private:
  // co_await Submit(...) queues the job and suspends; the worker that runs it
  // resumes the coroutine through host.post(), on a host thread.
  class Submit {
   public:
    Submit(SqliteStorage& storage, const Operation* op, Json input) : storage_(storage) {
      job_.op = op;
      job_.input = std::move(input);
    }
    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> handle) {
      job_.handle = handle;
      JobQueue& queue = job_.op->writes ? storage_.writes_ : storage_.reads_;
      if (queue.push(&job_)) {
        return true;  // from here a worker owns job_; do not touch it
      }
      job_.rc = waflow::Rc::kRetry;
      job_.error = "storage-sqlite is not running (stopped, or start() failed)";
      return false;
    }
    waflow::CallResult await_resume() {
      if (job_.rc != waflow::Rc::kOk) {
        throw waflow::Error(job_.rc, job_.error);
      }
      return waflow::CallResult{std::move(job_.output)};
    }

   private:
    SqliteStorage& storage_;
    Job job_;
  };

  Json stats() const {
    return {{"writes", writes_done_.load(std::memory_order_relaxed)},
            {"commits", commits_.load(std::memory_order_relaxed)},
            {"batches_max", batches_max_.load(std::memory_order_relaxed)},
            {"cache_mib", writer_cache_kib_ / 1024},
            {"schema_version", currentSchemaVersion()}};
  }

  // Closes the connections, then lets another process have the file.
  void closeDatabases() {
    reader_dbs_.clear();
    writer_db_.reset();
    lock_.reset();
  }

  void writerLoop() {
    // Named so `top -H` and profilers show where the storage's time goes.
    pthread_setname_np(pthread_self(), "sqlite-writer");
    std::vector<Job*> batch;
    while (writes_.pop(settings_.max_batch, batch)) {
      commitBatch(batch);
      for (Job* job : batch) {
        resume(job);
      }
      batch.clear();
    }
  }

  void readerLoop(Db& db) {
    pthread_setname_np(pthread_self(), "sqlite-reader");
    std::vector<Job*> one;
    while (reads_.pop(1, one)) {
      runRead(db, *one.front());
      resume(one.front());
      one.clear();
    }
  }

  // The job must not be touched after this: the resumed coroutine owns it.
  void resume(Job* job) {
    host_.post([handle = job->handle] { handle.resume(); });
  }

  static void fail(Job& job, waflow::Rc rc, std::string message) {
    job.rc = rc;
    job.error = std::move(message);
    job.output.clear();
  }

  // Fails every job that had not already failed on its own.
  static void failRest(const std::vector<Job*>& batch, waflow::Rc rc, const std::string& message) {
    for (Job* job : batch) {
      if (job->rc == waflow::Rc::kOk) {
        fail(*job, rc, message);
      }
    }
  }

  // Runs one operation; on failure records it in the job and returns false.
  static bool runOne(Db& db, Job& job) {
    try {
      job.op->run(db, job.input, job.output);
      return true;
    } catch (const waflow::Error& e) {
      fail(job, e.code(), e.what());
    } catch (const SqliteError& e) {
      fail(job, e.rc(), "storage-sqlite: " + std::string(job.op->name) + ": " + e.what());
    } catch (const std::exception& e) {
      fail(job, waflow::Rc::kError,
           "storage-sqlite: " + std::string(job.op->name) + ": " + e.what());
    }
    return false;
  }

  // Group commit: one transaction for the whole batch, every caller answered
  // after the single COMMIT. The operations first run back to back. If one
  // fails, the transaction is rolled back and the batch runs again with a
  // SAVEPOINT per operation, so the failing one is undone alone. (A SAVEPOINT
  // makes SQLite copy every page the operation touches, a fifth of the cost of
  // a small write; failures are rare, so the common path goes without.)
  void commitBatch(const std::vector<Job*>& batch) {
    Db& db = *writer_db_;
    try {
      db.prepare("BEGIN IMMEDIATE").run();
      auto failed =
          std::find_if(batch.begin(), batch.end(), [&db](Job* job) { return !runOne(db, *job); });
      if (failed != batch.end()) {
        if (!db.inTransaction()) {
          // SQLite rolled the whole transaction back (disk full, I/O error):
          // nothing of this batch was kept.
          failRest(batch, (*failed)->rc, (*failed)->error);
          return;
        }
        db.prepare("ROLLBACK").run();
        if (batch.size() == 1) {
          return;  // its error is recorded, and nothing else was in the transaction
        }
        for (Job* job : batch) {
          job->rc = waflow::Rc::kOk;
          job->output.clear();
          job->error.clear();
        }
        db.prepare("BEGIN IMMEDIATE").run();
        if (!runIsolated(db, batch)) {
          return;
        }
      }
      db.prepare("COMMIT").run();
    } catch (const SqliteError& e) {
      abandon(db, batch, e.rc(),
              std::string("storage-sqlite: write transaction failed: ") + e.what());
      return;
    } catch (const std::exception& e) {
      abandon(db, batch, waflow::Rc::kError,
              std::string("storage-sqlite: write transaction failed: ") + e.what());
      return;
    }
    writes_done_.fetch_add(batch.size(), std::memory_order_relaxed);
    commits_.fetch_add(1, std::memory_order_relaxed);
    uint64_t size = batch.size();
    uint64_t max = batches_max_.load(std::memory_order_relaxed);
    while (size > max && !batches_max_.compare_exchange_weak(max, size)) {
    }
  }

  // Runs each operation of the open transaction in its own SAVEPOINT, rolling
  // back a failing one alone. False when SQLite rolled back the whole
  // transaction (disk full, I/O error): then every job has failed.
  static bool runIsolated(Db& db, const std::vector<Job*>& batch) {
    for (Job* job : batch) {
      db.prepare("SAVEPOINT op").run();
      if (runOne(db, *job)) {
        db.prepare("RELEASE op").run();
        continue;
      }
      if (!db.inTransaction()) {
        failRest(batch, job->rc, job->error);
        return false;
      }
      db.prepare("ROLLBACK TO op").run();
      db.prepare("RELEASE op").run();
    }
    return true;
  }

  // Rolls back a transaction that could not be completed; none of the batch
  // was kept, so every caller gets the error.
  static void abandon(Db& db, const std::vector<Job*>& batch, waflow::Rc rc,
                      const std::string& message) {
    failRest(batch, rc, message);
    if (db.inTransaction()) {
      try {
        db.exec("ROLLBACK");
      } catch (const SqliteError&) {
        // Nothing more to do here; the next BEGIN reports a connection still broken.
      }
    }
  }

  // Reads run in one read transaction: a consistent snapshot across the
  // operation's statements.
  static void runRead(Db& db, Job& job) {
    try {
      db.prepare("BEGIN").run();
    } catch (const SqliteError& e) {
      fail(job, e.rc(), std::string("storage-sqlite: ") + e.what());
      return;
    }
    runOne(db, job);
    // A read transaction has nothing to keep: whatever COMMIT says, the
    // answer stands. ROLLBACK only makes sure no snapshot stays open.
    try {
      db.prepare("COMMIT").run();
    } catch (const SqliteError&) {
      try {
        db.exec("ROLLBACK");
      } catch (const SqliteError&) {
      }
    }
  }

  waflow::Host& host_;
  const Settings settings_;
  std::unique_ptr<DatabaseLock> lock_;
  std::unique_ptr<Db> writer_db_;
  std::vector<std::unique_ptr<Db>> reader_dbs_;
  JobQueue writes_;
  JobQueue reads_;
  std::thread writer_;
  std::vector<std::thread> readers_;
  std::atomic<uint64_t> writes_done_{0};
  std::atomic<uint64_t> commits_{0};
  std::atomic<uint64_t> batches_max_{0};
  int64_t writer_cache_kib_ = 0;  // set in start(), before any operation
};

}  // namespace
}  // namespace waflow::storage_sqlite

WAFLOW_PLUGIN(waflow::storage_sqlite::SqliteStorage)
