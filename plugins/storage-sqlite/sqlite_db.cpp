#include "sqlite_db.h"

namespace waflow::storage_sqlite {

waflow::Rc SqliteError::rc() const noexcept {
  switch (code_ & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_FULL:
      return waflow::Rc::kRetry;
    default:
      return waflow::Rc::kError;
  }
}

Stmt::~Stmt() {
  if (stmt_ != nullptr) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
}

Stmt& Stmt::bind(int index, std::string_view value) {
  int rc =
      sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK) {
    fail(rc);
  }
  return *this;
}

Stmt& Stmt::bindRef(int index, std::string_view value) {
  int rc =
      sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_STATIC, SQLITE_UTF8);
  if (rc != SQLITE_OK) {
    fail(rc);
  }
  return *this;
}

Stmt& Stmt::bind(int index, int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK) {
    fail(rc);
  }
  return *this;
}

Stmt& Stmt::bindNull(int index) {
  int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK) {
    fail(rc);
  }
  return *this;
}

Stmt& Stmt::bindOptional(int index, const std::optional<std::string>& value) {
  return value ? bind(index, std::string_view(*value)) : bindNull(index);
}

bool Stmt::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) {
    return true;
  }
  if (rc == SQLITE_DONE) {
    return false;
  }
  fail(rc);
}

void Stmt::run() {
  while (step()) {
  }
}

bool Stmt::isNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

int64_t Stmt::int64(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

std::string Stmt::text(int column) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  int n = sqlite3_column_bytes(stmt_, column);
  return p == nullptr ? std::string() : std::string(p, static_cast<std::size_t>(n));
}

std::optional<std::string> Stmt::optionalText(int column) const {
  if (isNull(column)) {
    return std::nullopt;
  }
  return text(column);
}

void Stmt::fail(int rc) const {
  sqlite3* db = sqlite3_db_handle(stmt_);
  int code = sqlite3_extended_errcode(db);
  throw SqliteError(code != SQLITE_OK ? code : rc, sqlite3_errmsg(db));
}

Db::Db(const Options& options) : path_(options.path) {
  // SQLite's memory statistics take a global mutex on every allocation; nothing here reads
  // them. Only possible before SQLite initialises, so once, before the first connection (a
  // later call is refused with SQLITE_MISUSE and changes nothing).
  static const int kNoMemoryStatistics = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  (void)kNoMemoryStatistics;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
  if (options.create) {
    flags |= SQLITE_OPEN_CREATE;
  }
  int rc = sqlite3_open_v2(path_.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw SqliteError(rc, "cannot open " + path_ + ": " + message);
  }
  sqlite3_busy_timeout(db_, options.busy_timeout_ms);
  // WAL lets readers run beside the single writer; with synchronous=FULL each
  // commit's WAL frames are fsynced before COMMIT returns.
  exec("PRAGMA journal_mode=WAL");
  exec(options.synchronous_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
  exec("PRAGMA foreign_keys=ON");
  exec("PRAGMA temp_store=MEMORY");
  if (options.cache_kib > 0) {
    std::string pragma = "PRAGMA cache_size=-" + std::to_string(options.cache_kib);
    exec(pragma.c_str());
  }
  if (options.create) {
    // The writer: a checkpoint every 10,000 pages (about 40 MB of WAL) instead of 1,000 copies
    // a page that many commits wrote once, not once per 1,000 frames.
    exec("PRAGMA wal_autocheckpoint=10000");
  }
  if (options.query_only) {
    exec("PRAGMA query_only=ON");
  }
}

Db::~Db() {
  for (auto& [sql, stmt] : cache_) {
    sqlite3_finalize(stmt);
  }
  sqlite3_close_v2(db_);
}

void Db::exec(const char* sql) {
  char* message = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    std::string text = message != nullptr ? message : sqlite3_errstr(rc);
    sqlite3_free(message);
    throw SqliteError(sqlite3_extended_errcode(db_), text);
  }
}

Stmt Db::prepare(const char* sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end()) {
    return Stmt(it->second);
  }
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    fail(rc, sql);
  }
  cache_.emplace(sql, stmt);
  return Stmt(stmt);
}

int64_t Db::userVersion() {
  Stmt s = prepare("PRAGMA user_version");
  s.step();
  return s.int64(0);
}

void Db::fail(int rc, std::string_view what) const {
  int code = sqlite3_extended_errcode(db_);
  throw SqliteError(code != SQLITE_OK ? code : rc,
                    std::string(sqlite3_errmsg(db_)) + " (in: " + std::string(what) + ")");
}

}  // namespace waflow::storage_sqlite
