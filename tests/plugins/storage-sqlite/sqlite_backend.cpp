#include "sqlite_backend.h"

#include <sqlite3.h>

#include <stdexcept>

namespace waflow::test::storage {
namespace {

// An open connection to the test's database file.
class Connection {
 public:
  explicit Connection(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
      std::string message = sqlite3_errmsg(db_);
      sqlite3_close(db_);
      throw std::runtime_error("cannot open " + path + ": " + message);
    }
    sqlite3_busy_timeout(db_, 10000);
  }
  ~Connection() { sqlite3_close(db_); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void exec(const std::string& sql) {
    char* error = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
      std::string message = error != nullptr ? error : "unknown error";
      sqlite3_free(error);
      throw std::runtime_error(sql + ": " + message);
    }
  }
  int64_t userVersion() {
    sqlite3_stmt* stmt = nullptr;
    sqlite3_prepare_v2(db_, "PRAGMA user_version", -1, &stmt, nullptr);
    int64_t version = sqlite3_step(stmt) == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : -1;
    sqlite3_finalize(stmt);
    return version;
  }

 private:
  sqlite3* db_ = nullptr;
};

std::string pathOf(const Json& config) {
  return config.at("path").get<std::string>();
}

}  // namespace

Backend sqliteBackend() {
  Backend b;
  b.name = "sqlite";
  b.plugin = "storage-sqlite";
  b.config = [](const std::filesystem::path& dir) {
    return Json{{"path", (dir / "conformance.db").string()},
                {"busy_timeout", 10000},
                {"readers", 2},
                {"max_batch", 1000},
                {"synchronous", "full"}};
  };
  // BEGIN IMMEDIATE takes SQLite's single write lock; the plugin's writer then
  // waits in its own BEGIN (busy_timeout) while operations queue behind it.
  b.block_writes = [](const Json& config) -> std::shared_ptr<void> {
    auto c = std::make_shared<Connection>(pathOf(config));
    c->exec("BEGIN IMMEDIATE");
    return std::shared_ptr<void>(nullptr, [c](void*) { c->exec("ROLLBACK"); });
  };
  b.schema_version = [](const Json& config) { return Connection(pathOf(config)).userVersion(); };
  b.set_schema_version = [](const Json& config, int64_t version) {
    Connection(pathOf(config)).exec("PRAGMA user_version = " + std::to_string(version));
  };
  return b;
}

}  // namespace waflow::test::storage
