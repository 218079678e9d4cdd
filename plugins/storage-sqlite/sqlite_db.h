// Db and Stmt — a small RAII layer over the SQLite C API for storage-sqlite:
// opening a connection with the plugin's pragmas, prepared-statement caching,
// binding, stepping and errors as exceptions carrying SQLite's result code.
//
// Thread-safety: a Db and the statements it hands out belong to one thread at
// a time (connections are opened SQLITE_OPEN_NOMUTEX; each worker thread of
// the plugin owns its own).
#pragma once

#include <sqlite3.h>

#include <waflow/sdk/types.hpp>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>

namespace waflow::storage_sqlite {

// A failed SQLite call: SQLite's extended result code and its message.
class SqliteError : public std::runtime_error {
 public:
  SqliteError(int code, const std::string& message) : std::runtime_error(message), code_(code) {}
  int code() const noexcept { return code_; }
  // The result code the host sees: busy/locked/full are transient (kRetry).
  waflow::Rc rc() const noexcept;

 private:
  int code_;
};

// A cached prepared statement in use. Destroying the handle resets the
// statement and clears its bindings, ready for the next user.
class Stmt {
 public:
  explicit Stmt(sqlite3_stmt* stmt) : stmt_(stmt) {}
  Stmt(Stmt&& other) noexcept : stmt_(other.stmt_) { other.stmt_ = nullptr; }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  Stmt& operator=(Stmt&&) = delete;
  ~Stmt();

  // Parameters are 1-based, as in SQLite. bind() copies the text; bindRef()
  // does not, so `value` must stay alive and unchanged until this handle is
  // destroyed (the statement is reset then).
  Stmt& bind(int index, std::string_view value);
  Stmt& bindRef(int index, std::string_view value);
  Stmt& bind(int index, int64_t value);
  Stmt& bindNull(int index);
  Stmt& bindOptional(int index, const std::optional<std::string>& value);

  // Advances to the next row: true when a row is available, false when done.
  bool step();
  // Runs a statement that returns no rows.
  void run();

  bool isNull(int column) const;
  int64_t int64(int column) const;
  std::string text(int column) const;
  std::optional<std::string> optionalText(int column) const;

 private:
  [[noreturn]] void fail(int rc) const;
  sqlite3_stmt* stmt_;
};

class Db {
 public:
  struct Options {
    std::string path;
    int busy_timeout_ms = 5000;
    bool create = false;      // create the file when missing (the writer)
    bool query_only = false;  // reader connections refuse writes
    bool synchronous_full = true;
    int cache_kib = 0;  // the page cache's size; 0 keeps SQLite's default (2 MiB)
  };

  explicit Db(const Options& options);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // Runs one or more statements that return no rows.
  void exec(const char* sql);
  // A statement prepared once per connection and reused. `sql` must be a
  // string with static storage duration: its address is the cache key.
  Stmt prepare(const char* sql);
  // Rows changed by the last INSERT/UPDATE/DELETE on this connection.
  int64_t changes() const { return sqlite3_changes64(db_); }
  // True while a transaction is open (false after SQLite rolled one back on
  // its own, e.g. on a full disk).
  bool inTransaction() const { return sqlite3_get_autocommit(db_) == 0; }
  int64_t userVersion();
  const std::string& path() const { return path_; }

 private:
  [[noreturn]] void fail(int rc, std::string_view what) const;
  sqlite3* db_ = nullptr;
  std::string path_;
  std::unordered_map<const char*, sqlite3_stmt*> cache_;
};

}  // namespace waflow::storage_sqlite
