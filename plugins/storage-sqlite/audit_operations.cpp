#include "audit_operations.h"

#include "operation_support.h"

#include <waflow/sdk/storage.hpp>

#include <array>
#include <limits>
#include <string>

namespace waflow::storage_sqlite {
namespace {

namespace st = waflow::storage;

constexpr int64_t kDefaultEntries = 100;
constexpr int64_t kMaxEntries = 1000;

void validateAuditAppend(const Json& in) {
  Fields f(st::kAuditAppend, in);
  f.integer("at");
  f.string("action");
  for (const char* key : {"actor", "summary", "address"}) {
    f.string(key, false);
  }
  f.integer("status", 100, 599);
}

constexpr const char* kInsertEntry =
    "INSERT INTO audit_log (at, actor, action, summary, address, status) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING seq";

void runAuditAppend(Db& db, const Json& in, std::string& out) {
  Stmt s = db.prepare(kInsertEntry);
  s.bind(1, num(in, "at"))
      .bindRef(2, str(in, "actor"))
      .bindRef(3, str(in, "action"))
      .bindRef(4, str(in, "summary"))
      .bindRef(5, str(in, "address"))
      .bind(6, num(in, "status"));
  s.step();
  out += "{\"seq\":";
  out += std::to_string(s.int64(0));
  out += '}';
}

void validateAuditList(const Json& in) {
  Fields f(st::kAuditList, in);
  validateTimeRange(f);
  if (f.has("after_seq")) {
    f.integer("after_seq");
  }
  if (f.has("limit")) {
    f.integer("limit", 1, kMaxEntries);
  }
}

constexpr const char* kListEntries =
    "SELECT seq, at, actor, action, summary, address, status FROM audit_log "
    "WHERE seq > ?1 AND at >= ?2 AND at < ?3 ORDER BY seq LIMIT ?4";

Json runAuditList(Db& db, const Json& in) {
  int64_t limit = optionalNumber(in, "limit", kDefaultEntries);
  Stmt s = db.prepare(kListEntries);
  s.bind(1, optionalNumber(in, "after_seq", 0))
      .bind(2, optionalNumber(in, "since", std::numeric_limits<int64_t>::min()))
      .bind(3, optionalNumber(in, "until", kMaxTime))
      .bind(4, limit + 1);  // one more tells whether there is a next page
  Json entries = Json::array();
  Json next = nullptr;
  while (s.step()) {
    if (static_cast<int64_t>(entries.size()) == limit) {
      next = entries.back()["seq"];
      break;
    }
    entries.push_back({{"seq", s.int64(0)},
                       {"at", s.int64(1)},
                       {"actor", s.text(2)},
                       {"action", s.text(3)},
                       {"summary", s.text(4)},
                       {"address", s.text(5)},
                       {"status", s.int64(6)}});
  }
  return {{"entries", std::move(entries)}, {"next", std::move(next)}};
}

const std::array<Operation, 2> kAuditOperations = {{
    {st::kAuditAppend, &validateAuditAppend, &runAuditAppend},
    {st::kAuditList, &validateAuditList, &dumped<&runAuditList>},
}};

}  // namespace

std::span<const Operation> auditOperations() {
  return kAuditOperations;
}

}  // namespace waflow::storage_sqlite
