#include "schema.h"

#include <waflow/sdk/types.hpp>

#include <iterator>
#include <string>

namespace waflow::storage_sqlite {
namespace {

// Never edit a migration that has shipped: append a new one instead. Times are
// Unix milliseconds; JSON columns hold text that json() accepts.
// Long because it is data: every migration's SQL since the first, which never change.
const char* const kMigrations[] = {
    // 1: the initial schema.
    R"sql(
CREATE TABLE contacts (
  channel         TEXT NOT NULL,
  contact         TEXT NOT NULL,
  name            TEXT NOT NULL DEFAULT '',
  attributes      TEXT NOT NULL DEFAULT '{}',
  tags            TEXT NOT NULL DEFAULT '[]',
  opted_in        INTEGER NOT NULL DEFAULT 0,
  last_inbound_at INTEGER NOT NULL DEFAULT 0,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  PRIMARY KEY (channel, contact)
) WITHOUT ROWID;

CREATE TABLE conversations (
  channel    TEXT NOT NULL,
  contact    TEXT NOT NULL,
  state      TEXT NOT NULL DEFAULT '{}',
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (channel, contact)
) WITHOUT ROWID;

-- seq is the order messages were stored in: inbox.pending replays in it.
CREATE TABLE inbox (
  seq          INTEGER PRIMARY KEY AUTOINCREMENT,
  channel      TEXT NOT NULL,
  id           TEXT NOT NULL,
  contact      TEXT NOT NULL,
  contact_name TEXT NOT NULL DEFAULT '',
  conversation TEXT NOT NULL,
  type         TEXT NOT NULL,
  received_at  INTEGER NOT NULL,
  event        TEXT NOT NULL,
  done         INTEGER NOT NULL DEFAULT 0,
  stored_at    INTEGER NOT NULL,
  UNIQUE (channel, id)
);
CREATE INDEX inbox_pending ON inbox (seq) WHERE done = 0;

-- Every status a provider reported for a message we sent: its history.
CREATE TABLE message_statuses (
  seq           INTEGER PRIMARY KEY AUTOINCREMENT,
  channel       TEXT NOT NULL,
  message_id    TEXT NOT NULL,
  status        TEXT NOT NULL,
  timestamp     INTEGER NOT NULL,
  error_code    INTEGER NOT NULL DEFAULT 0,
  error_message TEXT NOT NULL DEFAULT '',
  raw           TEXT,
  stored_at     INTEGER NOT NULL,
  UNIQUE (channel, message_id, status)
);

-- seq orders a conversation's messages; state is pending, sending, sent,
-- failed or in_doubt. last_status is the newest provider status.
CREATE TABLE outbox (
  seq                 INTEGER PRIMARY KEY AUTOINCREMENT,
  id                  TEXT NOT NULL UNIQUE,
  channel             TEXT NOT NULL,
  "to"                TEXT NOT NULL,
  conversation        TEXT NOT NULL,
  type                TEXT NOT NULL,
  text                TEXT NOT NULL DEFAULT '',
  reply_to            TEXT NOT NULL DEFAULT '',
  payload             TEXT,
  not_before          INTEGER NOT NULL DEFAULT 0,
  state               TEXT NOT NULL DEFAULT 'pending',
  attempts            INTEGER NOT NULL DEFAULT 0,
  owner               TEXT,
  lease_until         INTEGER,
  provider_message_id TEXT,
  last_error          TEXT NOT NULL DEFAULT '',
  last_status         TEXT,
  last_status_at      INTEGER,
  created_at          INTEGER NOT NULL,
  updated_at          INTEGER NOT NULL
);
CREATE INDEX outbox_due ON outbox (state, not_before);
CREATE INDEX outbox_conversation ON outbox (conversation, state, seq);
CREATE INDEX outbox_lease ON outbox (state, lease_until);
CREATE INDEX outbox_provider ON outbox (channel, provider_message_id)
  WHERE provider_message_id IS NOT NULL;

CREATE TABLE scheduled_jobs (
  id          TEXT PRIMARY KEY,
  kind        TEXT NOT NULL,
  due_at      INTEGER NOT NULL,
  payload     TEXT NOT NULL DEFAULT '{}',
  state       TEXT NOT NULL DEFAULT 'pending',
  attempts    INTEGER NOT NULL DEFAULT 0,
  owner       TEXT,
  lease_until INTEGER,
  last_error  TEXT NOT NULL DEFAULT '',
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
);
CREATE INDEX scheduled_jobs_due ON scheduled_jobs (state, due_at);

CREATE TABLE insights (
  seq        INTEGER PRIMARY KEY AUTOINCREMENT,
  channel    TEXT NOT NULL,
  contact    TEXT NOT NULL,
  kind       TEXT NOT NULL,
  data       TEXT NOT NULL DEFAULT '{}',
  created_at INTEGER NOT NULL
);
CREATE INDEX insights_contact ON insights (channel, contact, kind, created_at);

CREATE TABLE kv (
  key        TEXT PRIMARY KEY,
  value      TEXT NOT NULL,
  updated_at INTEGER NOT NULL
) WITHOUT ROWID;
)sql",

    // 2: the outbox's lookup indexes hold only the messages they look up, so
    // they stay small however many sent messages the table keeps, and sending
    // a message touches fewer indexes. outbox_due lists pending messages in
    // claim order; outbox_unfinished the messages that hold back their
    // conversation; outbox_lease the leases running.
    R"sql(
DROP INDEX outbox_due;
DROP INDEX outbox_conversation;
DROP INDEX outbox_lease;
CREATE INDEX outbox_due ON outbox (seq) WHERE state = 'pending';
CREATE INDEX outbox_unfinished ON outbox (conversation, seq)
  WHERE state IN ('pending', 'sending', 'in_doubt');
CREATE INDEX outbox_lease ON outbox (lease_until) WHERE state = 'sending';
)sql",

    // 3: what the flow engine needs. Scheduled jobs name the conversation
    // they belong to (job.cancel by conversation) and whether a reply cancels
    // them; their indexes, like the outbox's, hold only the rows they look up:
    // pending jobs in due order, running jobs by lease, jobs of a conversation.
    // conversation_waits lists the events each conversation waits for, one row
    // each, so conversation.waiting is an exact-match range. A contact keeps the
    // id of the first message it sent (flows' first_message trigger).
    R"sql(
ALTER TABLE contacts ADD COLUMN first_message_id TEXT NOT NULL DEFAULT '';
ALTER TABLE scheduled_jobs ADD COLUMN conversation TEXT NOT NULL DEFAULT '';
ALTER TABLE scheduled_jobs ADD COLUMN cancel_on_reply INTEGER NOT NULL DEFAULT 0;
DROP INDEX scheduled_jobs_due;
CREATE INDEX scheduled_jobs_due ON scheduled_jobs (due_at, id) WHERE state = 'pending';
CREATE INDEX scheduled_jobs_lease ON scheduled_jobs (lease_until) WHERE state = 'running';
CREATE INDEX scheduled_jobs_conversation ON scheduled_jobs (conversation)
  WHERE conversation <> '';

CREATE TABLE conversation_waits (
  event   TEXT NOT NULL,
  channel TEXT NOT NULL,
  contact TEXT NOT NULL,
  PRIMARY KEY (event, channel, contact)
) WITHOUT ROWID;
CREATE INDEX conversation_waits_conversation ON conversation_waits (channel, contact);
)sql",

    // 4: what AI steps need. A conversation's messages in and out, in order
    // (conversation memory and history search); which flow, step and model
    // produced an insight; token usage and cost per AI call; the knowledge
    // base: its documents (with checksums, so only changed files are indexed
    // again), their chunks, and an FTS5 index over the chunks' analysed terms.
    // kb_fts is an external-content index kept in step with kb_chunks by
    // triggers, so a chunk's text is stored once.
    R"sql(
CREATE INDEX inbox_history ON inbox (conversation, seq);
CREATE INDEX outbox_history ON outbox (conversation, seq);

ALTER TABLE insights ADD COLUMN flow TEXT NOT NULL DEFAULT '';
ALTER TABLE insights ADD COLUMN step TEXT NOT NULL DEFAULT '';
ALTER TABLE insights ADD COLUMN source TEXT NOT NULL DEFAULT '';
CREATE INDEX insights_time ON insights (created_at);

CREATE TABLE ai_usage (
  seq               INTEGER PRIMARY KEY AUTOINCREMENT,
  channel           TEXT NOT NULL DEFAULT '',
  contact           TEXT NOT NULL DEFAULT '',
  flow              TEXT NOT NULL DEFAULT '',
  step              TEXT NOT NULL DEFAULT '',
  provider          TEXT NOT NULL,
  model             TEXT NOT NULL DEFAULT '',
  prompt_tokens     INTEGER NOT NULL DEFAULT 0,
  completion_tokens INTEGER NOT NULL DEFAULT 0,
  cached_tokens     INTEGER NOT NULL DEFAULT 0,
  reasoning_tokens  INTEGER NOT NULL DEFAULT 0,
  cost              REAL,
  ok                INTEGER NOT NULL DEFAULT 1,
  latency_ms        INTEGER NOT NULL DEFAULT 0,
  created_at        INTEGER NOT NULL
);
CREATE INDEX ai_usage_time ON ai_usage (created_at);
CREATE INDEX ai_usage_contact ON ai_usage (channel, contact, created_at);

CREATE TABLE kb_documents (
  knowledge  TEXT NOT NULL,
  path       TEXT NOT NULL,
  checksum   TEXT NOT NULL,
  chunks     INTEGER NOT NULL DEFAULT 0,
  indexed_at INTEGER NOT NULL,
  PRIMARY KEY (knowledge, path)
) WITHOUT ROWID;

CREATE TABLE kb_chunks (
  id          INTEGER PRIMARY KEY,
  knowledge   TEXT NOT NULL,
  path        TEXT NOT NULL,
  ord         INTEGER NOT NULL,
  title       TEXT NOT NULL DEFAULT '',
  text        TEXT NOT NULL,
  title_terms TEXT NOT NULL DEFAULT '',
  terms       TEXT NOT NULL DEFAULT '',
  embedding   BLOB
);
CREATE INDEX kb_chunks_document ON kb_chunks (knowledge, path, ord);

CREATE VIRTUAL TABLE kb_fts USING fts5(
  title_terms, terms, content='kb_chunks', content_rowid='id',
  tokenize='unicode61 remove_diacritics 2');
CREATE TRIGGER kb_chunks_insert AFTER INSERT ON kb_chunks BEGIN
  INSERT INTO kb_fts (rowid, title_terms, terms) VALUES (new.id, new.title_terms, new.terms);
END;
CREATE TRIGGER kb_chunks_delete AFTER DELETE ON kb_chunks BEGIN
  INSERT INTO kb_fts (kb_fts, rowid, title_terms, terms)
    VALUES ('delete', old.id, old.title_terms, old.terms);
END;
)sql",
    // 5: poison messages. A message counts its handling attempts (inbox.put counts the
    // first); one that keeps failing is quarantined (done = 2) instead of replayed forever.
    // done is 0 (pending), 1 (done) or 2 (quarantined).
    R"sql(
ALTER TABLE inbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 1;
ALTER TABLE inbox ADD COLUMN quarantined_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE inbox ADD COLUMN quarantine_reason TEXT NOT NULL DEFAULT '';
CREATE INDEX inbox_quarantined ON inbox (seq) WHERE done = 2;
)sql",
    // 6: the audit log of admin actions (audit.append, audit.list).
    R"sql(
CREATE TABLE audit_log (
  seq     INTEGER PRIMARY KEY AUTOINCREMENT,
  at      INTEGER NOT NULL,
  actor   TEXT NOT NULL,
  action  TEXT NOT NULL,
  summary TEXT NOT NULL DEFAULT '',
  address TEXT NOT NULL DEFAULT '',
  status  INTEGER NOT NULL
);
CREATE INDEX audit_log_time ON audit_log (at);
)sql",
    // 7: one person, one contact. A contact keeps both of its identifiers, the phone number
    // and the business-scoped user id (a WhatsApp user with a username may have no phone
    // number), so a message carrying either finds the contact first known by the other.
    R"sql(
ALTER TABLE contacts ADD COLUMN phone TEXT NOT NULL DEFAULT '';
ALTER TABLE contacts ADD COLUMN user_id TEXT NOT NULL DEFAULT '';
CREATE INDEX contacts_phone ON contacts (channel, phone) WHERE phone <> '';
CREATE INDEX contacts_user_id ON contacts (channel, user_id) WHERE user_id <> '';
)sql",
};

constexpr int64_t kVersion = static_cast<int64_t>(std::size(kMigrations));

}  // namespace

int64_t currentSchemaVersion() {
  return kVersion;
}

int64_t migrate(Db& db) {
  // IMMEDIATE takes the write lock before reading the version, so two
  // processes starting on one file cannot both apply the same migration.
  db.exec("BEGIN IMMEDIATE");
  int64_t found = 0;
  try {
    found = db.userVersion();
    if (found > kVersion) {
      throw waflow::Error(
          waflow::Rc::kError,
          "storage-sqlite: " + db.path() + " has schema version " + std::to_string(found) +
              ", newer than this storage-sqlite supports (schema version " +
              std::to_string(kVersion) +
              "); it was written by a newer waflow. Upgrade waflow, or set `path` to another "
              "database file");
    }
    for (int64_t v = found + 1; v <= kVersion; ++v) {
      if (v > found + 1) {
        db.exec("BEGIN IMMEDIATE");
      }
      try {
        db.exec(kMigrations[v - 1]);
        // PRAGMA takes no parameters; the version is an integer we produced.
        db.exec(("PRAGMA user_version = " + std::to_string(v)).c_str());
        db.exec("COMMIT");
      } catch (const SqliteError& e) {
        throw SqliteError(e.code(), "storage-sqlite: migrating " + db.path() +
                                        " to schema version " + std::to_string(v) +
                                        " failed (the database is left at version " +
                                        std::to_string(v - 1) + "): " + e.what());
      }
    }
    if (found == kVersion) {
      db.exec("COMMIT");
    }
  } catch (...) {
    if (db.inTransaction()) {
      db.exec("ROLLBACK");
    }
    throw;
  }
  return found;
}

}  // namespace waflow::storage_sqlite
