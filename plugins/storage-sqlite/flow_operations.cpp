#include "flow_operations.h"

#include "operation_support.h"

#include <waflow/sdk/storage.hpp>
#include <waflow/sdk/types.hpp>

#include <array>
#include <set>
#include <string>
#include <vector>

namespace waflow::storage_sqlite {
namespace {

namespace st = waflow::storage;

// The optional string field `key`; nullptr when absent or null.
const std::string* optionalString(const Json& in, const char* key) {
  auto it = in.find(key);
  return it == in.end() || it->is_null() ? nullptr : &it->get_ref<const std::string&>();
}

// The optional boolean field `key`; false when absent or null.
bool optionalFlag(const Json& in, const char* key) {
  auto it = in.find(key);
  return it != in.end() && it->is_boolean() && it->get<bool>();
}

// The input's (channel, contact), the key of contacts and conversations.
void validateKey(const Fields& f) {
  f.string("channel");
  f.string("contact");
}

// ---- contacts ---------------------------------------------------------------------

#define WAFLOW_CONTACT_COLUMNS                                                              \
  "channel, contact, name, last_inbound_at, attributes, tags, opted_in, first_message_id, " \
  "phone, user_id"

// A contacts row read with WAFLOW_CONTACT_COLUMNS, as a Contact.
Json contactRow(const Stmt& s) {
  return {{"channel", s.text(0)},
          {"contact", s.text(1)},
          {"name", s.text(2)},
          {"last_inbound_at", s.int64(3)},
          {"attributes", parseStored(s.text(4))},
          {"tags", parseStored(s.text(5))},
          {"opted_in", s.int64(6) != 0},
          {"first_message_id", s.text(7)},
          {"phone", s.text(8)},
          {"user_id", s.text(9)}};
}

constexpr const char* kSelectContact =
    "SELECT " WAFLOW_CONTACT_COLUMNS " FROM contacts WHERE channel = ?1 AND contact = ?2";

// The contact, or null.
Json readContact(Db& db, const std::string& channel, const std::string& contact) {
  Stmt s = db.prepare(kSelectContact);
  s.bindRef(1, channel).bindRef(2, contact);
  return s.step() ? contactRow(s) : Json(nullptr);
}

void validateContactGet(const Json& in) {
  validateKey(Fields(st::kContactGet, in));
}

Json runContactGet(Db& db, const Json& in) {
  return {{"contact", readContact(db, str(in, "channel"), str(in, "contact"))}};
}

void validateContactUpdate(const Json& in) {
  Fields f(st::kContactUpdate, in);
  validateKey(f);
  if (f.has("name")) {
    f.string("name", false);
  }
  if (f.has("set")) {
    f.object("set", false);
  }
  for (const char* key : {"tags_add", "tags_remove"}) {
    if (f.has(key)) {
      f.strings(key);
    }
  }
}

constexpr const char* kUpsertContactFields =
    "INSERT INTO contacts (channel, contact, name, attributes, tags, created_at, updated_at) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) "
    "ON CONFLICT (channel, contact) DO UPDATE SET name = excluded.name, "
    "attributes = excluded.attributes, tags = excluded.tags, updated_at = excluded.updated_at";

// The update is computed from the stored contact rather than in SQL: it runs
// on the writer, inside its transaction, so nothing changes in between.
Json runContactUpdate(Db& db, const Json& in) {
  const std::string& channel = str(in, "channel");
  const std::string& contact = str(in, "contact");
  Json stored = readContact(db, channel, contact);
  std::string name;
  Json attributes = Json::object();
  std::set<std::string> tags;
  if (!stored.is_null()) {
    name = stored["name"].get<std::string>();
    if (stored["attributes"].is_object()) {
      attributes = std::move(stored["attributes"]);
    }
    for (const Json& tag : stored["tags"]) {
      if (tag.is_string()) {
        tags.insert(tag.get<std::string>());
      }
    }
  }
  if (const std::string* new_name = optionalString(in, "name"); new_name && !new_name->empty()) {
    name = *new_name;
  }
  if (auto it = in.find("set"); it != in.end() && it->is_object()) {
    for (const auto& [attribute, value] : it->items()) {
      if (value.is_null()) {
        attributes.erase(attribute);
      } else {
        attributes[attribute] = value;
      }
    }
  }
  if (auto it = in.find("tags_add"); it != in.end() && it->is_array()) {
    for (const Json& tag : *it) {
      tags.insert(tag.get<std::string>());
    }
  }
  if (auto it = in.find("tags_remove"); it != in.end() && it->is_array()) {
    for (const Json& tag : *it) {
      tags.erase(tag.get<std::string>());
    }
  }
  Stmt s = db.prepare(kUpsertContactFields);
  s.bindRef(1, channel)
      .bindRef(2, contact)
      .bind(3, name)
      .bind(4, attributes.dump())
      .bind(5, Json(tags).dump())
      .bind(6, nowMs())
      .run();
  return {{"contact", readContact(db, channel, contact)}};
}

constexpr int64_t kMaxContactPage = 1000;

// A contact.list cursor: the (channel, contact) of the last contact returned,
// as the JSON text ["<channel>","<contact>"]. Paging by key, not by offset,
// visits every contact once however many are added or removed meanwhile.
std::string contactCursor(const std::string& channel, const std::string& contact) {
  return Json::array({channel, contact}).dump();
}

// The (channel, contact) of a cursor; false when `text` is not one.
bool parseContactCursor(const std::string& text, std::string& channel, std::string& contact) {
  Json cursor = Json::parse(text, nullptr, false);
  if (!cursor.is_array() || cursor.size() != 2 || !cursor[0].is_string() ||
      !cursor[1].is_string()) {
    return false;
  }
  channel = cursor[0].get<std::string>();
  contact = cursor[1].get<std::string>();
  return true;
}

void validateContactList(const Json& in) {
  Fields f(st::kContactList, in);
  f.integer("limit", 1, kMaxContactPage);
  for (const char* key : {"channel", "tag"}) {
    if (f.has(key)) {
      f.string(key);
    }
  }
  if (f.has("after")) {
    f.string("after");
    std::string channel;
    std::string contact;
    if (!parseContactCursor(str(in, "after"), channel, contact)) {
      f.invalid("after", "is not a cursor that contact.list returned (pass its `next` as is)");
    }
  }
}

// Both list statements start after the key (?1, ?2), exclusive; without a
// cursor that is ('', ''), below every contact (no operation stores an empty
// channel or contact). ?3 is the tag or NULL; ?4 the row limit.
#define WAFLOW_CONTACT_TAG_FILTER \
  " AND (?3 IS NULL OR EXISTS (SELECT 1 FROM json_each(contacts.tags) WHERE value = ?3))"

constexpr const char* kListContacts =
    "SELECT " WAFLOW_CONTACT_COLUMNS
    " FROM contacts WHERE (channel, contact) > (?1, ?2)" WAFLOW_CONTACT_TAG_FILTER
    " ORDER BY channel, contact LIMIT ?4";

// One channel: a range of the primary key (the row-value form above would
// scan to the end of the table).
constexpr const char* kListChannelContacts =
    "SELECT " WAFLOW_CONTACT_COLUMNS
    " FROM contacts WHERE channel = ?1 AND contact > ?2" WAFLOW_CONTACT_TAG_FILTER
    " ORDER BY contact LIMIT ?4";

Json runContactList(Db& db, const Json& in) {
  int64_t limit = num(in, "limit");
  std::string after_channel;
  std::string after_contact;
  if (const std::string* after = optionalString(in, "after")) {
    parseContactCursor(*after, after_channel, after_contact);
  }
  Json contacts = Json::array();
  Json next = nullptr;
  const std::string* channel = optionalString(in, "channel");
  if (channel != nullptr && after_channel != *channel) {
    if (after_channel > *channel) {
      // The cursor is past every contact of the channel.
      return {{"contacts", std::move(contacts)}, {"next", nullptr}};
    }
    after_contact.clear();
  }
  Stmt s = db.prepare(channel != nullptr ? kListChannelContacts : kListContacts);
  s.bind(1, channel != nullptr ? *channel : after_channel).bind(2, after_contact);
  if (const std::string* tag = optionalString(in, "tag")) {
    s.bind(3, *tag);
  } else {
    s.bindNull(3);
  }
  // One row more than the page tells whether there is a next page.
  s.bind(4, limit + 1);
  while (s.step()) {
    if (static_cast<int64_t>(contacts.size()) == limit) {
      const Json& last = contacts.back();
      next = contactCursor(last["channel"].get<std::string>(), last["contact"].get<std::string>());
      break;
    }
    contacts.push_back(contactRow(s));
  }
  return {{"contacts", std::move(contacts)}, {"next", std::move(next)}};
}

// ---- conversations ----------------------------------------------------------------

void validateConversationGet(const Json& in) {
  validateKey(Fields(st::kConversationGet, in));
}

constexpr const char* kSelectConversation =
    "SELECT state FROM conversations WHERE channel = ?1 AND contact = ?2";

Json runConversationGet(Db& db, const Json& in) {
  Stmt s = db.prepare(kSelectConversation);
  s.bindRef(1, str(in, "channel")).bindRef(2, str(in, "contact"));
  return {{"state", s.step() ? parseStored(s.text(0)) : Json(nullptr)}};
}

void validateConversationPut(const Json& in) {
  Fields f(st::kConversationPut, in);
  validateKey(f);
  f.object("state", false);
  if (f.has("waits")) {
    f.strings("waits");
  }
}

constexpr const char* kUpsertConversation =
    "INSERT INTO conversations (channel, contact, state, updated_at) VALUES (?1, ?2, ?3, ?4) "
    "ON CONFLICT (channel, contact) DO UPDATE SET state = excluded.state, "
    "updated_at = excluded.updated_at";
constexpr const char* kDeleteConversation =
    "DELETE FROM conversations WHERE channel = ?1 AND contact = ?2";
constexpr const char* kDeleteWaits =
    "DELETE FROM conversation_waits WHERE channel = ?1 AND contact = ?2";
constexpr const char* kInsertWait =
    "INSERT INTO conversation_waits (event, channel, contact) VALUES (?1, ?2, ?3) "
    "ON CONFLICT DO NOTHING";

void runConversationPut(Db& db, const Json& in, std::string& out) {
  const std::string& channel = str(in, "channel");
  const std::string& contact = str(in, "contact");
  const Json& state = in.at("state");
  auto waits = in.find("waits");
  bool waits_any = waits != in.end() && waits->is_array() && !waits->empty();
  {
    Stmt s = db.prepare(kDeleteWaits);
    s.bindRef(1, channel).bindRef(2, contact).run();
  }
  if (state.empty() && !waits_any) {
    // A conversation back at its start keeps no row: the table holds only
    // conversations under way.
    Stmt s = db.prepare(kDeleteConversation);
    s.bindRef(1, channel).bindRef(2, contact).run();
    out += "{}";
    return;
  }
  {
    Stmt s = db.prepare(kUpsertConversation);
    s.bindRef(1, channel).bindRef(2, contact).bind(3, state.dump()).bind(4, nowMs()).run();
  }
  if (waits_any) {
    for (const Json& event : *waits) {
      Stmt s = db.prepare(kInsertWait);
      s.bindRef(1, event.get_ref<const std::string&>())
          .bindRef(2, channel)
          .bindRef(3, contact)
          .run();
    }
  }
  out += "{}";
}

void validateConversationWaiting(const Json& in) {
  Fields(st::kConversationWaiting, in).string("event");
}

constexpr const char* kSelectWaiting =
    "SELECT w.channel, w.contact, c.state FROM conversation_waits AS w "
    "JOIN conversations AS c ON c.channel = w.channel AND c.contact = w.contact "
    "WHERE w.event = ?1 ORDER BY w.channel, w.contact";

Json runConversationWaiting(Db& db, const Json& in) {
  Json conversations = Json::array();
  Stmt s = db.prepare(kSelectWaiting);
  s.bindRef(1, str(in, "event"));
  while (s.step()) {
    conversations.push_back(
        {{"channel", s.text(0)}, {"contact", s.text(1)}, {"state", parseStored(s.text(2))}});
  }
  return {{"conversations", std::move(conversations)}};
}

// ---- scheduled jobs ---------------------------------------------------------------

#define WAFLOW_JOB_COLUMNS "id, kind, due_at, payload, conversation, attempts"

// A scheduled_jobs row read with WAFLOW_JOB_COLUMNS, as a Job.
Json jobRow(const Stmt& s) {
  return {{"id", s.text(0)},           {"kind", s.text(1)},
          {"due_at", s.int64(2)},      {"payload", parseStored(s.text(3))},
          {"conversation", s.text(4)}, {"attempts", s.int64(5)}};
}

void validateJobAdd(const Json& in) {
  Fields f(st::kJobAdd, in);
  f.array("jobs", [](const Fields& j) {
    j.string("id");
    j.string("kind");
    j.integer("due_at");
    j.object("payload", false);
    if (j.has("conversation")) {
      j.string("conversation", false);
    }
    if (j.has("cancel_on_reply")) {
      j.boolean("cancel_on_reply");
    }
  });
  if (f.has("replace")) {
    f.boolean("replace");
  }
}

// ?8 is `replace`: with it, an existing job that is not running is
// overwritten; either way changes() is 1 exactly when the job was written.
constexpr const char* kUpsertJob =
    "INSERT INTO scheduled_jobs (id, kind, due_at, payload, conversation, cancel_on_reply, "
    "created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7) "
    "ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, due_at = excluded.due_at, "
    "payload = excluded.payload, conversation = excluded.conversation, "
    "cancel_on_reply = excluded.cancel_on_reply, attempts = 0, last_error = '', "
    "updated_at = excluded.updated_at WHERE ?8 AND scheduled_jobs.state <> 'running'";

void runJobAdd(Db& db, const Json& in, std::string& out) {
  const Json& jobs = in.at("jobs");
  int64_t replace = optionalFlag(in, "replace") ? 1 : 0;
  int64_t now = nowMs();
  std::vector<bool> added;
  added.reserve(jobs.size());
  for (const Json& j : jobs) {
    const std::string* conversation = optionalString(j, "conversation");
    Stmt s = db.prepare(kUpsertJob);
    s.bindRef(1, str(j, "id"))
        .bindRef(2, str(j, "kind"))
        .bind(3, num(j, "due_at"))
        .bind(4, j.at("payload").dump())
        .bind(5, conversation != nullptr ? *conversation : std::string())
        .bind(6, static_cast<int64_t>(optionalFlag(j, "cancel_on_reply") ? 1 : 0))
        .bind(7, now)
        .bind(8, replace)
        .run();
    added.push_back(db.changes() == 1);
  }
  out += '{';
  appendFlags(out, "added", added);
  out += '}';
}

void validateJobClaim(const Json& in) {
  Fields f(st::kJobClaim, in);
  f.string("owner");
  f.integer("lease_ms", 1);
  f.integer("now");
  f.integer("limit", 1, kMaxLimit);
}

// Due pending jobs (from scheduled_jobs_due) and running jobs whose lease
// expired (from scheduled_jobs_lease), merged in due order.
constexpr const char* kSelectClaimableJobs =
    "SELECT " WAFLOW_JOB_COLUMNS
    " FROM scheduled_jobs WHERE state = 'pending' AND due_at <= ?1 "
    "UNION ALL SELECT " WAFLOW_JOB_COLUMNS
    " FROM scheduled_jobs WHERE state = 'running' AND lease_until < ?1 "
    "ORDER BY due_at, id LIMIT ?2";

constexpr const char* kMarkJobRunning =
    "UPDATE scheduled_jobs SET state = 'running', owner = ?2, lease_until = ?3, "
    "attempts = attempts + 1, updated_at = ?4 WHERE id = ?1";

Json runJobClaim(Db& db, const Json& in) {
  int64_t now = num(in, "now");
  int64_t lease_until = leaseUntil(now, num(in, "lease_ms"));
  Json jobs = Json::array();
  {
    Stmt s = db.prepare(kSelectClaimableJobs);
    s.bind(1, now).bind(2, num(in, "limit"));
    while (s.step()) {
      Json job = jobRow(s);
      job["attempts"] = s.int64(5) + 1;
      jobs.push_back(std::move(job));
    }
  }
  for (const Json& job : jobs) {
    Stmt u = db.prepare(kMarkJobRunning);
    u.bindRef(1, job["id"].get_ref<const std::string&>())
        .bindRef(2, str(in, "owner"))
        .bind(3, lease_until)
        .bind(4, now)
        .run();
  }
  return {{"jobs", std::move(jobs)}};
}

void validateJobDone(const Json& in) {
  Fields(st::kJobDone, in).strings("ids");
}

constexpr const char* kDeleteJob = "DELETE FROM scheduled_jobs WHERE id = ?1";

// Runs `sql` with each id of the input's "ids"; the rows it changed.
int64_t forEachId(Db& db, const Json& in, const char* sql) {
  int64_t changed = 0;
  for (const Json& id : in.at("ids")) {
    Stmt s = db.prepare(sql);
    s.bindRef(1, id.get_ref<const std::string&>()).run();
    changed += db.changes();
  }
  return changed;
}

Json runJobDone(Db& db, const Json& in) {
  return {{"done", forEachId(db, in, kDeleteJob)}};
}

void validateJobCancel(const Json& in) {
  Fields f(st::kJobCancel, in);
  bool by_ids = f.has("ids");
  if (by_ids == f.has("conversation")) {
    if (by_ids) {
      f.invalid("conversation",
                "cannot be given with ids: cancel either by ids or by conversation");
    }
    f.invalid("ids", "or conversation is required");
  }
  if (by_ids) {
    f.strings("ids");
    return;
  }
  f.string("conversation");
  if (f.has("only_cancel_on_reply")) {
    f.boolean("only_cancel_on_reply");
  }
}

// A running job is left to finish (its handler is already at work).
constexpr const char* kCancelJob = "DELETE FROM scheduled_jobs WHERE id = ?1 AND state = 'pending'";
// `conversation <> ''` lets the planner use scheduled_jobs_conversation.
constexpr const char* kCancelConversationJobs =
    "DELETE FROM scheduled_jobs WHERE conversation = ?1 AND conversation <> '' "
    "AND state = 'pending' AND (?2 = 0 OR cancel_on_reply = 1)";

Json runJobCancel(Db& db, const Json& in) {
  if (in.contains("ids") && !in.at("ids").is_null()) {
    return {{"cancelled", forEachId(db, in, kCancelJob)}};
  }
  Stmt s = db.prepare(kCancelConversationJobs);
  s.bindRef(1, str(in, "conversation"))
      .bind(2, static_cast<int64_t>(optionalFlag(in, "only_cancel_on_reply") ? 1 : 0))
      .run();
  return {{"cancelled", db.changes()}};
}

void validateJobRecover(const Json& in) {
  Fields(st::kJobRecover, in).string("owner");
}

constexpr const char* kRecoverJobs =
    "UPDATE scheduled_jobs SET state = 'pending', owner = NULL, lease_until = NULL, "
    "updated_at = ?2 WHERE state = 'running' AND owner = ?1";

Json runJobRecover(Db& db, const Json& in) {
  Stmt s = db.prepare(kRecoverJobs);
  s.bindRef(1, str(in, "owner")).bind(2, nowMs()).run();
  return {{"recovered", db.changes()}};
}

void validateJobNext(const Json& in) {
  Fields(st::kJobNext, in);
}

constexpr const char* kSelectNextDue =
    "SELECT MIN(due_at) FROM scheduled_jobs WHERE state = 'pending'";

Json runJobNext(Db& db, const Json&) {
  Stmt s = db.prepare(kSelectNextDue);
  s.step();
  return {{"due_at", s.isNull(0) ? Json(nullptr) : Json(s.int64(0))}};
}

void validateJobGet(const Json& in) {
  Fields(st::kJobGet, in).string("id");
}

constexpr const char* kSelectJob =
    "SELECT " WAFLOW_JOB_COLUMNS ", state, cancel_on_reply FROM scheduled_jobs WHERE id = ?1";

Json runJobGet(Db& db, const Json& in) {
  Stmt s = db.prepare(kSelectJob);
  s.bindRef(1, str(in, "id"));
  if (!s.step()) {
    return {{"job", nullptr}};
  }
  Json job = jobRow(s);
  job["state"] = s.text(6);
  job["cancel_on_reply"] = s.int64(7) != 0;
  return {{"job", std::move(job)}};
}

const std::array<Operation, 13> kFlowOperations = {{
    {st::kContactGet, &validateContactGet, &dumped<&runContactGet>},
    {st::kContactUpdate, &validateContactUpdate, &dumped<&runContactUpdate>},
    {st::kContactList, &validateContactList, &dumped<&runContactList>},
    {st::kConversationGet, &validateConversationGet, &dumped<&runConversationGet>},
    {st::kConversationPut, &validateConversationPut, &runConversationPut},
    {st::kConversationWaiting, &validateConversationWaiting, &dumped<&runConversationWaiting>},
    {st::kJobAdd, &validateJobAdd, &runJobAdd},
    {st::kJobClaim, &validateJobClaim, &dumped<&runJobClaim>},
    {st::kJobDone, &validateJobDone, &dumped<&runJobDone>},
    {st::kJobCancel, &validateJobCancel, &dumped<&runJobCancel>},
    {st::kJobRecover, &validateJobRecover, &dumped<&runJobRecover>},
    {st::kJobNext, &validateJobNext, &dumped<&runJobNext>},
    {st::kJobGet, &validateJobGet, &dumped<&runJobGet>},
}};

}  // namespace

std::span<const Operation> flowOperations() {
  return kFlowOperations;
}

}  // namespace waflow::storage_sqlite
