#include "operations.h"

#include <waflow/sdk/storage.hpp>
#include <waflow/sdk/types.hpp>

#include <array>
#include <chrono>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace waflow::storage_sqlite {
namespace {

// ---- input validation ----------------------------------------------------------

// Checks the fields of one JSON object of an operation's input. `prefix`
// locates the object in the input ("messages[2]."), so errors name the exact
// field: "inbox.put: messages[2].received_at must be an integer".
class Fields {
 public:
  Fields(std::string_view op, const Json& object, std::string prefix = {})
      : op_(op), object_(object), prefix_(std::move(prefix)) {
    if (!object_.is_object()) {
      std::string where = prefix_.empty() ? "the input" : prefix_.substr(0, prefix_.size() - 1);
      fail(where + " must be a JSON object");
    }
  }

  void string(const char* key, bool non_empty = true) const {
    const Json& v = field(key);
    if (!v.is_string()) {
      fail(name(key) + " must be a string");
    }
    if (non_empty && v.get_ref<const std::string&>().empty()) {
      fail(name(key) + " must not be empty");
    }
  }

  void integer(const char* key, int64_t min = 0,
               int64_t max = std::numeric_limits<int64_t>::max()) const {
    const Json& v = field(key);
    if (!v.is_number_integer()) {
      fail(name(key) + " must be an integer");
    }
    bool in_range = false;
    if (v.is_number_unsigned()) {
      auto x = v.get<uint64_t>();
      in_range = x <= static_cast<uint64_t>(max) && (min <= 0 || x >= static_cast<uint64_t>(min));
    } else {
      auto x = v.get<int64_t>();
      in_range = x >= min && x <= max;
    }
    if (!in_range) {
      std::string range = max == std::numeric_limits<int64_t>::max()
                              ? "at least " + std::to_string(min)
                              : "between " + std::to_string(min) + " and " + std::to_string(max);
      fail(name(key) + " must be " + range + " (got " + v.dump() + ")");
    }
  }

  void object(const char* key, bool nullable) const {
    const Json& v = field(key);
    if (!(v.is_object() || (nullable && v.is_null()))) {
      fail(name(key) + (nullable ? " must be a JSON object or null" : " must be a JSON object"));
    }
  }

  // A JSON object, or the same object already serialised as a JSON string
  // (callers on the hot path send text so nobody builds a DOM for it).
  void objectOrText(const char* key) const {
    const Json& v = field(key);
    if (v.is_object()) {
      return;
    }
    if (v.is_string()) {
      const std::string& text = v.get_ref<const std::string&>();
      std::size_t first = text.find_first_not_of(" \t\r\n");
      if (first != std::string::npos && text[first] == '{') {
        return;
      }
    }
    fail(name(key) + " must be a JSON object (or a string holding one)");
  }

  // Validates each element of the array `key` with `each(Fields&)`.
  template <typename Each>
  void array(const char* key, Each each) const {
    const Json& v = field(key);
    if (!v.is_array()) {
      fail(name(key) + " must be an array");
    }
    for (std::size_t i = 0; i < v.size(); ++i) {
      each(Fields(op_, v[i], name(key) + "[" + std::to_string(i) + "]."));
    }
  }

 private:
  const Json& field(const char* key) const {
    auto it = object_.find(key);
    if (it == object_.end()) {
      fail(name(key) + " is required");
    }
    return *it;
  }
  std::string name(const char* key) const { return prefix_ + key; }
  [[noreturn]] void fail(const std::string& problem) const {
    throw waflow::Error(waflow::Rc::kInvalid, std::string(op_) + ": " + problem);
  }

  std::string_view op_;
  const Json& object_;
  std::string prefix_;
};

constexpr int64_t kMaxLimit = 1000000;

const std::string& str(const Json& in, const char* key) {
  return in.at(key).get_ref<const std::string&>();
}
int64_t num(const Json& in, const char* key) {
  return in.at(key).get<int64_t>();
}

// Stored JSON text back to a value; text SQLite holds was written by dump().
Json parseStored(const std::optional<std::string>& text) {
  if (!text) {
    return nullptr;
  }
  Json v = Json::parse(*text, nullptr, false);
  return v.is_discarded() ? Json(*text) : v;
}

// ---- inbox -----------------------------------------------------------------------

void validateInboxPut(const Json& in) {
  Fields(waflow::storage::kInboxPut, in).array("messages", [](const Fields& m) {
    // Only the key must be non-empty: a message is stored whatever else the
    // channel could not fill in, rather than refused (and redelivered forever).
    m.string("channel");
    m.string("id");
    m.string("contact", false);
    m.string("contact_name", false);
    m.string("conversation", false);
    m.string("type", false);
    m.integer("received_at");
    m.objectOrText("event");
  });
}

constexpr const char* kInsertInbox =
    "INSERT INTO inbox (channel, id, contact, contact_name, conversation, type, received_at, "
    "event, stored_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
    "ON CONFLICT (channel, id) DO NOTHING";

// A name is taken when non-empty and at least as recent as what is stored, so
// a late redelivery cannot bring back an old name.
constexpr const char* kUpsertContact =
    "INSERT INTO contacts (channel, contact, name, last_inbound_at, created_at, updated_at) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?5) "
    "ON CONFLICT (channel, contact) DO UPDATE SET "
    "name = CASE WHEN excluded.name <> '' AND (contacts.name = '' OR "
    "excluded.last_inbound_at >= contacts.last_inbound_at) THEN excluded.name "
    "ELSE contacts.name END, "
    "last_inbound_at = MAX(contacts.last_inbound_at, excluded.last_inbound_at), "
    "updated_at = excluded.updated_at";

Json runInboxPut(Db& db, const Json& in) {
  Json flags = Json::array();
  int64_t now = nowMs();
  for (const Json& m : in.at("messages")) {
    bool added = false;
    {
      Stmt s = db.prepare(kInsertInbox);
      s.bind(1, str(m, "channel"))
          .bind(2, str(m, "id"))
          .bind(3, str(m, "contact"))
          .bind(4, str(m, "contact_name"))
          .bind(5, str(m, "conversation"))
          .bind(6, str(m, "type"))
          .bind(7, num(m, "received_at"))
          .bind(8, m.at("event").is_string() ? m.at("event").get_ref<const std::string&>()
                                             : m.at("event").dump())
          .bind(9, now)
          .run();
      added = db.changes() == 1;
    }
    if (!str(m, "contact").empty()) {
      Stmt c = db.prepare(kUpsertContact);
      c.bind(1, str(m, "channel"))
          .bind(2, str(m, "contact"))
          .bind(3, str(m, "contact_name"))
          .bind(4, num(m, "received_at"))
          .bind(5, now)
          .run();
    }
    flags.push_back(added);
  }
  return {{"new", std::move(flags)}};
}

void validateInboxPending(const Json& in) {
  Fields(waflow::storage::kInboxPending, in).integer("limit", 1, kMaxLimit);
}

constexpr const char* kSelectPending =
    "SELECT channel, id, contact, contact_name, conversation, type, received_at, event "
    "FROM inbox WHERE done = 0 ORDER BY seq LIMIT ?1";

Json runInboxPending(Db& db, const Json& in) {
  Json messages = Json::array();
  Stmt s = db.prepare(kSelectPending);
  s.bind(1, num(in, "limit"));
  while (s.step()) {
    messages.push_back({{"channel", s.text(0)},
                        {"id", s.text(1)},
                        {"contact", s.text(2)},
                        {"contact_name", s.text(3)},
                        {"conversation", s.text(4)},
                        {"type", s.text(5)},
                        {"received_at", s.int64(6)},
                        {"event", parseStored(s.text(7))}});
  }
  return {{"messages", std::move(messages)}};
}

void validateInboxDone(const Json& in) {
  Fields(waflow::storage::kInboxDone, in).array("messages", [](const Fields& m) {
    m.string("channel");
    m.string("id");
  });
}

constexpr const char* kMarkDone =
    "UPDATE inbox SET done = 1 WHERE channel = ?1 AND id = ?2 AND done = 0";

Json runInboxDone(Db& db, const Json& in) {
  for (const Json& m : in.at("messages")) {
    Stmt s = db.prepare(kMarkDone);
    s.bind(1, str(m, "channel")).bind(2, str(m, "id")).run();
  }
  return Json::object();
}

// ---- statuses ---------------------------------------------------------------------

void validateStatusPut(const Json& in) {
  Fields(waflow::storage::kStatusPut, in).array("statuses", [](const Fields& s) {
    s.string("channel");
    s.string("message_id");
    s.string("status");
    s.integer("timestamp");
    s.integer("error_code", std::numeric_limits<int64_t>::min());
    s.string("error_message", false);
    s.object("raw", true);
  });
}

constexpr const char* kInsertStatus =
    "INSERT INTO message_statuses (channel, message_id, status, timestamp, error_code, "
    "error_message, raw, stored_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
    "ON CONFLICT (channel, message_id, status) DO NOTHING";

// Providers may report statuses out of order (read before delivered); the
// newest by time wins.
constexpr const char* kOutboxLatestStatus =
    "UPDATE outbox SET last_status = ?3, last_status_at = ?4, updated_at = ?5 "
    "WHERE channel = ?1 AND provider_message_id = ?2 "
    "AND (last_status_at IS NULL OR last_status_at <= ?4)";

Json runStatusPut(Db& db, const Json& in) {
  Json flags = Json::array();
  int64_t now = nowMs();
  for (const Json& st : in.at("statuses")) {
    bool added = false;
    {
      Stmt s = db.prepare(kInsertStatus);
      s.bind(1, str(st, "channel"))
          .bind(2, str(st, "message_id"))
          .bind(3, str(st, "status"))
          .bind(4, num(st, "timestamp"))
          .bind(5, num(st, "error_code"))
          .bind(6, str(st, "error_message"));
      if (st.at("raw").is_null()) {
        s.bindNull(7);
      } else {
        s.bind(7, st.at("raw").dump());
      }
      s.bind(8, now).run();
      added = db.changes() == 1;
    }
    if (added) {
      Stmt u = db.prepare(kOutboxLatestStatus);
      u.bind(1, str(st, "channel"))
          .bind(2, str(st, "message_id"))
          .bind(3, str(st, "status"))
          .bind(4, num(st, "timestamp"))
          .bind(5, now)
          .run();
    }
    flags.push_back(added);
  }
  return {{"new", std::move(flags)}};
}

// ---- contacts ---------------------------------------------------------------------

void validateContactGet(const Json& in) {
  Fields f(waflow::storage::kContactGet, in);
  f.string("channel");
  f.string("contact");
}

constexpr const char* kSelectContact =
    "SELECT name, last_inbound_at, attributes, tags, opted_in FROM contacts "
    "WHERE channel = ?1 AND contact = ?2";

Json runContactGet(Db& db, const Json& in) {
  Stmt s = db.prepare(kSelectContact);
  s.bind(1, str(in, "channel")).bind(2, str(in, "contact"));
  if (!s.step()) {
    return {{"contact", nullptr}};
  }
  return {{"contact",
           {{"channel", str(in, "channel")},
            {"contact", str(in, "contact")},
            {"name", s.text(0)},
            {"last_inbound_at", s.int64(1)},
            {"attributes", parseStored(s.text(2))},
            {"tags", parseStored(s.text(3))},
            {"opted_in", s.int64(4) != 0}}}};
}

// ---- outbox ------------------------------------------------------------------------

void validateOutboxAdd(const Json& in) {
  Fields(waflow::storage::kOutboxAdd, in).array("messages", [](const Fields& m) {
    m.string("id");
    m.string("channel");
    m.string("to");
    m.string("conversation");
    m.string("type");
    m.string("text", false);
    m.string("reply_to", false);
    m.object("payload", true);
    m.integer("not_before");
  });
}

constexpr const char* kInsertOutbox =
    "INSERT INTO outbox (id, channel, \"to\", conversation, type, text, reply_to, payload, "
    "not_before, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10) "
    "ON CONFLICT (id) DO NOTHING";

Json runOutboxAdd(Db& db, const Json& in) {
  Json flags = Json::array();
  int64_t now = nowMs();
  for (const Json& m : in.at("messages")) {
    Stmt s = db.prepare(kInsertOutbox);
    s.bind(1, str(m, "id"))
        .bind(2, str(m, "channel"))
        .bind(3, str(m, "to"))
        .bind(4, str(m, "conversation"))
        .bind(5, str(m, "type"))
        .bind(6, str(m, "text"))
        .bind(7, str(m, "reply_to"));
    if (m.at("payload").is_null()) {
      s.bindNull(8);
    } else {
      s.bind(8, m.at("payload").dump());
    }
    s.bind(9, num(m, "not_before")).bind(10, now).run();
    flags.push_back(db.changes() == 1);
  }
  return {{"added", std::move(flags)}};
}

// The columns outboxRow() reads, in its order.
#define WAFLOW_OUTBOX_COLUMNS                                                           \
  "seq, id, channel, \"to\", conversation, type, text, reply_to, payload, not_before, " \
  "attempts, state, provider_message_id, last_error"

// An outbox row as OutboxMessage + attempts and state; `detail` adds what
// outbox.get shows (provider_message_id, last_error).
Json outboxRow(const Stmt& s, bool detail) {
  Json m = {{"id", s.text(1)},          {"channel", s.text(2)},
            {"to", s.text(3)},          {"conversation", s.text(4)},
            {"type", s.text(5)},        {"text", s.text(6)},
            {"reply_to", s.text(7)},    {"payload", parseStored(s.optionalText(8))},
            {"not_before", s.int64(9)}, {"attempts", s.int64(10)},
            {"state", s.text(11)}};
  if (detail) {
    std::optional<std::string> provider_id = s.optionalText(12);
    m["provider_message_id"] = provider_id ? Json(*provider_id) : Json(nullptr);
    m["last_error"] = s.text(13);
  }
  return m;
}

void validateOutboxClaim(const Json& in) {
  Fields f(waflow::storage::kOutboxClaim, in);
  f.integer("limit", 1, kMaxLimit);
  f.integer("now");
  f.integer("lease_ms", 1);
  f.string("owner");
}

// A due pending message is claimable only when no earlier message of its
// conversation is pending or sending: at most one message per conversation is
// in flight, and a retry (back to pending) keeps its place ahead of later ones.
// Both lookups are index ranges (outbox_due, outbox_conversation).
constexpr const char* kSelectClaimable =
    "SELECT " WAFLOW_OUTBOX_COLUMNS
    " FROM outbox AS o WHERE o.state = 'pending' AND o.not_before <= ?1 "
    "AND NOT EXISTS (SELECT 1 FROM outbox AS e WHERE e.conversation = o.conversation "
    "AND e.state IN ('pending', 'sending') AND e.seq < o.seq) "
    "ORDER BY o.seq LIMIT ?2";

constexpr const char* kMarkSending =
    "UPDATE outbox SET state = 'sending', owner = ?2, lease_until = ?3, updated_at = ?4 "
    "WHERE seq = ?1";

Json runOutboxClaim(Db& db, const Json& in) {
  int64_t now = num(in, "now");
  int64_t lease_ms = num(in, "lease_ms");
  int64_t lease_until = now > std::numeric_limits<int64_t>::max() - lease_ms
                            ? std::numeric_limits<int64_t>::max()
                            : now + lease_ms;
  Json messages = Json::array();
  std::vector<int64_t> seqs;
  {
    Stmt s = db.prepare(kSelectClaimable);
    s.bind(1, now).bind(2, num(in, "limit"));
    while (s.step()) {
      Json m = outboxRow(s, false);
      m["state"] = "sending";
      messages.push_back(std::move(m));
      seqs.push_back(s.int64(0));
    }
  }
  for (int64_t seq : seqs) {
    Stmt u = db.prepare(kMarkSending);
    u.bind(1, seq).bind(2, str(in, "owner")).bind(3, lease_until).bind(4, now).run();
  }
  return {{"messages", std::move(messages)}};
}

[[noreturn]] void unknownOutboxId(std::string_view op, const std::string& id) {
  throw waflow::Error(waflow::Rc::kInvalid,
                      std::string(op) + ": id: no outbox message has the id '" + id + "'");
}

void validateOutboxSent(const Json& in) {
  Fields f(waflow::storage::kOutboxSent, in);
  f.string("id");
  f.string("provider_message_id");
  f.integer("now");
}

// A status can arrive before the send's answer was recorded: take the newest
// one already stored for this provider id.
constexpr const char* kMarkSent =
    "UPDATE outbox SET state = 'sent', provider_message_id = ?2, lease_until = NULL, "
    "updated_at = ?3, (last_status, last_status_at) = (SELECT status, timestamp "
    "FROM message_statuses AS s WHERE s.channel = outbox.channel AND s.message_id = ?2 "
    "ORDER BY timestamp DESC, seq DESC LIMIT 1) WHERE id = ?1";

Json runOutboxSent(Db& db, const Json& in) {
  Stmt s = db.prepare(kMarkSent);
  s.bind(1, str(in, "id")).bind(2, str(in, "provider_message_id")).bind(3, num(in, "now")).run();
  if (db.changes() == 0) {
    unknownOutboxId(waflow::storage::kOutboxSent, str(in, "id"));
  }
  return Json::object();
}

void validateOutboxRetry(const Json& in) {
  Fields f(waflow::storage::kOutboxRetry, in);
  f.string("id");
  f.integer("not_before");
  f.string("error", false);
}

constexpr const char* kMarkRetry =
    "UPDATE outbox SET state = 'pending', attempts = attempts + 1, not_before = ?2, "
    "last_error = ?3, lease_until = NULL, updated_at = ?4 WHERE id = ?1";

Json runOutboxRetry(Db& db, const Json& in) {
  Stmt s = db.prepare(kMarkRetry);
  s.bind(1, str(in, "id"))
      .bind(2, num(in, "not_before"))
      .bind(3, str(in, "error"))
      .bind(4, nowMs())
      .run();
  if (db.changes() == 0) {
    unknownOutboxId(waflow::storage::kOutboxRetry, str(in, "id"));
  }
  return Json::object();
}

void validateOutboxFailed(const Json& in) {
  Fields f(waflow::storage::kOutboxFailed, in);
  f.string("id");
  f.string("error", false);
  f.integer("now");
}

constexpr const char* kMarkFailed =
    "UPDATE outbox SET state = 'failed', attempts = attempts + 1, last_error = ?2, "
    "lease_until = NULL, updated_at = ?3 WHERE id = ?1";

Json runOutboxFailed(Db& db, const Json& in) {
  Stmt s = db.prepare(kMarkFailed);
  s.bind(1, str(in, "id")).bind(2, str(in, "error")).bind(3, num(in, "now")).run();
  if (db.changes() == 0) {
    unknownOutboxId(waflow::storage::kOutboxFailed, str(in, "id"));
  }
  return Json::object();
}

void validateOutboxRecover(const Json& in) {
  Fields(waflow::storage::kOutboxRecover, in).integer("now");
}

constexpr const char* kSelectExpired = "SELECT " WAFLOW_OUTBOX_COLUMNS
                                       " FROM outbox WHERE state = 'sending' AND lease_until <= ?1 "
                                       "ORDER BY seq";

constexpr const char* kMarkInDoubt =
    "UPDATE outbox SET state = 'in_doubt', lease_until = NULL, updated_at = ?2 WHERE seq = ?1";

Json runOutboxRecover(Db& db, const Json& in) {
  Json messages = Json::array();
  std::vector<int64_t> seqs;
  {
    Stmt s = db.prepare(kSelectExpired);
    s.bind(1, num(in, "now"));
    while (s.step()) {
      Json m = outboxRow(s, false);
      m["state"] = "in_doubt";
      messages.push_back(std::move(m));
      seqs.push_back(s.int64(0));
    }
  }
  for (int64_t seq : seqs) {
    Stmt u = db.prepare(kMarkInDoubt);
    u.bind(1, seq).bind(2, num(in, "now")).run();
  }
  return {{"in_doubt", std::move(messages)}};
}

void validateOutboxGet(const Json& in) {
  Fields(waflow::storage::kOutboxGet, in).string("id");
}

constexpr const char* kSelectOutbox = "SELECT " WAFLOW_OUTBOX_COLUMNS " FROM outbox WHERE id = ?1";

constexpr const char* kSelectStatuses =
    "SELECT status, timestamp, error_code FROM message_statuses "
    "WHERE channel = ?1 AND message_id = ?2 ORDER BY timestamp, seq";

Json runOutboxGet(Db& db, const Json& in) {
  Json message;
  std::string channel;
  std::optional<std::string> provider_id;
  {
    Stmt s = db.prepare(kSelectOutbox);
    s.bind(1, str(in, "id"));
    if (!s.step()) {
      return {{"message", nullptr}};
    }
    message = outboxRow(s, true);
    channel = s.text(2);
    provider_id = s.optionalText(12);
  }
  Json statuses = Json::array();
  if (provider_id) {
    Stmt s = db.prepare(kSelectStatuses);
    s.bind(1, channel).bind(2, *provider_id);
    while (s.step()) {
      statuses.push_back(
          {{"status", s.text(0)}, {"timestamp", s.int64(1)}, {"error_code", s.int64(2)}});
    }
  }
  message["statuses"] = std::move(statuses);
  return {{"message", std::move(message)}};
}

// ---- key-value ----------------------------------------------------------------------

void validateKvKey(std::string_view op, const Json& in) {
  Fields(op, in).string("key");
}
void validateKvGet(const Json& in) {
  validateKvKey(waflow::storage::kKvGet, in);
}
void validateKvDelete(const Json& in) {
  validateKvKey(waflow::storage::kKvDelete, in);
}
void validateKvPut(const Json& in) {
  Fields f(waflow::storage::kKvPut, in);
  f.string("key");
  f.string("value", false);
}

constexpr const char* kSelectKv = "SELECT value FROM kv WHERE key = ?1";
constexpr const char* kUpsertKv =
    "INSERT INTO kv (key, value, updated_at) VALUES (?1, ?2, ?3) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at";
constexpr const char* kDeleteKv = "DELETE FROM kv WHERE key = ?1";

Json runKvGet(Db& db, const Json& in) {
  Stmt s = db.prepare(kSelectKv);
  s.bind(1, str(in, "key"));
  return {{"value", s.step() ? Json(s.text(0)) : Json(nullptr)}};
}

Json runKvPut(Db& db, const Json& in) {
  Stmt s = db.prepare(kUpsertKv);
  s.bind(1, str(in, "key")).bind(2, str(in, "value")).bind(3, nowMs()).run();
  return Json::object();
}

Json runKvDelete(Db& db, const Json& in) {
  Stmt s = db.prepare(kDeleteKv);
  s.bind(1, str(in, "key")).run();
  return {{"deleted", db.changes() > 0}};
}

namespace st = waflow::storage;

const std::array<Operation, 15> kOperations = {{
    {st::kInboxPut, true, &validateInboxPut, &runInboxPut},
    {st::kInboxPending, false, &validateInboxPending, &runInboxPending},
    {st::kInboxDone, true, &validateInboxDone, &runInboxDone},
    {st::kStatusPut, true, &validateStatusPut, &runStatusPut},
    {st::kContactGet, false, &validateContactGet, &runContactGet},
    {st::kOutboxAdd, true, &validateOutboxAdd, &runOutboxAdd},
    {st::kOutboxClaim, true, &validateOutboxClaim, &runOutboxClaim},
    {st::kOutboxSent, true, &validateOutboxSent, &runOutboxSent},
    {st::kOutboxRetry, true, &validateOutboxRetry, &runOutboxRetry},
    {st::kOutboxFailed, true, &validateOutboxFailed, &runOutboxFailed},
    {st::kOutboxRecover, true, &validateOutboxRecover, &runOutboxRecover},
    {st::kOutboxGet, false, &validateOutboxGet, &runOutboxGet},
    {st::kKvGet, false, &validateKvGet, &runKvGet},
    {st::kKvPut, true, &validateKvPut, &runKvPut},
    {st::kKvDelete, true, &validateKvDelete, &runKvDelete},
}};

}  // namespace

const Operation* findOperation(std::string_view name) {
  for (const Operation& op : kOperations) {
    if (op.name == name) {
      return &op;
    }
  }
  return nullptr;
}

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace waflow::storage_sqlite
