// Loading a flow's conditions: exactly one kind per condition, then that kind's loader from the
// table below (keywords, regex, business hours with days and holidays, contact, conversation,
// Lua).
//
// Thread-safety: see loaders.h.
#include <array>

#include "flow/flow_schema.h"
#include "flow/load/loaders.h"
#include "time/time_check.h"

namespace waflow::core::flow::load {
namespace {

using time::CivilTime;
using time::parseClock;
using time::parseDate;
using time::parseDays;

using ConditionSpec = decltype(Condition::spec);

// What a condition's loader reads: `kind: <node>` in the list item `item`.
struct ConditionInput {
  const YAML::Node& item;
  const YAML::Node& node;
  const json& body;           // node's typed value
  const std::string& kind;    // "keywords", ...
  const std::string& path;    // "conditions[0]", for messages
  const std::string& where;   // "condition 1 (lua)", for snippets
  const std::string& anchor;  // "condition-keywords"
};

ConditionSpec loadKeywords(LoadContext& ctx, const ConditionInput& in) {
  KeywordsCondition spec;
  if (in.body.is_array()) {
    spec.any = stringList(in.body);
  } else if (in.body.is_object()) {  // anything else was reported by the schema check
    spec.any = stringList(in.body.value("any", json()));
    spec.all = stringList(in.body.value("all", json()));
    if (in.body.is_object() && !in.body.contains("any") && !in.body.contains("all")) {
      ctx.reportAt(in.node, "flow-schema", in.path + ".keywords: needs any: or all:",
                   "e.g. keywords: { any: [harga, price] }", in.anchor);
    }
  }
  return spec;
}

ConditionSpec loadRegex(LoadContext& ctx, const ConditionInput& in) {
  RegexCondition spec{in.body.is_string() ? in.body.get<std::string>() : ""};
  if (!spec.pattern.empty()) {
    ctx.checkRegex(in.node, spec.pattern, in.path + ".regex", "regex");
  }
  return spec;
}

void loadDays(LoadContext& ctx, const ConditionInput& in, BusinessHoursCondition& spec) {
  std::string error;
  std::vector<std::string> parts = stringList(in.body["days"]);
  for (const std::string& part : parts) {
    std::optional<uint8_t> days = parseDays(part, &error);
    if (!days) {
      ctx.reportAt(child(in.node, "days"), "flow-value", in.path + ".business_hours.days: " + error,
                   "write e.g. mon-sat, mon-fri,sun, daily or [mon, wed, fri]", in.anchor);
    } else {
      spec.days = static_cast<uint8_t>(spec.days | *days);
    }
  }
}

// holidays: YYYY-MM-DD (one day) or MM-DD (every year).
void loadHolidays(LoadContext& ctx, const ConditionInput& in, BusinessHoursCondition& spec) {
  const YAML::Node holidays = child(in.node, "holidays");
  const std::vector<std::string> dates = stringList(in.body.value("holidays", json()));
  for (size_t i = 0; i < dates.size(); ++i) {
    const std::string& date = dates[i];
    Holiday holiday;
    bool valid = false;
    if (date.size() == 5) {
      std::optional<CivilTime> parsed = parseDate("2000-" + date);  // a leap year: 02-29 ok
      valid = parsed.has_value();
      if (parsed) {
        holiday = {0, parsed->month, parsed->day};
      }
    } else if (std::optional<CivilTime> parsed = parseDate(date)) {
      valid = true;
      holiday = {parsed->year, parsed->month, parsed->day};
    }
    if (!valid) {
      ctx.reportAt(holidays.IsSequence() && i < holidays.size() ? holidays[i] : holidays,
                   "flow-value",
                   in.path + ".business_hours.holidays: " + quote(date) + " is not a real date",
                   "write YYYY-MM-DD (one day) or MM-DD (every year)", in.anchor);
    } else {
      spec.holidays.push_back(holiday);
    }
  }
}

ConditionSpec loadBusinessHours(LoadContext& ctx, const ConditionInput& in) {
  BusinessHoursCondition spec;
  if (in.body.contains("days")) {
    loadDays(ctx, in, spec);
  }
  const std::optional<int> from = parseClock(str(in.body, "from"), false);
  const std::optional<int> to = parseClock(str(in.body, "to"), true);
  if (from && to) {
    spec.from_minute = *from;
    spec.to_minute = *to;
    if (*from == *to % 1440 && !(*from == 0 && *to == 1440)) {  // 00:00-24:00 is all day
      ctx.reportAt(child(in.node, "to"), "flow-value",
                   in.path + ".business_hours: from and to are the same time",
                   "to open all day write from: \"00:00\" and to: \"24:00\"", in.anchor);
    }
  }
  spec.tz = str(in.body, "tz");
  if (!spec.tz.empty()) {
    ctx.checkTimeZone(child(in.node, "tz"), spec.tz, "time-zones");
  }
  loadHolidays(ctx, in, spec);
  spec.when_open = str(in.body, "when") != "closed";
  return spec;
}

// A contact or conversation condition written with nothing under it checks nothing.
void checkNotEmpty(LoadContext& ctx, const ConditionInput& in, const std::string& hint) {
  if (!in.node.IsMap() || in.node.size() == 0) {
    ctx.reportAt(in.node.IsDefined() && !in.node.IsNull() ? in.node : keyNode(in.item, in.kind),
                 "flow-schema", in.path + "." + in.kind + ": has no checks", hint, in.anchor);
  }
}

ConditionSpec loadContact(LoadContext& ctx, const ConditionInput& in) {
  ContactCondition spec;
  spec.tags = stringList(in.body.value("tags", json()));
  spec.not_tags = stringList(in.body.value("not_tags", json()));
  spec.has = stringList(in.body.value("has", json()));
  spec.missing = stringList(in.body.value("missing", json()));
  if (in.body.is_object() && in.body.contains("attributes")) {
    for (const auto& [name, v] : in.body["attributes"].items()) {
      spec.attributes.emplace_back(name, v);
    }
  }
  checkNotEmpty(ctx, in, "add tags, not_tags, has, missing or attributes");
  return spec;
}

ConditionSpec loadConversation(LoadContext& ctx, const ConditionInput& in) {
  ConversationCondition spec;
  const json& body = in.body;
  if (body.is_object() && body.contains("in_handoff") && body["in_handoff"].is_boolean()) {
    spec.in_handoff = body["in_handoff"].get<bool>();
  }
  if (body.is_object() && body.contains("in_flow")) {
    if (body["in_flow"].is_boolean()) {
      spec.in_flow = body["in_flow"].get<bool>();
    } else if (body["in_flow"].is_string()) {
      spec.in_flow_id = body["in_flow"].get<std::string>();
      ctx.referToFlow({spec.in_flow_id, posOf(child(in.node, "in_flow")),
                       in.path + ".conversation.in_flow", in.anchor});
    }
  }
  checkNotEmpty(ctx, in, "add in_handoff or in_flow");
  return spec;
}

ConditionSpec loadLua(LoadContext& ctx, const ConditionInput& in) {
  if (in.body.is_string()) {
    return LuaCondition{ctx.makeExpression(in.node, in.body, in.where)};
  }
  return LuaCondition{};
}

struct ConditionKind {
  std::string_view name;
  ConditionSpec (*load)(LoadContext& ctx, const ConditionInput& in);
};

// The one list of condition kinds; conditionKinds() is derived from it.
constexpr std::array<ConditionKind, 6> kConditionKinds = {{
    {"keywords", loadKeywords},
    {"regex", loadRegex},
    {"business_hours", loadBusinessHours},
    {"contact", loadContact},
    {"conversation", loadConversation},
    {"lua", loadLua},
}};

// The kinds `item` has; one is right, and none or several are reported.
std::vector<std::string> kindsOf(LoadContext& ctx, const YAML::Node& item,
                                 const std::string& path) {
  std::vector<std::string> kinds;
  for (const std::string& kind : conditionKinds()) {
    if (child(item, kind).IsDefined()) {
      kinds.push_back(kind);
    }
  }
  if (kinds.size() != 1) {
    ctx.reportAt(item, "flow-schema",
                 kinds.empty() ? path + ": the condition has no kind"
                               : path + ": one condition has several kinds: " + joinList(kinds),
                 kinds.empty() ? "start it with one of: " + joinList(conditionKinds())
                               : "write each one as its own '- ' item; all conditions must pass",
                 "conditions");
  }
  return kinds;
}

}  // namespace

const std::vector<std::string>& conditionKinds() {
  static const std::vector<std::string> kKinds = [] {
    std::vector<std::string> kinds;
    for (const ConditionKind& kind : kConditionKinds) {
      kinds.emplace_back(kind.name);
    }
    return kinds;
  }();
  return kKinds;
}

std::optional<Condition> loadCondition(LoadContext& ctx, const YAML::Node& item, size_t index) {
  const std::string path = "conditions[" + std::to_string(index) + "]";
  if (!item.IsMap()) {
    return std::nullopt;
  }
  const std::vector<std::string> kinds = kindsOf(ctx, item, path);
  if (kinds.empty()) {
    return std::nullopt;
  }
  const std::string& kind = kinds.front();
  const json value = ctx.convertItem(item, flowSchema()["properties"]["conditions"]["items"], path);
  const json body = value.value(kind, json());
  const YAML::Node node = child(item, kind);
  const std::string anchor = "condition-" + dotsToDashes(kind);
  const std::string where = "condition " + std::to_string(index + 1) + " (" + kind + ")";
  Condition condition;
  condition.pos = posOf(item);
  condition.kind = kind;
  const ConditionInput in{item, node, body, kind, path, where, anchor};
  for (const ConditionKind& entry : kConditionKinds) {
    if (entry.name == kind) {
      condition.spec = entry.load(ctx, in);
      break;
    }
  }
  return condition;
}

}  // namespace waflow::core::flow::load
