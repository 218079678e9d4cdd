#include "operations.h"

#include "ai_operations.h"
#include "audit_operations.h"
#include "flow_operations.h"
#include "knowledge_operations.h"
#include "operation_support.h"
#include "quarantine_operations.h"

#include <waflow/sdk/storage.hpp>
#include <waflow/sdk/types.hpp>

#include <array>
#include <chrono>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace waflow::storage_sqlite {
namespace {

// ---- inbox -----------------------------------------------------------------------

void validateInboxPut(const Json& in) {
  Fields(waflow::storage::kInboxPut, in).array("messages", [](const Fields& m) {
    // Only the key must be non-empty: a message is stored whatever else the
    // channel could not fill in, rather than refused (and redelivered forever).
    m.string("channel");
    m.string("id");
    m.string("contact", false);
    m.string("contact_name", false);
    for (const char* identifier : {"phone", "user_id"}) {
      if (m.has(identifier)) {
        m.string(identifier, false);
      }
    }
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
// a late redelivery cannot bring back an old name. The first message ever
// stored for a contact (none inbound before: last_inbound_at 0) is kept. A new
// contact takes the message's phone and user id; a known one changes them only
// through kLinkIdentifiers, so its indexes are not rewritten by every message.
constexpr const char* kUpsertContact =
    "INSERT INTO contacts (channel, contact, name, last_inbound_at, created_at, updated_at, "
    "first_message_id, phone, user_id) VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7, ?8) "
    "ON CONFLICT (channel, contact) DO UPDATE SET "
    "first_message_id = CASE WHEN contacts.last_inbound_at = 0 AND "
    "contacts.first_message_id = '' THEN excluded.first_message_id "
    "ELSE contacts.first_message_id END, "
    "name = CASE WHEN excluded.name <> '' AND (contacts.name = '' OR "
    "excluded.last_inbound_at >= contacts.last_inbound_at) THEN excluded.name "
    "ELSE contacts.name END, "
    "last_inbound_at = MAX(contacts.last_inbound_at, excluded.last_inbound_at), "
    "updated_at = excluded.updated_at";

// A non-empty phone or user id is taken: this links the two identifiers.
constexpr const char* kLinkIdentifiers =
    "UPDATE contacts SET phone = CASE WHEN ?3 <> '' THEN ?3 ELSE phone END, "
    "user_id = CASE WHEN ?4 <> '' THEN ?4 ELSE user_id END WHERE channel = ?1 AND contact = ?2";

constexpr const char* kSelectIdentifiers =
    "SELECT phone, user_id FROM contacts WHERE channel = ?1 AND contact = ?2";

// The same person under another key: keyed by the message's phone (?2) or user id (?3), or
// carrying one of them (NULL when the message has none). Each branch is one index lookup;
// INDEXED BY holds the planner to that (left to itself it scanned the channel's contacts).
constexpr const char* kSelectSamePerson =
    "SELECT contact FROM ("
    "SELECT contact, 1 AS rank FROM contacts WHERE channel = ?1 AND contact = ?2 "
    "UNION ALL SELECT contact, 2 FROM contacts WHERE channel = ?1 AND contact = ?3 "
    "UNION ALL SELECT contact, 3 FROM contacts INDEXED BY contacts_phone "
    "WHERE channel = ?1 AND phone = ?2 AND phone <> '' "
    "UNION ALL SELECT contact, 3 FROM contacts INDEXED BY contacts_user_id "
    "WHERE channel = ?1 AND user_id = ?3 AND user_id <> '') "
    "ORDER BY rank, contact LIMIT 1";

constexpr const char* kSelectStoredContact =
    "SELECT contact FROM inbox WHERE channel = ?1 AND id = ?2";

// The optional string `key` of a validated message; "" when absent.
const std::string& optionalStr(const Json& m, const char* key) {
  static const std::string kNone;
  auto it = m.find(key);
  return it == m.end() || it->is_null() ? kNone : it->get_ref<const std::string&>();
}

// Where one inbox.put message goes.
struct Destination {
  std::string contact;       // the contact it is stored under
  std::string conversation;  // and its conversation
  bool link = false;         // the contact must take the message's phone / user id
};

// The contact a message names when that exists (the common case, one lookup), else the same
// person known by the message's other identifier, else the one it names (a new contact).
Destination destinationOf(Db& db, const Json& m, const std::string& phone,
                          const std::string& user_id) {
  const std::string& channel = str(m, "channel");
  Destination to{str(m, "contact"), str(m, "conversation")};
  if (to.contact.empty() || (phone.empty() && user_id.empty())) {
    return to;
  }
  {
    Stmt known = db.prepare(kSelectIdentifiers);
    known.bindRef(1, channel).bindRef(2, to.contact);
    if (known.step()) {
      to.link = (!phone.empty() && known.text(0) != phone) ||
                (!user_id.empty() && known.text(1) != user_id);
      return to;
    }
  }
  Stmt same = db.prepare(kSelectSamePerson);
  same.bindRef(1, channel);
  phone.empty() ? same.bindNull(2) : same.bindRef(2, phone);
  user_id.empty() ? same.bindNull(3) : same.bindRef(3, user_id);
  if (same.step()) {
    to.contact = same.text(0);
    to.conversation = channel + ":" + to.contact;
    to.link = true;
  }
  return to;
}

// Stores the message under `to`; true when it is new.
bool insertInbox(Db& db, const Json& m, const Destination& to, int64_t now) {
  const Json& event = m.at("event");
  std::string event_text = event.is_string() ? std::string() : event.dump();
  Stmt s = db.prepare(kInsertInbox);
  s.bindRef(1, str(m, "channel"))
      .bindRef(2, str(m, "id"))
      .bindRef(3, to.contact)
      .bindRef(4, str(m, "contact_name"))
      .bindRef(5, to.conversation)
      .bindRef(6, str(m, "type"))
      .bind(7, num(m, "received_at"))
      .bindRef(8, event.is_string() ? event.get_ref<const std::string&>() : event_text)
      .bind(9, now)
      .run();
  return db.changes() == 1;
}

void upsertContact(Db& db, const Json& m, const Destination& to, const std::string& phone,
                   const std::string& user_id, int64_t now) {
  const std::string& channel = str(m, "channel");
  {
    Stmt c = db.prepare(kUpsertContact);
    c.bindRef(1, channel)
        .bindRef(2, to.contact)
        .bindRef(3, str(m, "contact_name"))
        .bind(4, num(m, "received_at"))
        .bind(5, now)
        .bindRef(6, str(m, "id"))
        .bindRef(7, phone)
        .bindRef(8, user_id)
        .run();
  }
  if (to.link) {
    Stmt l = db.prepare(kLinkIdentifiers);
    l.bindRef(1, channel).bindRef(2, to.contact).bindRef(3, phone).bindRef(4, user_id).run();
  }
}

std::string storedContact(Db& db, const std::string& channel, const std::string& id) {
  Stmt s = db.prepare(kSelectStoredContact);
  s.bindRef(1, channel).bindRef(2, id);
  return s.step() ? s.text(0) : std::string();
}

void runInboxPut(Db& db, const Json& in, std::string& out) {
  const Json& messages = in.at("messages");
  std::vector<bool> flags;
  std::vector<std::string> contacts;
  flags.reserve(messages.size());
  contacts.reserve(messages.size());
  int64_t now = nowMs();
  for (const Json& m : messages) {
    const std::string& phone = optionalStr(m, "phone");
    const std::string& user_id = optionalStr(m, "user_id");
    Destination to = destinationOf(db, m, phone, user_id);
    flags.push_back(insertInbox(db, m, to, now));
    contacts.push_back(flags.back() ? to.contact
                                    : storedContact(db, str(m, "channel"), str(m, "id")));
    if (!to.contact.empty()) {
      upsertContact(db, m, to, phone, user_id, now);
    }
  }
  out += '{';
  appendFlags(out, "new", flags);
  out += ",\"contacts\":[";
  for (std::size_t i = 0; i < contacts.size(); ++i) {
    out += i == 0 ? "" : ",";
    appendString(out, contacts[i]);
  }
  out += "]}";
}

void validateInboxPending(const Json& in) {
  Fields(waflow::storage::kInboxPending, in).integer("limit", 1, kMaxLimit);
}

constexpr const char* kSelectPending =
    "SELECT channel, id, contact, contact_name, conversation, type, received_at, event, "
    "attempts FROM inbox WHERE done = 0 ORDER BY seq LIMIT ?1";

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
                        {"event", parseStored(s.text(7))},
                        {"attempts", s.int64(8)}});
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

void runInboxDone(Db& db, const Json& in, std::string& out) {
  for (const Json& m : in.at("messages")) {
    Stmt s = db.prepare(kMarkDone);
    s.bindRef(1, str(m, "channel")).bindRef(2, str(m, "id")).run();
  }
  out += "{}";
}

// ---- outbox ------------------------------------------------------------------------

// States in which a message holds back the later messages of its conversation:
// waiting to be sent, being sent, or sent with an outcome nobody knows yet.
#define WAFLOW_UNFINISHED "('pending', 'sending', 'in_doubt')"

void validateOutboxAdd(const Json& in) {
  Fields f(waflow::storage::kOutboxAdd, in);
  f.array("messages", [](const Fields& m) {
    m.string("id");
    m.string("channel");
    m.string("to");
    m.string("conversation");
    m.string("type");
    m.string("text", false);
    m.string("reply_to", false);
    m.objectOrText("payload", true);
    m.integer("not_before");
  });
  if (f.has("claim")) {
    Fields claim = f.nested("claim");
    claim.string("owner");
    claim.integer("lease_ms", 1);
    claim.integer("now");
  }
}

// Whether a conversation has a message that holds back a new one (a range of
// outbox_unfinished, which holds only such messages).
constexpr const char* kConversationBusy =
    "SELECT 1 FROM outbox WHERE conversation = ?1 AND state IN " WAFLOW_UNFINISHED " LIMIT 1";

constexpr const char* kInsertOutbox =
    "INSERT INTO outbox (id, channel, \"to\", conversation, type, text, reply_to, payload, "
    "not_before, state, owner, lease_until, created_at, updated_at) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13) "
    "ON CONFLICT (id) DO NOTHING";

void runOutboxAdd(Db& db, const Json& in, std::string& out) {
  const Json& messages = in.at("messages");
  std::vector<bool> added;
  std::vector<bool> claimed;
  added.reserve(messages.size());
  claimed.reserve(messages.size());
  int64_t now = nowMs();
  const Json* claim = nullptr;
  if (auto it = in.find("claim"); it != in.end() && !it->is_null()) {
    claim = &*it;
  }
  for (const Json& m : messages) {
    const std::string& conversation = str(m, "conversation");
    int64_t not_before = num(m, "not_before");
    // Claimed at once: due, and nothing earlier of its conversation unfinished
    // (within this batch too, since each row is inserted before the next check).
    bool claim_it = claim != nullptr && not_before <= num(*claim, "now");
    if (claim_it) {
      Stmt busy = db.prepare(kConversationBusy);
      busy.bindRef(1, conversation);
      claim_it = !busy.step();
    }
    const Json& payload = m.at("payload");
    std::string payload_text = payload.is_object() ? payload.dump() : std::string();
    Stmt s = db.prepare(kInsertOutbox);
    s.bindRef(1, str(m, "id"))
        .bindRef(2, str(m, "channel"))
        .bindRef(3, str(m, "to"))
        .bindRef(4, conversation)
        .bindRef(5, str(m, "type"))
        .bindRef(6, str(m, "text"))
        .bindRef(7, str(m, "reply_to"));
    if (payload.is_null()) {
      s.bindNull(8);
    } else {
      s.bindRef(8, payload.is_string() ? payload.get_ref<const std::string&>() : payload_text);
    }
    s.bind(9, not_before);
    if (claim_it) {
      s.bindRef(10, "sending")
          .bindRef(11, str(*claim, "owner"))
          .bind(12, leaseUntil(num(*claim, "now"), num(*claim, "lease_ms")));
    } else {
      s.bindRef(10, "pending").bindNull(11).bindNull(12);
    }
    s.bind(13, now).run();
    bool is_new = db.changes() == 1;
    added.push_back(is_new);
    claimed.push_back(is_new && claim_it);
  }
  out += '{';
  appendFlags(out, "added", added);
  if (claim != nullptr) {
    out += ',';
    appendFlags(out, "claimed", claimed);
  }
  out += '}';
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
// conversation is unfinished: at most one message per conversation is in
// flight, a retry (back to pending) keeps its place ahead of later ones, and a
// send in doubt holds its conversation until it is resolved. Pending messages
// are read in claim order from outbox_due, which holds only them, so a claim
// stops after `limit`; the check is a range of outbox_unfinished.
constexpr const char* kSelectClaimable =
    "SELECT " WAFLOW_OUTBOX_COLUMNS
    " FROM outbox AS o WHERE o.state = 'pending' AND o.not_before <= ?1 "
    "AND NOT EXISTS (SELECT 1 FROM outbox AS e WHERE e.conversation = o.conversation "
    "AND e.state IN " WAFLOW_UNFINISHED
    " AND e.seq < o.seq) "
    "ORDER BY o.seq LIMIT ?2";

constexpr const char* kMarkSending =
    "UPDATE outbox SET state = 'sending', owner = ?2, lease_until = ?3, updated_at = ?4 "
    "WHERE seq = ?1";

Json runOutboxClaim(Db& db, const Json& in) {
  int64_t now = num(in, "now");
  int64_t lease_until = leaseUntil(now, num(in, "lease_ms"));
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

// ---- outbox: outcomes and provider statuses ------------------------------------------
//
// outbox.sent and status.put both settle a message from what the provider
// said; they share one set of rules (applyStatus) so the order in which the
// send's answer and the status webhooks arrive does not matter.

// The columns of an outbox row that outcomes and statuses change.
#define WAFLOW_TRACKED_COLUMNS \
  "seq, id, channel, state, provider_message_id, last_error, last_status, last_status_at"

struct Tracked {
  int64_t seq = 0;
  std::string id;
  std::string channel;
  std::string state;
  std::optional<std::string> provider_id;
  std::string last_error;
  std::optional<std::string> last_status;
  std::optional<int64_t> last_status_at;
  bool release = false;  // clear the lease
  bool changed = false;
};

Tracked readTracked(const Stmt& s) {
  Tracked t;
  t.seq = s.int64(0);
  t.id = s.text(1);
  t.channel = s.text(2);
  t.state = s.text(3);
  t.provider_id = s.optionalText(4);
  t.last_error = s.text(5);
  t.last_status = s.optionalText(6);
  if (!s.isNull(7)) {
    t.last_status_at = s.int64(7);
  }
  return t;
}

constexpr const char* kSelectTrackedByProviderId =
    "SELECT " WAFLOW_TRACKED_COLUMNS
    " FROM outbox WHERE channel = ?1 AND provider_message_id = ?2 ORDER BY seq LIMIT 1";
constexpr const char* kSelectTrackedByIdOnChannel =
    "SELECT " WAFLOW_TRACKED_COLUMNS " FROM outbox WHERE id = ?1 AND channel = ?2";

constexpr const char* kUpdateTracked =
    "UPDATE outbox SET state = ?2, provider_message_id = ?3, last_error = ?4, last_status = ?5, "
    "last_status_at = ?6, lease_until = CASE WHEN ?7 THEN NULL ELSE lease_until END, "
    "updated_at = ?8 WHERE seq = ?1";

void writeTracked(Db& db, const Tracked& t, int64_t now) {
  Stmt u = db.prepare(kUpdateTracked);
  u.bind(1, t.seq)
      .bindRef(2, t.state)
      .bindOptional(3, t.provider_id)
      .bindRef(4, t.last_error)
      .bindOptional(5, t.last_status);
  if (t.last_status_at) {
    u.bind(6, *t.last_status_at);
  } else {
    u.bindNull(6);
  }
  u.bind(7, static_cast<int64_t>(t.release ? 1 : 0)).bind(8, now).run();
}

// "<error_code> <error_message>", the reason a failed status gives.
std::string statusError(int64_t error_code, std::string_view error_message) {
  std::string reason = std::to_string(error_code);
  if (!error_message.empty()) {
    reason += ' ';
    reason += error_message;
  }
  return reason;
}

// A provider status of the message `message_id`, applied to its outbox row.
// Any status but `failed` proves the provider accepted the message; `failed`
// ends it. A failed message stays failed whatever arrives later, and the
// newest status by time is the row's last_status.
void applyStatus(Tracked& t, std::string_view message_id, std::string_view status,
                 int64_t timestamp, int64_t error_code, std::string_view error_message) {
  if (!t.last_status_at || *t.last_status_at <= timestamp) {
    if (t.last_status != status || t.last_status_at != timestamp) {
      t.last_status = std::string(status);
      t.last_status_at = timestamp;
      t.changed = true;
    }
  }
  bool settled = false;
  if (status == "failed") {
    if (t.state == "sent" || t.state == "sending" || t.state == "in_doubt") {
      t.state = "failed";
      t.last_error = statusError(error_code, error_message);
      settled = true;
    }
  } else if (t.state == "pending" || t.state == "sending" || t.state == "in_doubt") {
    // pending: an attempt that looked lost did reach the provider; sending it
    // again would deliver it twice.
    t.state = "sent";
    settled = true;
  }
  if (settled) {
    t.release = true;
    t.changed = true;
    if (!t.provider_id) {
      t.provider_id = std::string(message_id);
    }
  }
}

// The statuses stored for a provider message id, oldest first.
constexpr const char* kSelectStatusesOf =
    "SELECT status, timestamp, error_code, error_message FROM message_statuses "
    "WHERE channel = ?1 AND message_id = ?2 ORDER BY timestamp, seq";

// A failed message stays failed (a failed status may have settled it before
// the send's answer arrived); its provider id is recorded either way.
constexpr const char* kMarkSent =
    "UPDATE outbox SET state = CASE WHEN state = 'failed' THEN 'failed' ELSE 'sent' END, "
    "provider_message_id = ?2, lease_until = NULL, updated_at = ?3 WHERE id = ?1 "
    "RETURNING seq, channel";

constexpr const char* kSelectTrackedBySeq =
    "SELECT " WAFLOW_TRACKED_COLUMNS " FROM outbox WHERE seq = ?1";

// Marks one message sent; false when no message has the id.
bool markSent(Db& db, const std::string& id, const std::string& provider_id, int64_t now) {
  int64_t seq = 0;
  std::string channel;
  {
    Stmt s = db.prepare(kMarkSent);
    s.bindRef(1, id).bindRef(2, provider_id).bind(3, now);
    if (!s.step()) {
      return false;
    }
    seq = s.int64(0);
    channel = s.text(1);
    s.run();
  }
  // A status webhook can beat the answer to the send request: what was stored
  // for this provider id before it was known counts now. Usually there is none.
  Stmt statuses = db.prepare(kSelectStatusesOf);
  statuses.bindRef(1, channel).bindRef(2, provider_id);
  if (!statuses.step()) {
    return true;
  }
  Tracked t;
  {
    Stmt s = db.prepare(kSelectTrackedBySeq);
    s.bind(1, seq);
    s.step();
    t = readTracked(s);
  }
  do {
    applyStatus(t, provider_id, statuses.text(0), statuses.int64(1), statuses.int64(2),
                statuses.text(3));
  } while (statuses.step());
  if (t.changed) {
    writeTracked(db, t, now);
  }
  return true;
}

void validateOutboxSent(const Json& in) {
  Fields f(waflow::storage::kOutboxSent, in);
  if (f.has("messages")) {
    f.array("messages", [](const Fields& m) {
      m.string("id");
      m.string("provider_message_id");
    });
  } else {
    f.string("id");
    f.string("provider_message_id");
  }
  f.integer("now");
}

void runOutboxSent(Db& db, const Json& in, std::string& out) {
  int64_t now = num(in, "now");
  if (auto it = in.find("messages"); it != in.end() && !it->is_null()) {
    out += R"({"unknown":[)";
    bool first = true;
    for (const Json& m : *it) {
      if (!markSent(db, str(m, "id"), str(m, "provider_message_id"), now)) {
        if (!first) {
          out += ',';
        }
        first = false;
        appendString(out, str(m, "id"));
      }
    }
    out += "]}";
    return;
  }
  if (!markSent(db, str(in, "id"), str(in, "provider_message_id"), now)) {
    unknownOutboxId(waflow::storage::kOutboxSent, str(in, "id"));
  }
  out += "{}";
}

// outbox.retry and outbox.failed settle a send that is under way or in doubt;
// any other row (already sent, failed, or pending again) is left as it is, so
// a decision taken on stale knowledge (a status settled the message meanwhile)
// cannot send it twice.
constexpr const char* kOutboxExists = "SELECT 1 FROM outbox WHERE id = ?1";

void changedOrUnknown(Db& db, std::string_view op, const std::string& id, std::string& out) {
  if (db.changes() > 0) {
    out += R"({"changed":true})";
    return;
  }
  Stmt s = db.prepare(kOutboxExists);
  s.bindRef(1, id);
  if (!s.step()) {
    unknownOutboxId(op, id);
  }
  out += R"({"changed":false})";
}

void validateOutboxRetry(const Json& in) {
  Fields f(waflow::storage::kOutboxRetry, in);
  f.string("id");
  f.integer("not_before");
  f.string("error", false);
}

constexpr const char* kMarkRetry =
    "UPDATE outbox SET state = 'pending', attempts = attempts + 1, not_before = ?2, "
    "last_error = ?3, lease_until = NULL, updated_at = ?4 "
    "WHERE id = ?1 AND state IN ('sending', 'in_doubt')";

void runOutboxRetry(Db& db, const Json& in, std::string& out) {
  Stmt s = db.prepare(kMarkRetry);
  s.bind(1, str(in, "id"))
      .bind(2, num(in, "not_before"))
      .bind(3, str(in, "error"))
      .bind(4, nowMs())
      .run();
  changedOrUnknown(db, waflow::storage::kOutboxRetry, str(in, "id"), out);
}

void validateOutboxFailed(const Json& in) {
  Fields f(waflow::storage::kOutboxFailed, in);
  f.string("id");
  f.string("error", false);
  f.integer("now");
}

constexpr const char* kMarkFailed =
    "UPDATE outbox SET state = 'failed', attempts = attempts + 1, last_error = ?2, "
    "lease_until = NULL, updated_at = ?3 WHERE id = ?1 AND state IN ('sending', 'in_doubt')";

void runOutboxFailed(Db& db, const Json& in, std::string& out) {
  Stmt s = db.prepare(kMarkFailed);
  s.bind(1, str(in, "id")).bind(2, str(in, "error")).bind(3, num(in, "now")).run();
  changedOrUnknown(db, waflow::storage::kOutboxFailed, str(in, "id"), out);
}

void validateOutboxInDoubt(const Json& in) {
  Fields f(waflow::storage::kOutboxInDoubt, in);
  f.string("id");
  f.string("error", false);
  f.integer("now");
}

constexpr const char* kMarkSendInDoubt =
    "UPDATE outbox SET state = 'in_doubt', attempts = attempts + 1, last_error = ?2, "
    "lease_until = NULL, updated_at = ?3 WHERE id = ?1 AND state = 'sending'";

void runOutboxInDoubt(Db& db, const Json& in, std::string& out) {
  Stmt s = db.prepare(kMarkSendInDoubt);
  s.bind(1, str(in, "id")).bind(2, str(in, "error")).bind(3, num(in, "now")).run();
  changedOrUnknown(db, waflow::storage::kOutboxInDoubt, str(in, "id"), out);
}

void validateOutboxRecover(const Json& in) {
  Fields f(waflow::storage::kOutboxRecover, in);
  f.integer("now");
  if (f.has("owner")) {
    f.string("owner");
  }
}

// Only the rows being sent are read: outbox_lease holds just those (the
// planner would scan the whole table for the OR).
constexpr const char* kSelectExpired =
    "SELECT " WAFLOW_OUTBOX_COLUMNS
    " FROM outbox INDEXED BY outbox_lease WHERE state = 'sending' "
    "AND (lease_until <= ?1 OR owner = ?2) ORDER BY seq";

// With an owner (a daemon starting), sends still in doubt from an earlier run
// (it stopped before settling them) are returned again for settling.
constexpr const char* kSelectStillInDoubt =
    "SELECT " WAFLOW_OUTBOX_COLUMNS
    " FROM outbox INDEXED BY outbox_unfinished WHERE state IN " WAFLOW_UNFINISHED
    " AND state = 'in_doubt' ORDER BY seq";

constexpr const char* kMarkInDoubt =
    "UPDATE outbox SET state = 'in_doubt', lease_until = NULL, updated_at = ?2 WHERE seq = ?1";

Json runOutboxRecover(Db& db, const Json& in) {
  Json messages = Json::array();
  std::vector<int64_t> seqs;
  {
    Stmt s = db.prepare(kSelectExpired);
    s.bind(1, num(in, "now"));
    if (auto it = in.find("owner"); it != in.end() && !it->is_null()) {
      s.bind(2, it->get_ref<const std::string&>());
    } else {
      s.bindNull(2);
    }
    while (s.step()) {
      Json m = outboxRow(s, false);
      m["state"] = "in_doubt";
      messages.push_back(std::move(m));
      seqs.push_back(s.int64(0));
    }
  }
  if (auto it = in.find("owner"); it != in.end() && !it->is_null()) {
    Stmt s = db.prepare(kSelectStillInDoubt);
    while (s.step()) {
      Json m = outboxRow(s, false);
      m["state"] = "in_doubt";
      messages.push_back(std::move(m));
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
    if (s.has("outbox_id")) {
      s.string("outbox_id", false);
    }
  });
}

constexpr const char* kInsertStatus =
    "INSERT INTO message_statuses (channel, message_id, status, timestamp, error_code, "
    "error_message, raw, stored_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
    "ON CONFLICT (channel, message_id, status) DO NOTHING";

// The outbox row a status is about: by the provider's id, or else by the
// outbox id the channel echoed back (on the same channel).
std::optional<Tracked> findStatusRow(Db& db, const Json& st) {
  {
    Stmt s = db.prepare(kSelectTrackedByProviderId);
    s.bind(1, str(st, "channel")).bind(2, str(st, "message_id"));
    if (s.step()) {
      return readTracked(s);
    }
  }
  auto it = st.find("outbox_id");
  if (it == st.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
    return std::nullopt;
  }
  Stmt s = db.prepare(kSelectTrackedByIdOnChannel);
  s.bind(1, it->get_ref<const std::string&>()).bind(2, str(st, "channel"));
  if (s.step()) {
    return readTracked(s);
  }
  return std::nullopt;
}

void runStatusPut(Db& db, const Json& in, std::string& out) {
  const Json& statuses = in.at("statuses");
  std::vector<bool> flags;
  flags.reserve(statuses.size());
  std::string outbox_ids;
  int64_t now = nowMs();
  for (const Json& st : statuses) {
    const std::string& message_id = str(st, "message_id");
    const std::string& status = str(st, "status");
    const std::string& error_message = str(st, "error_message");
    int64_t timestamp = num(st, "timestamp");
    int64_t error_code = num(st, "error_code");
    const Json& raw = st.at("raw");
    std::string raw_text = raw.is_null() ? std::string() : raw.dump();
    {
      Stmt s = db.prepare(kInsertStatus);
      s.bindRef(1, str(st, "channel"))
          .bindRef(2, message_id)
          .bindRef(3, status)
          .bind(4, timestamp)
          .bind(5, error_code)
          .bindRef(6, error_message);
      if (raw.is_null()) {
        s.bindNull(7);
      } else {
        s.bindRef(7, raw_text);
      }
      s.bind(8, now).run();
      flags.push_back(db.changes() == 1);
    }
    if (!outbox_ids.empty()) {
      outbox_ids += ',';
    }
    // A repeat is applied again (it changes nothing twice): the first time it
    // may have matched no row yet.
    std::optional<Tracked> row = findStatusRow(db, st);
    if (!row) {
      outbox_ids += "null";
      continue;
    }
    applyStatus(*row, message_id, status, timestamp, error_code, error_message);
    if (row->changed) {
      writeTracked(db, *row, now);
    }
    appendString(outbox_ids, row->id);
  }
  out += '{';
  appendFlags(out, "new", flags);
  out += R"(,"outbox_ids":[)";
  out += outbox_ids;
  out += "]}";
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
    {st::kInboxPut, &validateInboxPut, &runInboxPut},
    {st::kInboxPending, &validateInboxPending, &dumped<&runInboxPending>},
    {st::kInboxDone, &validateInboxDone, &runInboxDone},
    {st::kStatusPut, &validateStatusPut, &runStatusPut},
    {st::kOutboxAdd, &validateOutboxAdd, &runOutboxAdd},
    {st::kOutboxClaim, &validateOutboxClaim, &dumped<&runOutboxClaim>},
    {st::kOutboxSent, &validateOutboxSent, &runOutboxSent},
    {st::kOutboxRetry, &validateOutboxRetry, &runOutboxRetry},
    {st::kOutboxFailed, &validateOutboxFailed, &runOutboxFailed},
    {st::kOutboxInDoubt, &validateOutboxInDoubt, &runOutboxInDoubt},
    {st::kOutboxRecover, &validateOutboxRecover, &dumped<&runOutboxRecover>},
    {st::kOutboxGet, &validateOutboxGet, &dumped<&runOutboxGet>},
    {st::kKvGet, &validateKvGet, &dumped<&runKvGet>},
    {st::kKvPut, &validateKvPut, &dumped<&runKvPut>},
    {st::kKvDelete, &validateKvDelete, &dumped<&runKvDelete>},
}};

}  // namespace

const Operation* findOperation(std::string_view name) {
  for (std::span<const Operation> table :
       {std::span<const Operation>(kOperations), flowOperations(), aiOperations(),
        knowledgeOperations(), quarantineOperations(), auditOperations()}) {
    for (const Operation& op : table) {
      if (op.name == name) {
        return &op;
      }
    }
  }
  return nullptr;
}

Json describe() {
  Json operations = Json::array();
  for (const waflow::storage::OperationInfo& info : waflow::storage::kOperations) {
    const std::string_view name = info.name;
    if (findOperation(name) != nullptr || name == waflow::storage::kStats ||
        name == waflow::storage::kDescribe) {
      operations.push_back(info.name);
    }
  }
  return {{"protocol", waflow::storage::kProtocolVersion}, {"operations", std::move(operations)}};
}

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace waflow::storage_sqlite
