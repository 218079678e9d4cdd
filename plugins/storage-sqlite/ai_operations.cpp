#include "ai_operations.h"

#include "operation_support.h"

#include <waflow/sdk/storage.hpp>
#include <waflow/sdk/types.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstddef>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace waflow::storage_sqlite {
namespace {

namespace st = waflow::storage;

// The optional string field `key`; nullptr when absent or null.
const std::string* optionalString(const Json& in, const char* key) {
  auto it = in.find(key);
  return it == in.end() || it->is_null() ? nullptr : &it->get_ref<const std::string&>();
}

// Binds the optional string field `key`, or NULL (which the statements read
// as "no filter").
void bindFilter(Stmt& s, int index, const Json& in, const char* key) {
  if (const std::string* value = optionalString(in, key)) {
    s.bindRef(index, *value);
  } else {
    s.bindNull(index);
  }
}

// ---- message.history -------------------------------------------------------------
//
// A conversation's messages live in two tables, each read newest first along
// its history index (conversation, seq): a range that stops after the rows
// needed, however long the conversation. The two are merged by time. Each
// page takes a suffix (by seq) of what is left of each direction, so the
// cursor is the pair of seq bounds below which the older pages lie.

constexpr int64_t kDefaultHistory = 20;
constexpr int64_t kMaxHistory = 500;

// The "before" cursor: the exclusive upper bounds of inbox and outbox seq, as
// the JSON text [<inbox seq>,<outbox seq>].
struct HistoryCursor {
  int64_t in = kMaxTime;
  int64_t out = kMaxTime;
};

bool parseHistoryCursor(const std::string& text, HistoryCursor& cursor) {
  Json parsed = Json::parse(text, nullptr, false);
  if (!parsed.is_array() || parsed.size() != 2 || !parsed[0].is_number_integer() ||
      !parsed[1].is_number_integer() || parsed[0].get<int64_t>() < 0 ||
      parsed[1].get<int64_t>() < 0) {
    return false;
  }
  cursor.in = parsed[0].get<int64_t>();
  cursor.out = parsed[1].get<int64_t>();
  return true;
}

void validateMessageHistory(const Json& in) {
  Fields f(st::kMessageHistory, in);
  f.string("channel");
  f.string("contact");
  if (f.has("limit")) {
    f.integer("limit", 1, kMaxHistory);
  }
  if (f.has("before")) {
    f.string("before");
    HistoryCursor cursor;
    if (!parseHistoryCursor(str(in, "before"), cursor)) {
      f.invalid("before", "is not a cursor that message.history returned (pass its `next` as is)");
    }
  }
}

struct HistoryRow {
  int64_t seq = 0;
  std::string id;
  std::string type;
  std::string text;
  int64_t at = 0;
};

// The text of an inbound message: the "text" the channel put in the event.
// Events are stored as the daemon gave them, so one that is not valid JSON is
// read as having no text rather than failing the whole history. Its time is
// when it was stored, on the same clock (and with the same millisecond
// resolution) as the outbox's created_at: the provider's timestamp has only
// seconds and its own clock, which would misplace a reply sent within the
// second of the message it answers.
constexpr const char* kInboxHistory =
    "SELECT seq, id, type, CASE WHEN NOT json_valid(event) THEN '' "
    "WHEN json_type(event, '$.text') = 'text' THEN json_extract(event, '$.text') ELSE '' END, "
    "stored_at FROM inbox WHERE conversation = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3";

// The text of an outbound message: its text, else the payload's body text
// (interactive messages), body (text) or caption (media).
constexpr const char* kOutboxHistory =
    "SELECT seq, id, type, CASE WHEN text <> '' THEN text "
    "WHEN payload IS NULL OR NOT json_valid(payload) THEN '' "
    "WHEN json_type(payload, '$.body.text') = 'text' THEN json_extract(payload, '$.body.text') "
    "WHEN json_type(payload, '$.body') = 'text' THEN json_extract(payload, '$.body') "
    "WHEN json_type(payload, '$.caption') = 'text' THEN json_extract(payload, '$.caption') "
    "ELSE '' END, created_at FROM outbox WHERE conversation = ?1 AND seq < ?2 "
    "AND state <> 'failed' AND type NOT IN ('mark_read', 'typing') "
    "ORDER BY seq DESC LIMIT ?3";

// Up to `limit` rows of one direction below `bound`, newest first.
std::vector<HistoryRow> readHistory(Db& db, const char* sql, const std::string& conversation,
                                    int64_t bound, int64_t limit) {
  std::vector<HistoryRow> rows;
  Stmt s = db.prepare(sql);
  s.bindRef(1, conversation).bind(2, bound).bind(3, limit);
  while (s.step()) {
    rows.push_back({s.int64(0), s.text(1), s.text(2), s.text(3), s.int64(4)});
  }
  return rows;
}

Json historyMessage(const HistoryRow& row, bool out) {
  return {{"direction", out ? "out" : "in"},
          {"id", row.id},
          {"type", row.type},
          {"text", row.text},
          {"at", row.at},
          {"seq", row.seq}};
}

Json runMessageHistory(Db& db, const Json& in) {
  std::string conversation = str(in, "channel") + ":" + str(in, "contact");
  int64_t limit = optionalNumber(in, "limit", kDefaultHistory);
  HistoryCursor cursor;
  if (const std::string* before = optionalString(in, "before")) {
    parseHistoryCursor(*before, cursor);
  }
  // One row more than the page of each side tells whether older ones remain.
  std::vector<HistoryRow> ins = readHistory(db, kInboxHistory, conversation, cursor.in, limit + 1);
  std::vector<HistoryRow> outs =
      readHistory(db, kOutboxHistory, conversation, cursor.out, limit + 1);
  // Walking back from the newest, the later of the two sides' next messages
  // comes first; at the same time an outbound one is the later (a reply
  // follows what it answers).
  std::vector<Json> page;
  std::size_t i = 0;
  std::size_t j = 0;
  while (static_cast<int64_t>(page.size()) < limit && (i < ins.size() || j < outs.size())) {
    bool take_out = j < outs.size() && (i == ins.size() || outs[j].at >= ins[i].at);
    if (take_out) {
      page.push_back(historyMessage(outs[j++], true));
    } else {
      page.push_back(historyMessage(ins[i++], false));
    }
  }
  Json next = nullptr;
  if (i < ins.size() || j < outs.size()) {
    HistoryCursor older{i > 0 ? ins[i - 1].seq : cursor.in, j > 0 ? outs[j - 1].seq : cursor.out};
    next = Json::array({older.in, older.out}).dump();
  }
  std::reverse(page.begin(), page.end());
  return {{"messages", std::move(page)}, {"next", std::move(next)}};
}

// ---- insights ----------------------------------------------------------------------

constexpr int64_t kDefaultInsights = 100;
constexpr int64_t kMaxInsights = 1000;

void validateInsightPut(const Json& in) {
  Fields f(st::kInsightPut, in);
  f.string("channel");
  f.string("contact");
  f.string("kind");
  f.object("data", false);
  for (const char* key : {"flow", "step", "source"}) {
    if (f.has(key)) {
      f.string(key, false);
    }
  }
  if (f.has("at")) {
    f.integer("at");
  }
}

constexpr const char* kInsertInsight =
    "INSERT INTO insights (channel, contact, kind, data, flow, step, source, created_at) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
constexpr const char* kLastRowId = "SELECT last_insert_rowid()";

void runInsightPut(Db& db, const Json& in, std::string& out) {
  static const std::string kNone;
  const std::string* flow = optionalString(in, "flow");
  const std::string* step = optionalString(in, "step");
  const std::string* source = optionalString(in, "source");
  {
    Stmt s = db.prepare(kInsertInsight);
    s.bindRef(1, str(in, "channel"))
        .bindRef(2, str(in, "contact"))
        .bindRef(3, str(in, "kind"))
        .bind(4, in.at("data").dump())
        .bindRef(5, flow != nullptr ? *flow : kNone)
        .bindRef(6, step != nullptr ? *step : kNone)
        .bindRef(7, source != nullptr ? *source : kNone)
        .bind(8, optionalNumber(in, "at", nowMs()))
        .run();
  }
  Stmt s = db.prepare(kLastRowId);
  s.step();
  out += "{\"seq\":";
  out += std::to_string(s.int64(0));
  out += '}';
}

void validateInsightList(const Json& in) {
  Fields f(st::kInsightList, in);
  for (const char* key : {"channel", "contact", "kind"}) {
    if (f.has(key)) {
      f.string(key);
    }
  }
  if (f.has("flow")) {
    f.string("flow", false);
  }
  validateTimeRange(f);
  if (f.has("after_seq")) {
    f.integer("after_seq");
  }
  if (f.has("limit")) {
    f.integer("limit", 1, kMaxInsights);
  }
}

#define WAFLOW_INSIGHT_COLUMNS "seq, channel, contact, kind, flow, step, source, data, created_at"
// The filters after (channel, contact): kind ?3, flow ?4 (NULL: any), the
// time range [?5, ?6), seq > ?7; ?8 is the row limit. Which index serves a
// list depends on the filters given, so each shape has its statement.
#define WAFLOW_INSIGHT_FILTERS(TIME)                                                         \
  " AND (?3 IS NULL OR kind = ?3) AND (?4 IS NULL OR flow = ?4) AND " TIME ">= ?5 AND " TIME \
  "< ?6 AND seq > ?7 ORDER BY seq LIMIT ?8"

// One contact's insights: a range of insights_contact.
constexpr const char* kListContactInsights =
    "SELECT " WAFLOW_INSIGHT_COLUMNS
    " FROM insights WHERE channel = ?1 AND contact = ?2" WAFLOW_INSIGHT_FILTERS("created_at ");
// ?1 channel, ?2 contact, each NULL for any.
#define WAFLOW_ANY_CONTACT "(?1 IS NULL OR channel = ?1) AND (?2 IS NULL OR contact = ?2)"
// A time range: a range of insights_time.
constexpr const char* kListInsightsInTime =
    "SELECT " WAFLOW_INSIGHT_COLUMNS
    " FROM insights WHERE " WAFLOW_ANY_CONTACT WAFLOW_INSIGHT_FILTERS("created_at ");
// Otherwise the table in seq order from after_seq, stopping at the limit (the
// unary + keeps the planner off insights_time, whose range would be all of it).
constexpr const char* kListInsights =
    "SELECT " WAFLOW_INSIGHT_COLUMNS
    " FROM insights WHERE " WAFLOW_ANY_CONTACT WAFLOW_INSIGHT_FILTERS("+created_at ");

Json runInsightList(Db& db, const Json& in) {
  int64_t limit = optionalNumber(in, "limit", kDefaultInsights);
  bool of_contact =
      optionalString(in, "channel") != nullptr && optionalString(in, "contact") != nullptr;
  bool in_time = optionalNumber(in, "since", 0) != 0 || optionalNumber(in, "until", 0) != 0;
  Stmt s = db.prepare(of_contact ? kListContactInsights
                      : in_time  ? kListInsightsInTime
                                 : kListInsights);
  bindFilter(s, 1, in, "channel");
  bindFilter(s, 2, in, "contact");
  bindFilter(s, 3, in, "kind");
  bindFilter(s, 4, in, "flow");
  s.bind(5, optionalNumber(in, "since", std::numeric_limits<int64_t>::min()))
      .bind(6, optionalNumber(in, "until", kMaxTime))
      .bind(7, optionalNumber(in, "after_seq", 0))
      .bind(8, limit + 1);  // one more tells whether there is a next page
  Json insights = Json::array();
  Json next = nullptr;
  while (s.step()) {
    if (static_cast<int64_t>(insights.size()) == limit) {
      next = insights.back()["seq"];
      break;
    }
    insights.push_back({{"seq", s.int64(0)},
                        {"channel", s.text(1)},
                        {"contact", s.text(2)},
                        {"kind", s.text(3)},
                        {"flow", s.text(4)},
                        {"step", s.text(5)},
                        {"source", s.text(6)},
                        {"data", parseStored(s.text(7))},
                        {"at", s.int64(8)}});
  }
  return {{"insights", std::move(insights)}, {"next", std::move(next)}};
}

// ---- token usage -------------------------------------------------------------------

const char* const kUsageCounts[] = {"prompt_tokens", "completion_tokens", "cached_tokens",
                                    "reasoning_tokens", "latency_ms"};

void validateUsageAdd(const Json& in) {
  Fields(st::kUsageAdd, in).array("records", [](const Fields& r) {
    r.string("provider");
    for (const char* key : {"channel", "contact", "flow", "step", "model"}) {
      if (r.has(key)) {
        r.string(key, false);
      }
    }
    for (const char* key : kUsageCounts) {
      if (r.has(key)) {
        r.integer(key);
      }
    }
    if (r.has("ok")) {
      r.boolean("ok");
    }
    if (r.has("at")) {
      r.integer("at");
    }
  });
  // Fields checks integers only; a cost is any number.
  const Json& records = in.at("records");
  for (std::size_t i = 0; i < records.size(); ++i) {
    auto cost = records[i].find("cost");
    if (cost != records[i].end() && !cost->is_null() &&
        !(cost->is_number() && cost->get<double>() >= 0)) {
      throw waflow::Error(waflow::Rc::kInvalid,
                          std::string(st::kUsageAdd) + ": records[" + std::to_string(i) +
                              "].cost must be a number >= 0, or null when unknown (got " +
                              cost->dump() + ")");
    }
  }
}

// The cost arrives as the text of a JSON number (the Stmt layer binds integers
// and text); CAST stores it as the REAL it spells, NULL staying NULL.
constexpr const char* kInsertUsage =
    "INSERT INTO ai_usage (channel, contact, flow, step, provider, model, prompt_tokens, "
    "completion_tokens, cached_tokens, reasoning_tokens, latency_ms, cost, ok, created_at) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, CAST(?12 AS REAL), ?13, ?14)";

void runUsageAdd(Db& db, const Json& in, std::string& out) {
  static const std::string kNone;
  const Json& records = in.at("records");
  int64_t now = nowMs();
  for (const Json& r : records) {
    Stmt s = db.prepare(kInsertUsage);
    int index = 1;
    for (const char* key : {"channel", "contact", "flow", "step"}) {
      const std::string* value = optionalString(r, key);
      s.bindRef(index++, value != nullptr ? *value : kNone);
    }
    s.bindRef(index++, str(r, "provider"));
    const std::string* model = optionalString(r, "model");
    s.bindRef(index++, model != nullptr ? *model : kNone);
    for (const char* key : kUsageCounts) {
      s.bind(index++, optionalNumber(r, key, 0));
    }
    auto cost = r.find("cost");
    if (cost == r.end() || cost->is_null()) {
      s.bindNull(index++);
    } else {
      s.bind(index++, cost->dump());
    }
    auto ok = r.find("ok");
    bool succeeded = ok == r.end() || ok->is_null() || ok->get<bool>();
    s.bind(index++, static_cast<int64_t>(succeeded ? 1 : 0));
    s.bind(index, optionalNumber(r, "at", now));
    s.run();
  }
  out += "{\"added\":";
  out += std::to_string(records.size());
  out += '}';
}

// ---- usage.summary -------------------------------------------------------------------

#define WAFLOW_USAGE_TOTALS                                                                 \
  "COUNT(*), SUM(ok = 0), SUM(prompt_tokens), SUM(completion_tokens), SUM(cached_tokens), " \
  "SUM(reasoning_tokens), SUM(cost), SUM(cost IS NULL)"
// ?1 channel, ?2 contact, ?5 flow (NULL: any); the time range [?3, ?4). As
// for insight.list, each shape of filters has its statement, so each uses the
// index that fits it: ai_usage_contact for one contact, ai_usage_time for a
// time range, else the table (the unary + keeps the planner off ai_usage_time,
// whose range would be all of it).
#define WAFLOW_USAGE_RANGE(TIME) " AND " TIME ">= ?3 AND " TIME "< ?4 AND (?5 IS NULL OR flow = ?5)"
#define WAFLOW_USAGE_SUMMARY(KEY, WHERE) \
  "SELECT " KEY ", " WAFLOW_USAGE_TOTALS " FROM ai_usage WHERE " WHERE " GROUP BY 1 ORDER BY 1"

struct UsageGrouping {
  std::string_view name;
  const char* of_contact;  // the statement when channel and contact are given
  const char* in_time;     // otherwise, when since or until is
  const char* filtered;    // otherwise
};

#define WAFLOW_USAGE_GROUPING(NAME, KEY)                                                         \
  UsageGrouping {                                                                                \
    NAME,                                                                                        \
        WAFLOW_USAGE_SUMMARY(KEY,                                                                \
                             "channel = ?1 AND contact = ?2" WAFLOW_USAGE_RANGE("created_at ")), \
        WAFLOW_USAGE_SUMMARY(KEY, WAFLOW_ANY_CONTACT WAFLOW_USAGE_RANGE("created_at ")),         \
        WAFLOW_USAGE_SUMMARY(KEY, WAFLOW_ANY_CONTACT WAFLOW_USAGE_RANGE("+created_at "))         \
  }

const std::array<UsageGrouping, 6> kUsageGroupings = {{
    WAFLOW_USAGE_GROUPING("flow", "flow"),
    WAFLOW_USAGE_GROUPING("contact",
                          "CASE WHEN contact = '' THEN '' ELSE channel || ':' || contact END"),
    WAFLOW_USAGE_GROUPING("provider", "provider"),
    WAFLOW_USAGE_GROUPING("model", "model"),
    WAFLOW_USAGE_GROUPING("day", "strftime('%Y-%m-%d', created_at / 1000, 'unixepoch')"),
    WAFLOW_USAGE_GROUPING("none", "''"),
}};

const UsageGrouping* findGrouping(std::string_view name) {
  for (const UsageGrouping& g : kUsageGroupings) {
    if (g.name == name) {
      return &g;
    }
  }
  return nullptr;
}

void validateUsageSummary(const Json& in) {
  Fields f(st::kUsageSummary, in);
  f.string("group_by");
  if (findGrouping(str(in, "group_by")) == nullptr) {
    f.invalid("group_by", "must be one of flow, contact, provider, model, day or none (got \"" +
                              str(in, "group_by") + "\")");
  }
  validateTimeRange(f);
  for (const char* key : {"channel", "contact"}) {
    if (f.has(key)) {
      f.string(key);
    }
  }
  if (f.has("flow")) {
    f.string("flow", false);
  }
}

// SUM(cost) as SQLite writes a REAL in text (15 significant digits).
Json costValue(const Stmt& s, int column) {
  std::optional<std::string> text = s.optionalText(column);
  if (!text) {
    return nullptr;
  }
  double cost = 0;
  std::from_chars(text->data(), text->data() + text->size(), cost);
  return cost;
}

Json runUsageSummary(Db& db, const Json& in) {
  const UsageGrouping& grouping = *findGrouping(str(in, "group_by"));
  bool of_contact =
      optionalString(in, "channel") != nullptr && optionalString(in, "contact") != nullptr;
  bool in_time = optionalNumber(in, "since", 0) != 0 || optionalNumber(in, "until", 0) != 0;
  Stmt s = db.prepare(of_contact ? grouping.of_contact
                      : in_time  ? grouping.in_time
                                 : grouping.filtered);
  bindFilter(s, 1, in, "channel");
  bindFilter(s, 2, in, "contact");
  s.bind(3, optionalNumber(in, "since", std::numeric_limits<int64_t>::min()))
      .bind(4, optionalNumber(in, "until", kMaxTime));
  bindFilter(s, 5, in, "flow");
  Json rows = Json::array();
  while (s.step()) {
    rows.push_back({{"key", s.text(0)},
                    {"calls", s.int64(1)},
                    {"failures", s.int64(2)},
                    {"prompt_tokens", s.int64(3)},
                    {"completion_tokens", s.int64(4)},
                    {"cached_tokens", s.int64(5)},
                    {"reasoning_tokens", s.int64(6)},
                    {"cost", costValue(s, 7)},
                    {"cost_unknown_calls", s.int64(8)}});
  }
  return {{"rows", std::move(rows)}};
}

const std::array<Operation, 5> kAiOperations = {{
    {st::kMessageHistory, &validateMessageHistory, &dumped<&runMessageHistory>},
    {st::kInsightPut, &validateInsightPut, &runInsightPut},
    {st::kInsightList, &validateInsightList, &dumped<&runInsightList>},
    {st::kUsageAdd, &validateUsageAdd, &runUsageAdd},
    {st::kUsageSummary, &validateUsageSummary, &dumped<&runUsageSummary>},
}};

}  // namespace

std::span<const Operation> aiOperations() {
  return kAiOperations;
}

}  // namespace waflow::storage_sqlite
