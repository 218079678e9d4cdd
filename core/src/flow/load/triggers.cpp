// Loading a flow's triggers: which keys apply to which `on:` (the per-trigger key table read
// from the schema), channels, cron and `at:` schedules, time zones and idle delays.
//
// Thread-safety: see loaders.h.
#include "flow/flow_schema.h"
#include "flow/load/loaders.h"
#include "time/time_check.h"

namespace waflow::core::flow::load {
namespace {

using time::parseDateTime;

// Keys the schema knows for triggers but that this `on:` does not take, and required keys
// missing.
void checkTriggerKeys(LoadContext& ctx, const YAML::Node& item, const std::string& path,
                      const std::string& kind, const TriggerKeys& keys, const std::string& anchor) {
  for (auto it = item.begin(); it != item.end(); ++it) {
    const std::string key = it->first.IsScalar() ? it->first.Scalar() : "";
    if (!key.empty() && !contains(keys.allowed, key) &&
        flowSchema()["properties"]["triggers"]["items"]["properties"].contains(key)) {
      std::vector<std::string> allowed;
      for (const std::string& k : keys.allowed) {
        if (k != "on") {
          allowed.push_back(k);
        }
      }
      ctx.reportAt(it->first, "flow-schema",
                   path + ": " + quote(key) + " does not apply to trigger " + quote(kind),
                   "its keys are: " + joinList(allowed), anchor);
    }
  }
  for (const std::string& key : keys.required) {
    if (!child(item, key).IsDefined()) {
      ctx.reportAt(item, "flow-schema", path + ": trigger " + quote(kind) + " needs " + quote(key),
                   "", anchor);
    }
  }
}

// channel: (one or a list), each checked against the channels defined.
std::vector<std::string> loadChannels(LoadContext& ctx, const YAML::Node& item, const json& value,
                                      const std::string& anchor) {
  std::vector<std::string> channels = stringList(value.value("channel", json()));
  for (const std::string& channel : channels) {
    ctx.checkKnown(child(item, "channel"), channel, ctx.known().channels, "channel", anchor);
  }
  return channels;
}

MessageReceivedTrigger loadMessageReceived(LoadContext& ctx, const YAML::Node& item,
                                           const json& value, const std::string& path,
                                           const std::string& anchor) {
  MessageReceivedTrigger spec;
  spec.channels = loadChannels(ctx, item, value, anchor);
  spec.message_type = str(value, "type");
  spec.keywords = stringList(value.value("keywords", json()));
  spec.regex = str(value, "regex");
  if (!spec.regex.empty()) {
    ctx.checkRegex(child(item, "regex"), spec.regex, path + ".regex", "regex");
  }
  spec.reply_ids = stringList(value.value("reply_id", json()));
  spec.first_message = value.value("first_message", false);
  return spec;
}

// cron: parsed, an error placed at the offending field of the expression.
void loadCron(LoadContext& ctx, const YAML::Node& item, const std::string& path,
              ScheduleTrigger& spec) {
  CronParseResult parsed = CronSchedule::parse(spec.cron_text);
  if (parsed.schedule) {
    spec.cron = parsed.schedule;
    return;
  }
  const YAML::Node cron_node = child(item, "cron");
  Position pos = posOf(cron_node);
  if (std::optional<size_t> offset = ctx.offsetOf(cron_node)) {
    pos = ctx.positionOfOffset(ctx.contentStart(*offset) + parsed.offset);
  }
  ctx.report(pos, "flow-cron", path + ".cron: " + parsed.error, parsed.hint, "cron",
             diag::Severity::kError, static_cast<int>(parsed.length));
}

ScheduleTrigger loadSchedule(LoadContext& ctx, const YAML::Node& item, const json& value,
                             const std::string& path, const std::string& anchor) {
  ScheduleTrigger spec;
  spec.cron_text = str(value, "cron");
  spec.tz = str(value, "tz");
  spec.tag = str(value, "tag");
  const bool has_cron = child(item, "cron").IsDefined();
  const bool has_at = child(item, "at").IsDefined();
  if (has_cron == has_at) {
    ctx.reportAt(item, "flow-schema",
                 path + (has_cron ? ": a schedule trigger takes cron or at, not both"
                                  : ": a schedule trigger needs cron (repeating) or at (once)"),
                 "e.g. cron: \"0 9 * * mon-fri\" or at: \"2025-12-24 09:00\"", anchor);
  }
  if (!spec.cron_text.empty()) {
    loadCron(ctx, item, path, spec);
  }
  if (const std::string at = str(value, "at"); !at.empty()) {
    spec.at = parseDateTime(at);
    if (!spec.at) {
      ctx.reportAt(child(item, "at"), "flow-value",
                   path + ".at: " + quote(at) + " is not a valid date and time",
                   "write YYYY-MM-DD HH:MM with a real date, e.g. \"2025-12-24 09:00\"", anchor);
    }
  }
  if (!spec.tz.empty()) {
    ctx.checkTimeZone(child(item, "tz"), spec.tz, "time-zones");
  }
  return spec;
}

ContactIdleTrigger loadContactIdle(LoadContext& ctx, const YAML::Node& item, const json& value,
                                   const std::string& path, const std::string& anchor) {
  ContactIdleTrigger spec;
  spec.channels = loadChannels(ctx, item, value, anchor);
  spec.after_ms = value.value("after", int64_t{0});
  if (child(item, "after").IsDefined() && value.contains("after") && spec.after_ms <= 0) {
    ctx.reportAt(child(item, "after"), "flow-value", path + ".after: must be longer than 0", "",
                 anchor);
  }
  return spec;
}

}  // namespace

std::optional<Trigger> loadTrigger(LoadContext& ctx, const YAML::Node& item, size_t index) {
  const std::string path = "triggers[" + std::to_string(index) + "]";
  const json value = ctx.convertItem(item, flowSchema()["properties"]["triggers"]["items"], path);
  Trigger trigger;
  trigger.pos = posOf(item);
  trigger.id = str(value, "id");
  trigger.kind = str(value, "on");
  const auto keys = triggerKeys().find(trigger.kind);
  if (trigger.kind.empty() || keys == triggerKeys().end() || !item.IsMap()) {
    return std::nullopt;  // the schema check reported it
  }
  const std::string anchor = "trigger-" + dotsToDashes(trigger.kind);
  checkTriggerKeys(ctx, item, path, trigger.kind, keys->second, anchor);
  if (trigger.kind == "message.received") {
    trigger.spec = loadMessageReceived(ctx, item, value, path, anchor);
  } else if (trigger.kind == "message.status") {
    MessageStatusTrigger spec;
    spec.channels = loadChannels(ctx, item, value, anchor);
    spec.status = str(value, "status");
    trigger.spec = std::move(spec);
  } else if (trigger.kind == "schedule") {
    trigger.spec = loadSchedule(ctx, item, value, path, anchor);
  } else if (trigger.kind == "contact.idle") {
    trigger.spec = loadContactIdle(ctx, item, value, path, anchor);
  } else {
    trigger.spec = EventTrigger{str(value, "name")};
  }
  return trigger;
}

}  // namespace waflow::core::flow::load
