#include "quarantine_operations.h"

#include "operation_support.h"

#include <waflow/sdk/storage.hpp>

#include <array>
#include <string>

namespace waflow::storage_sqlite {
namespace {

namespace st = waflow::storage;

// done: 0 pending, 1 done, 2 quarantined (schema.cpp, version 5).
constexpr int64_t kPending = 0;
constexpr int64_t kQuarantined = 2;

void validateKeys(std::string_view op, const Json& in) {
  Fields(op, in).array("messages", [](const Fields& m) {
    m.string("channel");
    m.string("id");
  });
}

// ---- inbox.attempt ------------------------------------------------------------------

void validateAttempt(const Json& in) {
  validateKeys(st::kInboxAttempt, in);
  Fields f(st::kInboxAttempt, in);
  f.integer("max_attempts", 1, 1000000);
  f.string("reason", false);
}

constexpr const char* kSelectState =
    "SELECT done, attempts FROM inbox WHERE channel = ?1 AND id = ?2";
constexpr const char* kCountAttempt =
    "UPDATE inbox SET attempts = ?3 WHERE channel = ?1 AND id = ?2 AND done = 0";
constexpr const char* kQuarantine =
    "UPDATE inbox SET attempts = ?3, done = 2, quarantined_at = ?4, quarantine_reason = ?5 "
    "WHERE channel = ?1 AND id = ?2 AND done = 0";

const char* stateName(int64_t done) {
  switch (done) {
    case kPending:
      return "pending";
    case kQuarantined:
      return "quarantined";
    default:
      return "done";
  }
}

void appendResult(std::string& out, const char* state, int64_t attempts) {
  out += "{\"state\":\"";
  out += state;
  out += "\",\"attempts\":";
  out += std::to_string(attempts);
  out += '}';
}

// Counts one attempt on a pending message, or quarantines it past the limit.
void attemptOne(Db& db, const Json& m, int64_t max_attempts, const std::string& reason, int64_t now,
                std::string& out) {
  Stmt read = db.prepare(kSelectState);
  read.bindRef(1, str(m, "channel")).bindRef(2, str(m, "id"));
  if (!read.step()) {
    appendResult(out, "unknown", 0);
    return;
  }
  int64_t done = read.int64(0);
  int64_t attempts = read.int64(1);
  if (done != kPending) {
    appendResult(out, stateName(done), attempts);
    return;
  }
  ++attempts;
  bool quarantine = attempts > max_attempts;
  Stmt write = db.prepare(quarantine ? kQuarantine : kCountAttempt);
  write.bindRef(1, str(m, "channel")).bindRef(2, str(m, "id")).bind(3, attempts);
  if (quarantine) {
    write.bind(4, now).bindRef(5, reason);
  }
  write.run();
  appendResult(out, quarantine ? "quarantined" : "pending", attempts);
}

void runAttempt(Db& db, const Json& in, std::string& out) {
  const int64_t max_attempts = num(in, "max_attempts");
  const std::string& reason = str(in, "reason");
  const int64_t now = nowMs();
  out = "{\"messages\":[";
  bool first = true;
  for (const Json& m : in.at("messages")) {
    if (!first) {
      out += ',';
    }
    first = false;
    attemptOne(db, m, max_attempts, reason, now, out);
  }
  out += "]}";
}

// ---- inbox.quarantined --------------------------------------------------------------

void validateQuarantined(const Json& in) {
  Fields f(st::kInboxQuarantined, in);
  f.integer("limit", 1, kMaxLimit);
  if (f.has("after_seq")) {
    f.integer("after_seq");
  }
}

constexpr const char* kSelectQuarantined =
    "SELECT seq, channel, id, contact, contact_name, conversation, type, received_at, event, "
    "attempts, quarantined_at, quarantine_reason FROM inbox "
    "WHERE done = 2 AND seq > ?1 ORDER BY seq LIMIT ?2";

Json runQuarantined(Db& db, const Json& in) {
  Json messages = Json::array();
  Stmt s = db.prepare(kSelectQuarantined);
  auto after = in.find("after_seq");
  s.bind(1, after == in.end() || after->is_null() ? int64_t{0} : after->get<int64_t>());
  s.bind(2, num(in, "limit"));
  while (s.step()) {
    messages.push_back({{"seq", s.int64(0)},
                        {"channel", s.text(1)},
                        {"id", s.text(2)},
                        {"contact", s.text(3)},
                        {"contact_name", s.text(4)},
                        {"conversation", s.text(5)},
                        {"type", s.text(6)},
                        {"received_at", s.int64(7)},
                        {"event", parseStored(s.text(8))},
                        {"attempts", s.int64(9)},
                        {"quarantined_at", s.int64(10)},
                        {"reason", s.text(11)}});
  }
  return {{"messages", std::move(messages)}};
}

// ---- inbox.release ------------------------------------------------------------------

void validateRelease(const Json& in) {
  validateKeys(st::kInboxRelease, in);
}

constexpr const char* kRelease =
    "UPDATE inbox SET done = 0, attempts = 1, quarantined_at = 0, quarantine_reason = '' "
    "WHERE channel = ?1 AND id = ?2 AND done = 2";

void runRelease(Db& db, const Json& in, std::string& out) {
  std::vector<bool> released;
  for (const Json& m : in.at("messages")) {
    Stmt s = db.prepare(kRelease);
    s.bindRef(1, str(m, "channel")).bindRef(2, str(m, "id")).run();
    released.push_back(db.changes() == 1);
  }
  out += '{';
  appendFlags(out, "released", released);
  out += '}';
}

const std::array<Operation, 3> kOperations = {{
    {st::kInboxAttempt, &validateAttempt, &runAttempt},
    {st::kInboxQuarantined, &validateQuarantined, &dumped<&runQuarantined>},
    {st::kInboxRelease, &validateRelease, &runRelease},
}};

}  // namespace

std::span<const Operation> quarantineOperations() {
  return kOperations;
}

}  // namespace waflow::storage_sqlite
