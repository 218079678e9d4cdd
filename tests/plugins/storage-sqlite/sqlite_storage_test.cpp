// storage-sqlite beyond the storage contract: where the file goes, its
// settings, WAL, the checkpoint at shutdown, retry while another process
// holds the write lock, and one process per database file.
#include "sqlite_backend.h"
#include "storage_harness.h"

#include <sqlite3.h>
#include <unistd.h>

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

// Runs statements on the file with a separate connection.
void execute(const std::filesystem::path& file, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
  char* error = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  EXPECT_EQ(rc, SQLITE_OK) << (error != nullptr ? error : "");
  sqlite3_free(error);
  sqlite3_close(db);
}

// The schema version this build writes.
constexpr int64_t kSchemaVersion = 7;

// Takes a current database file back to schema version 6, as the release
// before migration 7 left it.
constexpr const char* kBackToVersion6 =
    "DROP INDEX contacts_phone; DROP INDEX contacts_user_id; "
    "ALTER TABLE contacts DROP COLUMN phone; ALTER TABLE contacts DROP COLUMN user_id; "
    "PRAGMA user_version = 6;";

// Takes a version 6 database file back to schema version 5, as the release
// before migration 6 left it.
constexpr const char* kBackToVersion5 = "DROP TABLE audit_log; PRAGMA user_version = 5;";

// Takes a version 5 database file back to schema version 4, as the release
// before migration 5 left it.
constexpr const char* kBackToVersion4 =
    "DROP INDEX inbox_quarantined; ALTER TABLE inbox DROP COLUMN attempts; "
    "ALTER TABLE inbox DROP COLUMN quarantined_at; "
    "ALTER TABLE inbox DROP COLUMN quarantine_reason; PRAGMA user_version = 4;";

// Takes a version 4 database file back to schema version 3, as the release
// before migration 4 left it.
constexpr const char* kBackToVersion3 =
    "DROP TRIGGER kb_chunks_insert; DROP TRIGGER kb_chunks_delete; DROP TABLE kb_fts; "
    "DROP TABLE kb_chunks; DROP TABLE kb_documents; DROP TABLE ai_usage; "
    "DROP INDEX insights_time; DROP INDEX inbox_history; DROP INDEX outbox_history; "
    "ALTER TABLE insights DROP COLUMN flow; ALTER TABLE insights DROP COLUMN step; "
    "ALTER TABLE insights DROP COLUMN source; PRAGMA user_version = 3;";

// Takes a current database file back to schema version 2, as the release
// before migration 3 left it (what was only in version 3 is gone).
constexpr const char* kBackToVersion2 =
    "DROP INDEX scheduled_jobs_due; DROP INDEX scheduled_jobs_lease; "
    "DROP INDEX scheduled_jobs_conversation; DROP TABLE conversation_waits; "
    "ALTER TABLE scheduled_jobs DROP COLUMN conversation; "
    "ALTER TABLE scheduled_jobs DROP COLUMN cancel_on_reply; "
    "ALTER TABLE contacts DROP COLUMN first_message_id; "
    "CREATE INDEX scheduled_jobs_due ON scheduled_jobs (state, due_at); "
    "PRAGMA user_version = 2;";

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
      {{{"cache_mib", 0}}, "cache_mib"},
      {{{"cache_mib", 5000}}, "cache_mib"},
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

TEST_F(SqliteStorageTest, TheWritersPageCacheIsWhatCacheMibSays) {
  harness_.openOrFail("storage-sqlite", Json::object());
  EXPECT_EQ(harness_.ok("stats", Json::object())["cache_mib"], 32);  // the default
  harness_.close();
  harness_.openOrFail("storage-sqlite", {{"cache_mib", 8}});
  EXPECT_EQ(harness_.ok("stats", Json::object())["cache_mib"], 8);
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

TEST_F(SqliteStorageTest, AVersion4DatabasesPendingMessagesCountAsOnTheirFirstAttempt) {
  std::filesystem::path file = harness_.dir() / "v4.db";
  Json config = {{"path", file.string()}};
  harness_.openOrFail("storage-sqlite", config);
  harness_.ok("inbox.put", {{"messages", {inboxMessage("left-over"), inboxMessage("handled")}}});
  harness_.ok("inbox.done", {{"messages", {{{"channel", "wa-main"}, {"id", "handled"}}}}});
  harness_.close();
  execute(file, kBackToVersion6);
  execute(file, kBackToVersion5);
  execute(file, kBackToVersion4);

  harness_.openOrFail("storage-sqlite", config);
  EXPECT_EQ(harness_.ok("stats", Json::object())["schema_version"], kSchemaVersion);
  Json pending = harness_.ok("inbox.pending", {{"limit", 10}});
  ASSERT_EQ(pending["messages"].size(), 1u) << pending.dump();
  EXPECT_EQ(pending["messages"][0]["attempts"], 1);
  // The restart that replays it counts the second attempt.
  Json counted =
      harness_.ok("inbox.attempt", {{"messages", {{{"channel", "wa-main"}, {"id", "left-over"}}}},
                                    {"max_attempts", 3},
                                    {"reason", "test"}});
  EXPECT_EQ(counted["messages"][0]["attempts"], 2);
}

TEST_F(SqliteStorageTest, AVersion1DatabaseKeepsItsOutboxThroughTheMigration) {
  std::filesystem::path file = harness_.dir() / "v1.db";
  Json config = {{"path", file.string()}};
  harness_.openOrFail("storage-sqlite", config);
  harness_.ok("outbox.add", {{"messages",
                              {outboxMessage("a1", "A"), outboxMessage("a2", "A"),
                               outboxMessage("b1", "B"), outboxMessage("c1", "C")}}});
  harness_.ok("outbox.claim",
              {{"limit", 2}, {"now", 1000}, {"lease_ms", 60000}, {"owner", "old-host"}});
  harness_.ok("outbox.sent", {{"id", "b1"}, {"provider_message_id", "wamid.b1"}, {"now", 1001}});
  harness_.close();
  // The outbox indexes of schema version 1, as the first release left the file.
  execute(file, kBackToVersion6);
  execute(file, kBackToVersion5);
  execute(file, kBackToVersion4);
  execute(file, kBackToVersion3);
  execute(file, kBackToVersion2);
  execute(file,
          "DROP INDEX outbox_due; DROP INDEX outbox_unfinished; DROP INDEX outbox_lease; "
          "CREATE INDEX outbox_due ON outbox (state, not_before); "
          "CREATE INDEX outbox_conversation ON outbox (conversation, state, seq); "
          "CREATE INDEX outbox_lease ON outbox (state, lease_until); PRAGMA user_version = 1;");

  harness_.openOrFail("storage-sqlite", config);
  EXPECT_EQ(harness_.ok("stats", Json::object())["schema_version"], kSchemaVersion);
  EXPECT_THAT(query(file,
                    "SELECT name FROM sqlite_master WHERE type = 'index' AND "
                    "tbl_name = 'outbox' AND name NOT LIKE 'sqlite_%' ORDER BY name"),
              ::testing::ElementsAre("outbox_due", "outbox_history", "outbox_lease",
                                     "outbox_provider", "outbox_unfinished"));
  // Every state still works: a1's lease belongs to the previous incarnation.
  EXPECT_THAT(
      ids(harness_.ok("outbox.recover", {{"now", 2000}, {"owner", "old-host"}}), "in_doubt"),
      ::testing::ElementsAre("a1"));
  EXPECT_THAT(ids(harness_.ok("outbox.claim",
                              {{"limit", 10}, {"now", 2000}, {"lease_ms", 1}, {"owner", "new"}})),
              ::testing::ElementsAre("c1"));
  harness_.ok("outbox.failed", {{"id", "a1"}, {"error", "in doubt"}, {"now", 2001}});
  EXPECT_THAT(ids(harness_.ok("outbox.claim",
                              {{"limit", 10}, {"now", 2001}, {"lease_ms", 1}, {"owner", "new"}})),
              ::testing::ElementsAre("a2"));
  EXPECT_EQ(harness_.ok("outbox.get", {{"id", "b1"}})["message"]["state"], "sent");
}

TEST_F(SqliteStorageTest, AVersion2DatabaseKeepsItsJobsAndConversationsThroughTheMigration) {
  std::filesystem::path file = harness_.dir() / "v2.db";
  Json config = {{"path", file.string()}};
  harness_.openOrFail("storage-sqlite", config);
  Json payload = {{"flow", "welcome"}};
  harness_.ok(
      "job.add",
      {{"jobs",
        {{{"id", "due"}, {"kind", "timer"}, {"due_at", 1000}, {"payload", payload}},
         {{"id", "run"}, {"kind", "timer"}, {"due_at", 500}, {"payload", payload}},
         {{"id", "later"}, {"kind", "broadcast"}, {"due_at", 9000}, {"payload", payload}}}}});
  harness_.ok("job.claim",
              {{"owner", "old-host"}, {"lease_ms", 60000}, {"now", 500}, {"limit", 1}});
  harness_.ok("conversation.put",
              {{"channel", "wa-main"}, {"contact", "62811"}, {"state", {{"step", "ask"}}}});
  harness_.close();
  execute(file, kBackToVersion6);
  execute(file, kBackToVersion5);
  execute(file, kBackToVersion4);
  execute(file, kBackToVersion3);
  execute(file, kBackToVersion2);

  harness_.openOrFail("storage-sqlite", config);
  EXPECT_EQ(harness_.ok("stats", Json::object())["schema_version"], kSchemaVersion);
  EXPECT_THAT(query(file,
                    "SELECT name FROM sqlite_master WHERE type = 'index' AND "
                    "tbl_name = 'scheduled_jobs' AND name NOT LIKE 'sqlite_%' ORDER BY name"),
              ::testing::ElementsAre("scheduled_jobs_conversation", "scheduled_jobs_due",
                                     "scheduled_jobs_lease"));
  // The jobs keep their state; the new columns take their defaults.
  Json run = harness_.ok("job.get", {{"id", "run"}})["job"];
  EXPECT_EQ(run["state"], "running");
  EXPECT_EQ(run["attempts"], 1);
  EXPECT_EQ(run["conversation"], "");
  EXPECT_EQ(run["cancel_on_reply"], false);
  EXPECT_EQ(harness_.ok("job.next", Json::object())["due_at"], 1000);
  EXPECT_EQ(harness_.ok("job.recover", {{"owner", "old-host"}}), Json({{"recovered", 1}}));
  EXPECT_THAT(ids(harness_.ok("job.claim",
                              {{"owner", "new"}, {"lease_ms", 1}, {"now", 1000}, {"limit", 10}}),
                  "jobs"),
              ::testing::ElementsAre("run", "due"));
  EXPECT_EQ(harness_.ok("conversation.get", {{"channel", "wa-main"}, {"contact", "62811"}}),
            Json({{"state", {{"step", "ask"}}}}));
  EXPECT_THAT(ids(harness_.ok("conversation.waiting", {{"event", "reply"}}), "conversations"),
              ::testing::IsEmpty());
  harness_.ok("conversation.put", {{"channel", "wa-main"},
                                   {"contact", "62811"},
                                   {"state", {{"step", "ask"}}},
                                   {"waits", {"reply"}}});
  EXPECT_EQ(harness_.ok("conversation.waiting", {{"event", "reply"}})["conversations"].size(), 1u);
}

TEST_F(SqliteStorageTest, AVersion3DatabaseKeepsItsMessagesAndInsightsThroughTheMigration) {
  std::filesystem::path file = harness_.dir() / "v3.db";
  Json config = {{"path", file.string()}};
  harness_.openOrFail("storage-sqlite", config);
  harness_.ok("inbox.put", {{"messages",
                             {inboxMessage("in-1", "62811", 1700000000000),
                              inboxMessage("in-2", "62811", 1700000001000),
                              inboxMessage("elsewhere", "62822", 1700000002000)}}});
  Json reply = outboxMessage("out-1", "wa-main:62811");
  Json lost = outboxMessage("out-lost", "wa-main:62811");
  harness_.ok("outbox.add", {{"messages", {reply, lost}}});
  harness_.ok("outbox.claim",
              {{"limit", 10}, {"now", 1000}, {"lease_ms", 60000}, {"owner", "old-host"}});
  harness_.ok("outbox.sent", {{"id", "out-1"}, {"provider_message_id", "wamid.o1"}, {"now", 1001}});
  harness_.ok("outbox.claim",
              {{"limit", 10}, {"now", 1002}, {"lease_ms", 60000}, {"owner", "old-host"}});
  harness_.ok("outbox.failed", {{"id", "out-lost"}, {"error", "131026"}, {"now", 1003}});
  harness_.close();
  execute(file, kBackToVersion6);
  execute(file, kBackToVersion5);
  execute(file, kBackToVersion4);
  execute(file, kBackToVersion3);
  // An insight as a version 3 store holds it: no flow, step or source.
  execute(file,
          "INSERT INTO insights (channel, contact, kind, data, created_at) "
          "VALUES ('wa-main', '62811', 'intent', '{\"product\":\"kaos\"}', 1700000000500)");

  harness_.openOrFail("storage-sqlite", config);
  EXPECT_EQ(harness_.ok("stats", Json::object())["schema_version"], kSchemaVersion);
  EXPECT_THAT(query(file,
                    "SELECT name FROM sqlite_master WHERE type = 'index' AND "
                    "name IN ('inbox_history', 'outbox_history', 'insights_time', "
                    "'ai_usage_time', 'ai_usage_contact') ORDER BY name"),
              ::testing::ElementsAre("ai_usage_contact", "ai_usage_time", "inbox_history",
                                     "insights_time", "outbox_history"));
  // The messages stored before the migration are the conversation's history.
  Json history = harness_.ok("message.history", {{"channel", "wa-main"}, {"contact", "62811"}});
  ASSERT_EQ(history["messages"].size(), 3u) << history.dump();
  EXPECT_EQ(history["messages"][0]["id"], "in-1");
  EXPECT_EQ(history["messages"][1]["id"], "in-2");
  EXPECT_EQ(history["messages"][2]["id"], "out-1");
  EXPECT_EQ(history["messages"][2]["text"], reply["text"]);
  EXPECT_EQ(history["messages"][0]["text"], inboxMessage("in-1")["event"]["text"]);
  // The old insight, with the new fields empty, then a new one.
  harness_.ok("insight.put", {{"channel", "wa-main"},
                              {"contact", "62811"},
                              {"kind", "intent"},
                              {"data", {{"product", "topi"}}},
                              {"flow", "sales"},
                              {"at", 1700000003000}});
  Json insights = harness_.ok("insight.list", {{"channel", "wa-main"}, {"contact", "62811"}});
  ASSERT_EQ(insights["insights"].size(), 2u) << insights.dump();
  EXPECT_EQ(insights["insights"][0]["data"], Json({{"product", "kaos"}}));
  EXPECT_EQ(insights["insights"][0]["flow"], "");
  EXPECT_EQ(insights["insights"][0]["source"], "");
  EXPECT_EQ(insights["insights"][0]["at"], 1700000000500);
  EXPECT_EQ(insights["insights"][1]["flow"], "sales");
  // Usage has a table now.
  harness_.ok("usage.add",
              {{"records", {{{"provider", "openai"}, {"prompt_tokens", 12}, {"cost", 0.5}}}}});
  Json rows = harness_.ok("usage.summary", {{"group_by", "provider"}})["rows"];
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["key"], "openai");
  EXPECT_EQ(rows[0]["prompt_tokens"], 12);
  EXPECT_EQ(rows[0]["cost"], 0.5);
}

TEST_F(SqliteStorageTest, ASecondInstanceOnTheSameDatabaseIsRefusedUntilTheFirstStops) {
  std::filesystem::path file = harness_.dir() / "shared.db";
  Json config = {{"path", file.string()}};
  harness_.openOrFail("storage-sqlite", config);
  harness_.ok("kv.put", {{"key", "k"}, {"value", "first"}});
  EXPECT_TRUE(std::filesystem::exists(file.string() + ".lock"));

  // Another daemon (here another instance, with its own host) on the same file.
  StorageHarness second("second-instance");
  std::string error;
  EXPECT_FALSE(second.open("storage-sqlite", config, &error));
  EXPECT_THAT(error, HasSubstr("another process (pid " + std::to_string(::getpid()) +
                               ") is using the database " + file.string()));
  EXPECT_THAT(error, HasSubstr("run one waflow daemon per database, or give this one its own "
                               "storage.config.path"));
  // Refused before touching anything: the first one goes on.
  harness_.ok("kv.put", {{"key", "k"}, {"value", "still first"}});

  harness_.close();
  second.openOrFail("storage-sqlite", config);
  EXPECT_EQ(second.ok("kv.get", {{"key", "k"}}), Json({{"value", "still first"}}));
  // A failed start lets go of the file too.
  second.close();
  std::string refused;
  EXPECT_FALSE(
      harness_.open("storage-sqlite", {{"path", file.string()}, {"readers", 0}}, &refused));
  harness_.openOrFail("storage-sqlite", config);
}

}  // namespace
}  // namespace waflow::test::storage
