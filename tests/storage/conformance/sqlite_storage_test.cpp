// storage-sqlite beyond the storage contract: where the file goes, its
// settings, WAL, the checkpoint at shutdown, and retry while another process
// holds the write lock.
#include "sqlite_backend.h"
#include "storage_harness.h"

#include <sqlite3.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

namespace waflow::test::storage {
namespace {

using ::testing::HasSubstr;
using ::testing::IsSupersetOf;

// Rows of a one-column query, read with a separate connection.
std::vector<std::string> query(const std::filesystem::path& file, const std::string& sql) {
  sqlite3* db = nullptr;
  std::vector<std::string> rows;
  if (sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK) {
      while (sqlite3_step(stmt) == SQLITE_ROW) {
        const unsigned char* text = sqlite3_column_text(stmt, 0);
        rows.emplace_back(text == nullptr ? "" : reinterpret_cast<const char*>(text));
      }
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);
  return rows;
}

class SqliteStorageTest : public ::testing::Test {
 protected:
  StorageHarness harness_{::testing::UnitTest::GetInstance()->current_test_info()->name()};
};

TEST_F(SqliteStorageTest, WithoutAPathTheDatabaseLivesInTheInstanceDataDirectory) {
  harness_.openOrFail("storage-sqlite", Json::object());
  harness_.ok("kv.put", {{"key", "k"}, {"value", "v"}});
  std::filesystem::path file = harness_.dir() / "data" / "plugins" / "store" / "waflow.db";
  ASSERT_TRUE(std::filesystem::exists(file));
  EXPECT_EQ(query(file, "PRAGMA journal_mode"), std::vector<std::string>{"wal"});
  EXPECT_THAT(query(file, "SELECT name FROM sqlite_master WHERE type = 'table'"),
              IsSupersetOf({"contacts", "conversations", "inbox", "message_statuses", "outbox",
                            "scheduled_jobs", "insights", "kv"}));
  EXPECT_EQ(query(file, "SELECT value FROM kv WHERE key = 'k'"), std::vector<std::string>{"v"});
}

TEST_F(SqliteStorageTest, MissingDirectoriesOfThePathAreCreated) {
  std::filesystem::path file = harness_.dir() / "nested" / "deeper" / "bot.db";
  harness_.openOrFail("storage-sqlite", {{"path", file.string()}});
  EXPECT_TRUE(std::filesystem::exists(file));
}

TEST_F(SqliteStorageTest, BadSettingsAreRefusedWithTheSettingNamed) {
  const std::vector<std::pair<Json, std::string>> cases = {
      {{{"readers", 0}}, "readers"},
      {{{"readers", 17}}, "readers"},
      {{{"max_batch", 0}}, "max_batch"},
      {{{"synchronous", "off"}}, "synchronous"},
      {{{"busy_timeout", "5s"}}, "busy_timeout"},  // the host converts durations to ms
      {{{"path", 3}}, "path"},
  };
  for (const auto& [config, setting] : cases) {
    std::string error;
    EXPECT_FALSE(harness_.open("storage-sqlite", config, &error)) << config.dump();
    EXPECT_THAT(error, HasSubstr(setting)) << config.dump();
  }
}

TEST_F(SqliteStorageTest, StopCheckpointsTheWalIntoTheDatabaseFile) {
  std::filesystem::path file = harness_.dir() / "checkpoint.db";
  harness_.openOrFail("storage-sqlite", {{"path", file.string()}});
  harness_.ok("inbox.put", {{"messages", {inboxMessage("w1"), inboxMessage("w2")}}});
  std::filesystem::path wal = file.string() + "-wal";
  ASSERT_TRUE(std::filesystem::exists(wal));
  EXPECT_GT(std::filesystem::file_size(wal), 0u);
  harness_.close();
  EXPECT_TRUE(!std::filesystem::exists(wal) || std::filesystem::file_size(wal) == 0);
  // So copying the .db file alone, with the daemon stopped, is a complete backup.
  std::filesystem::path copy = harness_.dir() / "copy" / "backup.db";
  std::filesystem::create_directories(copy.parent_path());
  std::filesystem::copy_file(file, copy);
  harness_.openOrFail("storage-sqlite", {{"path", copy.string()}});
  EXPECT_THAT(ids(harness_.ok("inbox.pending", {{"limit", 10}})),
              ::testing::ElementsAre("w1", "w2"));
}

TEST_F(SqliteStorageTest, WritesRetryWhileAnotherProcessHoldsTheLockAndReadsGoOn) {
  Backend sqlite = sqliteBackend();
  Json config = {{"path", (harness_.dir() / "locked.db").string()}, {"busy_timeout", 50}};
  harness_.openOrFail("storage-sqlite", config);
  harness_.ok("kv.put", {{"key", "k"}, {"value", "before"}});
  {
    auto lock = sqlite.block_writes(config);
    CallOutcome o = harness_.exec("kv.put", {{"key", "k"}, {"value", "during"}});
    EXPECT_EQ(o.rc, waflow::Rc::kRetry) << o.error;
    EXPECT_THAT(o.error, HasSubstr("locked"));
    EXPECT_EQ(harness_.ok("kv.get", {{"key", "k"}}), Json({{"value", "before"}}));
  }
  harness_.ok("kv.put", {{"key", "k"}, {"value", "after"}});
  EXPECT_EQ(harness_.ok("kv.get", {{"key", "k"}}), Json({{"value", "after"}}));
}

}  // namespace
}  // namespace waflow::test::storage
