#include "flow/flow_loader.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "config/schema_validator.h"
#include "config/yaml_documents.h"
#include "diag/closest_match.h"
#include "diag/text_encoding.h"
#include "flow/flow_schema.h"
#include "flow/template_text.h"
#include "regex/user_regex.h"
#include "text/names.h"

namespace waflow::core::flow {
namespace {

using nlohmann::json;
using text::isEventName;
using text::isHeaderToken;
using text::isIdentifier;

// A flow file holds one document; past the second, more "second document" errors add nothing.
constexpr std::size_t kMaxDocumentsReported = 16;

const std::vector<std::string>& stepCommonKeys() {
  static const std::vector<std::string> kKeys = {"id",       "name",    "if",
                                                 "on_error", "timeout", "retry"};
  return kKeys;
}

const std::vector<std::string>& conditionKinds() {
  static const std::vector<std::string> kKinds = {"keywords", "regex",        "business_hours",
                                                  "contact",  "conversation", "lua"};
  return kKinds;
}

bool contains(const std::vector<std::string>& list, std::string_view item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

std::string quote(std::string_view text) {
  return "'" + std::string(text) + "'";
}

std::string joinList(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    out += (i > 0 ? ", " : "") + items[i];
  }
  return out;
}

std::string dotsToDashes(std::string text) {
  std::replace(text.begin(), text.end(), '.', '-');
  std::replace(text.begin(), text.end(), '_', '-');
  return text;
}

std::string didYouMean(std::string_view word, const std::set<std::string>& known) {
  std::vector<std::string> candidates(known.begin(), known.end());
  if (std::string match = diag::closestMatch(word, candidates); !match.empty()) {
    return "did you mean " + quote(match) + "?";
  }
  if (known.empty()) {
    return {};
  }
  if (known.size() <= 8) {
    return "known: " + joinList(candidates);
  }
  return {};
}

// The key node of `name` in a mapping (for positions), or an undefined node.
YAML::Node keyNode(const YAML::Node& map, std::string_view name) {
  if (!map.IsDefined() || !map.IsMap()) {
    return YAML::Node(YAML::NodeType::Undefined);
  }
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (it->first.IsScalar() && it->first.Scalar() == name) {
      return it->first;
    }
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

// The value of `name` in a mapping, or an undefined node. (yaml-cpp's operator[] returns an
// invalid node for a missing key, on which most calls throw.)
YAML::Node child(const YAML::Node& map, const std::string& name) {
  if (!map.IsDefined() || !map.IsMap()) {
    return YAML::Node(YAML::NodeType::Undefined);
  }
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (it->first.IsScalar() && it->first.Scalar() == name) {
      return it->second;
    }
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

Position posOf(const YAML::Node& node) {
  if (!node.IsDefined() || node.Mark().is_null()) {
    return {};
  }
  return {node.Mark().line + 1, node.Mark().column + 1};
}

std::vector<std::string> stringList(const json& value) {
  std::vector<std::string> out;
  if (value.is_string()) {
    out.push_back(value.get<std::string>());
  } else if (value.is_array()) {
    for (const json& item : value) {
      if (item.is_string()) {
        out.push_back(item.get<std::string>());
      }
    }
  }
  return out;
}

std::string str(const json& object, const char* key) {
  if (!object.is_object()) {
    return {};
  }
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// Builds the Flow of one file and reports what is wrong with it.
class FileLoader {
 public:
  FileLoader(const FlowSource& source, const FlowLoadOptions& options, diag::DiagnosticList& out,
             std::vector<std::string>& secrets)
      : source_(source), options_(options), out_(out), secrets_(secrets) {
    size_t start = 0;
    line_starts_.push_back(0);
    while ((start = source_.text.find('\n', start)) != std::string::npos) {
      line_starts_.push_back(++start);
    }
  }

  std::optional<Flow> load();

  // Cross-file references collected while loading, checked once every file is loaded.
  struct FlowRef {
    std::string flow;
    Position pos;
    std::string what;  // "call", "goto", ...
    std::string anchor;
  };
  std::vector<FlowRef> flow_refs;

 private:
  void report(Position pos, std::string kind, std::string message, std::string hint,
              std::string_view anchor, diag::Severity severity = diag::Severity::kError,
              int length = 0);
  void reportAt(const YAML::Node& node, std::string kind, std::string message, std::string hint,
                std::string_view anchor, diag::Severity severity = diag::Severity::kError) {
    int length = 0;
    if (node.IsDefined() && node.IsScalar() && node.Tag() == "?" &&
        node.Scalar().find('\n') == std::string::npos) {
      length = static_cast<int>(node.Scalar().size());
    }
    report(posOf(node), std::move(kind), std::move(message), std::move(hint), anchor, severity,
           length);
  }

  std::string anchorForPath(const std::string& path) const;
  json convertItem(const YAML::Node& item, const json& schema, const std::string& path);

  // Byte offset of a node's mark, and of where its text starts (after a quote or block header).
  std::optional<size_t> offsetOf(const YAML::Node& node) const;
  size_t contentStart(size_t offset) const;
  Position positionOfOffset(size_t offset) const;

  Text makeText(const YAML::Node& node, const json& value, const std::string& where);
  LuaSnippet makeExpression(const YAML::Node& node, const json& value, const std::string& where);
  void collectTemplates(const YAML::Node& node, const json& value, const std::string& where);
  void addSnippet(const LuaSnippet& snippet) {
    flow_.snippets.push_back(snippet);
    snippet_steps_.push_back(current_step_);
  }

  void checkRegex(const YAML::Node& node, const std::string& pattern, const std::string& what,
                  std::string_view anchor);
  Position regexErrorPosition(const YAML::Node& node, const std::string& pattern,
                              const regex::RegexError& error) const;
  void checkTimeZone(const YAML::Node& node, const std::string& tz, std::string_view anchor);
  void checkKnown(const YAML::Node& node, const std::string& id,
                  const std::optional<std::set<std::string>>& known, const std::string& what,
                  std::string_view anchor);
  void checkButtons(const YAML::Node& node, const std::vector<Button>& buttons,
                    std::string_view anchor);

  void loadTrigger(const YAML::Node& item, size_t index);
  void loadCondition(const YAML::Node& item, size_t index);
  void loadStep(const YAML::Node& item, size_t index);
  std::vector<std::string> loadProviders(const YAML::Node& node, const json& value,
                                         const std::string& where, std::string_view anchor);
  std::vector<ClassifyField> loadClassifyFields(const YAML::Node& node, const json& value,
                                                const std::string& where, std::string_view anchor,
                                                const std::string& key = "fields");
  std::vector<AiTool> loadAiTools(const YAML::Node& node, const json& value,
                                  const std::string& where, std::string_view anchor);
  StepSpec loadStepSpec(const std::string& kind, const YAML::Node& node, const json& value,
                        const std::string& where);
  ReplyStep loadReply(const YAML::Node& node, const json& value, const std::string& where);
  std::vector<Button> loadButtons(const YAML::Node& node, const json& value);
  void checkSteps(const std::vector<YAML::Node>& step_nodes);

  const FlowSource& source_;
  const FlowLoadOptions& options_;
  diag::DiagnosticList& out_;
  std::vector<std::string>& secrets_;
  std::vector<size_t> line_starts_;
  YAML::Node root_;
  Flow flow_;
  std::vector<int> snippet_steps_;  // per flow_.snippets entry: the step index, -1 outside steps
  int current_step_ = -1;
  std::string current_step_id_;  // the id of the step being loaded ("" = none)
};

void FileLoader::report(Position pos, std::string kind, std::string message, std::string hint,
                        std::string_view anchor, diag::Severity severity, int length) {
  diag::Diagnostic d;
  d.file = source_.file;
  d.line = pos.line;
  d.column = pos.column;
  d.length = length;
  d.severity = severity;
  d.kind = std::move(kind);
  d.message = std::move(message);
  const std::string link = "see " + options_.docs_page + "#" + std::string(anchor);
  d.hint = hint.empty() ? link : hint + "; " + link;
  out_.add(std::move(d));
}

std::optional<size_t> FileLoader::offsetOf(const YAML::Node& node) const {
  if (!node.IsDefined() || node.Mark().is_null()) {
    return std::nullopt;
  }
  const auto line = static_cast<size_t>(node.Mark().line);
  if (line >= line_starts_.size()) {
    return std::nullopt;
  }
  const size_t offset = line_starts_[line] + static_cast<size_t>(node.Mark().column);
  return offset <= source_.text.size() ? std::optional<size_t>(offset) : std::nullopt;
}

size_t FileLoader::contentStart(size_t offset) const {
  const std::string& text = source_.text;
  if (offset >= text.size()) {
    return offset;
  }
  if (text[offset] == '"' || text[offset] == '\'') {
    return offset + 1;
  }
  if (text[offset] == '|' || text[offset] == '>') {
    size_t next = text.find('\n', offset);
    if (next == std::string::npos) {
      return offset;
    }
    ++next;
    while (next < text.size() && (text[next] == ' ' || text[next] == '\t')) {
      ++next;
    }
    return next;
  }
  return offset;
}

Position FileLoader::positionOfOffset(size_t offset) const {
  auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
  const size_t line = static_cast<size_t>(it - line_starts_.begin());  // 1-based
  return {static_cast<int>(line), static_cast<int>(offset - line_starts_[line - 1] + 1)};
}

Text FileLoader::makeText(const YAML::Node& node, const json& value, const std::string& where) {
  Text text;
  text.value = value.is_string() ? value.get<std::string>() : "";
  text.pos = posOf(node);
  const TemplateScan scan = scanTemplate(text.value);
  if (scan.expressions.empty() && scan.errors.empty()) {
    return text;
  }
  // Map each "{{" of the value to the same "{{" in the source, so positions are exact even in
  // quoted and block scalars.
  std::vector<size_t> raw_opens;
  if (std::optional<size_t> offset = offsetOf(node)) {
    size_t at = contentStart(*offset);
    while ((at = source_.text.find("{{", at)) != std::string::npos) {
      raw_opens.push_back(at);
      at += 2;
    }
  }
  auto positionFor = [&](size_t value_open, size_t delta) -> Position {
    size_t ordinal = 0;
    for (const TemplateExpression& e : scan.expressions) {
      ordinal += e.open < value_open ? 1 : 0;
    }
    for (const TemplateError& e : scan.errors) {
      ordinal += e.offset < value_open ? 1 : 0;
    }
    if (ordinal < raw_opens.size()) {
      return positionOfOffset(raw_opens[ordinal] + delta);
    }
    return text.pos;
  };
  for (const TemplateError& error : scan.errors) {
    report(positionFor(error.offset, 0), "flow-template", where + ": " + error.message, error.hint,
           "templates", diag::Severity::kError, static_cast<int>(error.length));
  }
  for (const TemplateExpression& expression : scan.expressions) {
    LuaSnippet snippet;
    snippet.kind = LuaSnippet::Kind::kTemplate;
    snippet.code = expression.code;
    snippet.file = source_.file;
    const Position pos = positionFor(expression.open, expression.offset - expression.open);
    snippet.line = pos.line;
    snippet.column = pos.column;
    snippet.where = where;
    text.expressions.push_back(snippet);
    addSnippet(snippet);
  }
  return text;
}

LuaSnippet FileLoader::makeExpression(const YAML::Node& node, const json& value,
                                      const std::string& where) {
  LuaSnippet snippet;
  snippet.kind = LuaSnippet::Kind::kExpression;
  std::string code = value.is_string()
                         ? value.get<std::string>()
                         : value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  // GitHub Actions habit: if: "{{ x }}" means the same as if: "x".
  const std::string trimmed = [&] {
    size_t b = code.find_first_not_of(" \t\r\n");
    size_t e = code.find_last_not_of(" \t\r\n");
    return b == std::string::npos ? std::string() : code.substr(b, e - b + 1);
  }();
  size_t delta = code.find_first_not_of(" \t\r\n");
  if (delta == std::string::npos) {
    delta = 0;
  }
  code = trimmed;
  if (code.size() >= 4 && code.rfind("{{", 0) == 0 && code.compare(code.size() - 2, 2, "}}") == 0 &&
      code.find("{{", 2) == std::string::npos) {
    const size_t inner = code.find_first_not_of(" \t", 2);
    delta += inner;
    code = code.substr(inner, code.size() - 2 - inner);
    code.erase(code.find_last_not_of(" \t") + 1);
  }
  snippet.code = code;
  snippet.file = source_.file;
  snippet.where = where;
  Position pos = posOf(node);
  if (std::optional<size_t> offset = offsetOf(node)) {
    pos = positionOfOffset(contentStart(*offset) + delta);
  }
  snippet.line = pos.line;
  snippet.column = pos.column;
  addSnippet(snippet);
  return snippet;
}

void FileLoader::collectTemplates(const YAML::Node& node, const json& value,
                                  const std::string& where) {
  if (value.is_string()) {
    makeText(node, value, where);
  } else if (value.is_object() && node.IsMap()) {
    for (const auto& [key, item] : value.items()) {
      collectTemplates(child(node, key), item, where + "." + key);
    }
  } else if (value.is_array() && node.IsSequence()) {
    for (size_t i = 0; i < value.size() && i < node.size(); ++i) {
      collectTemplates(node[i], value[i], where + "[" + std::to_string(i) + "]");
    }
  }
}

void FileLoader::checkRegex(const YAML::Node& node, const std::string& pattern,
                            const std::string& what, std::string_view anchor) {
  regex::RegexError error;
  if (regex::UserRegex::compile(pattern, regex::Case::kInsensitive, &error)) {
    return;
  }
  report(regexErrorPosition(node, pattern, error), "flow-regex",
         what + ": " + quote(pattern) + " is not a valid regular expression: " + error.message,
         error.hint, anchor, diag::Severity::kError, static_cast<int>(error.fragment.size()));
}

Position FileLoader::regexErrorPosition(const YAML::Node& node, const std::string& pattern,
                                        const regex::RegexError& error) const {
  // The fragment RE2 complains about, where it stands in the file: exact when the scalar is
  // written as is (plain, or quoted without escapes before it); else the scalar's start.
  const std::optional<size_t> offset = offsetOf(node);
  if (!offset || error.fragment.empty()) {
    return posOf(node);
  }
  const size_t at = contentStart(*offset) + error.offset;
  if (at > source_.text.size() || pattern.find('\n') != std::string::npos ||
      source_.text.compare(at, error.fragment.size(), error.fragment) != 0) {
    return posOf(node);
  }
  return positionOfOffset(at);
}

void FileLoader::checkTimeZone(const YAML::Node& node, const std::string& tz,
                               std::string_view anchor) {
  const TimeZoneCheck check = flow::checkTimeZone(tz);
  if (!check.known) {
    reportAt(node, "flow-tz", check.error, check.hint, anchor);
  }
}

void FileLoader::checkKnown(const YAML::Node& node, const std::string& id,
                            const std::optional<std::set<std::string>>& known,
                            const std::string& what, std::string_view anchor) {
  if (!known || id.empty() || known->count(id) > 0) {
    return;
  }
  reportAt(node, "flow-refs", what + " " + quote(id) + " is not defined", didYouMean(id, *known),
           anchor);
}

std::string FileLoader::anchorForPath(const std::string& path) const {
  const size_t end = path.find_first_of(".[");
  const std::string head = path.substr(0, end);
  if (head == "mode" || head == "max") {
    return "mode";
  }
  if (head == "priority") {
    return "priority";
  }
  if (head != "triggers" && head != "conditions" && head != "steps") {
    return "flow-file";
  }
  size_t index = 0;
  std::string rest;
  if (end != std::string::npos && path[end] == '[') {
    const size_t close = path.find(']', end);
    index = static_cast<size_t>(std::strtoul(path.c_str() + end + 1, nullptr, 10));
    rest = close == std::string::npos ? "" : path.substr(close + 1);
  } else {
    return head;
  }
  const std::string next_key = rest.size() > 1 && rest[0] == '.'
                                   ? rest.substr(1, rest.find_first_of(".[", 1) - 1)
                                   : std::string();
  const YAML::Node list = child(root_, head);
  const YAML::Node item = list.IsSequence() && index < list.size() ? list[index] : YAML::Node();
  if (head == "triggers") {
    const YAML::Node on = child(item, "on");
    if (on.IsScalar() && triggerKeys().count(on.Scalar()) > 0) {
      return "trigger-" + dotsToDashes(on.Scalar());
    }
    return "triggers";
  }
  if (head == "conditions") {
    if (contains(conditionKinds(), next_key)) {
      return "condition-" + dotsToDashes(next_key);
    }
    for (const std::string& kind : conditionKinds()) {
      if (child(item, kind).IsDefined()) {
        return "condition-" + dotsToDashes(kind);
      }
    }
    return "conditions";
  }
  if (contains(stepKinds(), next_key)) {
    return "step-" + next_key;
  }
  if (contains(stepCommonKeys(), next_key)) {
    return "step-options";
  }
  for (const std::string& kind : stepKinds()) {
    if (child(item, kind).IsDefined()) {
      return "step-" + kind;
    }
  }
  return "steps";
}

json FileLoader::convertItem(const YAML::Node& item, const json& schema, const std::string& path) {
  // Diagnostics were reported by the whole-file validation; this only gets the typed value
  // (defaults filled, durations in milliseconds) of one list item.
  config::ValidationResult result =
      config::validateNode(item, schema, options_.subst, source_.file, path, {"flow", 0, 0});
  return result.value.is_object() ? result.value : json::object();
}

void FileLoader::checkButtons(const YAML::Node& node, const std::vector<Button>& buttons,
                              std::string_view anchor) {
  std::set<std::string> ids;
  for (size_t i = 0; i < buttons.size(); ++i) {
    if (!ids.insert(buttons[i].id).second) {
      const YAML::Node item = node.IsSequence() && i < node.size() ? node[i] : node;
      reportAt(child(item, "id").IsDefined() ? child(item, "id") : item, "flow-ids",
               "two buttons have the id " + quote(buttons[i].id),
               "give each button its own id: the flow tells them apart by it", anchor);
    }
  }
}

std::vector<Button> FileLoader::loadButtons(const YAML::Node& node, const json& value) {
  std::vector<Button> buttons;
  if (!value.is_array()) {
    return buttons;
  }
  for (const json& item : value) {
    buttons.push_back({str(item, "id"), str(item, "title")});
  }
  checkButtons(node, buttons, "step-reply");
  return buttons;
}

void FileLoader::loadTrigger(const YAML::Node& item, size_t index) {
  const std::string path = "triggers[" + std::to_string(index) + "]";
  const json value = convertItem(item, flowSchema()["properties"]["triggers"]["items"], path);
  Trigger trigger;
  trigger.pos = posOf(item);
  trigger.id = str(value, "id");
  trigger.kind = str(value, "on");
  const auto keys = triggerKeys().find(trigger.kind);
  if (trigger.kind.empty() || keys == triggerKeys().end() || !item.IsMap()) {
    return;  // the schema check reported it
  }
  const std::string anchor = "trigger-" + dotsToDashes(trigger.kind);
  for (auto it = item.begin(); it != item.end(); ++it) {
    const std::string key = it->first.IsScalar() ? it->first.Scalar() : "";
    if (!key.empty() && !contains(keys->second.allowed, key) &&
        flowSchema()["properties"]["triggers"]["items"]["properties"].contains(key)) {
      std::vector<std::string> allowed;
      for (const std::string& k : keys->second.allowed) {
        if (k != "on") {
          allowed.push_back(k);
        }
      }
      reportAt(it->first, "flow-schema",
               path + ": " + quote(key) + " does not apply to trigger " + quote(trigger.kind),
               "its keys are: " + joinList(allowed), anchor);
    }
  }
  for (const std::string& key : keys->second.required) {
    if (!child(item, key).IsDefined()) {
      reportAt(item, "flow-schema",
               path + ": trigger " + quote(trigger.kind) + " needs " + quote(key), "", anchor);
    }
  }
  if (trigger.kind == "message.received") {
    MessageReceivedTrigger spec;
    spec.channels = stringList(value.value("channel", json()));
    for (const std::string& channel : spec.channels) {
      checkKnown(child(item, "channel"), channel, options_.context.channels, "channel", anchor);
    }
    spec.message_type = str(value, "type");
    spec.keywords = stringList(value.value("keywords", json()));
    spec.regex = str(value, "regex");
    if (!spec.regex.empty()) {
      checkRegex(child(item, "regex"), spec.regex, path + ".regex", "regex");
    }
    spec.reply_ids = stringList(value.value("reply_id", json()));
    spec.first_message = value.value("first_message", false);
    trigger.spec = std::move(spec);
  } else if (trigger.kind == "message.status") {
    MessageStatusTrigger spec;
    spec.channels = stringList(value.value("channel", json()));
    for (const std::string& channel : spec.channels) {
      checkKnown(child(item, "channel"), channel, options_.context.channels, "channel", anchor);
    }
    spec.status = str(value, "status");
    trigger.spec = std::move(spec);
  } else if (trigger.kind == "schedule") {
    ScheduleTrigger spec;
    spec.cron_text = str(value, "cron");
    spec.tz = str(value, "tz");
    spec.tag = str(value, "tag");
    const bool has_cron = child(item, "cron").IsDefined();
    const bool has_at = child(item, "at").IsDefined();
    if (has_cron == has_at) {
      reportAt(item, "flow-schema",
               path + (has_cron ? ": a schedule trigger takes cron or at, not both"
                                : ": a schedule trigger needs cron (repeating) or at (once)"),
               "e.g. cron: \"0 9 * * mon-fri\" or at: \"2025-12-24 09:00\"", anchor);
    }
    if (!spec.cron_text.empty()) {
      CronParseResult parsed = CronSchedule::parse(spec.cron_text);
      if (!parsed.schedule) {
        const YAML::Node cron_node = child(item, "cron");
        Position pos = posOf(cron_node);
        if (std::optional<size_t> offset = offsetOf(cron_node)) {
          pos = positionOfOffset(contentStart(*offset) + parsed.offset);
        }
        report(pos, "flow-cron", path + ".cron: " + parsed.error, parsed.hint, "cron",
               diag::Severity::kError, static_cast<int>(parsed.length));
      } else {
        spec.cron = parsed.schedule;
      }
    }
    if (const std::string at = str(value, "at"); !at.empty()) {
      spec.at = parseDateTime(at);
      if (!spec.at) {
        reportAt(child(item, "at"), "flow-value",
                 path + ".at: " + quote(at) + " is not a valid date and time",
                 "write YYYY-MM-DD HH:MM with a real date, e.g. \"2025-12-24 09:00\"", anchor);
      }
    }
    if (!spec.tz.empty()) {
      checkTimeZone(child(item, "tz"), spec.tz, "time-zones");
    }
    trigger.spec = std::move(spec);
  } else if (trigger.kind == "contact.idle") {
    ContactIdleTrigger spec;
    spec.channels = stringList(value.value("channel", json()));
    for (const std::string& channel : spec.channels) {
      checkKnown(child(item, "channel"), channel, options_.context.channels, "channel", anchor);
    }
    spec.after_ms = value.value("after", int64_t{0});
    if (child(item, "after").IsDefined() && value.contains("after") && spec.after_ms <= 0) {
      reportAt(child(item, "after"), "flow-value", path + ".after: must be longer than 0", "",
               anchor);
    }
    trigger.spec = std::move(spec);
  } else {
    trigger.spec = EventTrigger{str(value, "name")};
  }
  flow_.triggers.push_back(std::move(trigger));
}

void FileLoader::loadCondition(const YAML::Node& item, size_t index) {
  const std::string path = "conditions[" + std::to_string(index) + "]";
  if (!item.IsMap()) {
    return;
  }
  std::vector<std::string> kinds;
  for (const std::string& kind : conditionKinds()) {
    if (child(item, kind).IsDefined()) {
      kinds.push_back(kind);
    }
  }
  if (kinds.size() != 1) {
    reportAt(item, "flow-schema",
             kinds.empty() ? path + ": the condition has no kind"
                           : path + ": one condition has several kinds: " + joinList(kinds),
             kinds.empty() ? "start it with one of: " + joinList(conditionKinds())
                           : "write each one as its own '- ' item; all conditions must pass",
             "conditions");
    if (kinds.empty()) {
      return;
    }
  }
  const std::string& kind = kinds.front();
  const json value = convertItem(item, flowSchema()["properties"]["conditions"]["items"], path);
  const json body = value.value(kind, json());
  const YAML::Node node = child(item, kind);
  const std::string anchor = "condition-" + dotsToDashes(kind);
  const std::string where = "condition " + std::to_string(index + 1) + " (" + kind + ")";
  Condition condition;
  condition.pos = posOf(item);
  condition.kind = kind;
  if (kind == "keywords") {
    KeywordsCondition spec;
    if (body.is_array()) {
      spec.any = stringList(body);
    } else if (body.is_object()) {  // anything else was reported by the schema check
      spec.any = stringList(body.value("any", json()));
      spec.all = stringList(body.value("all", json()));
      if (body.is_object() && !body.contains("any") && !body.contains("all")) {
        reportAt(node, "flow-schema",
                 path + ".keywords: needs any: or all:", "e.g. keywords: { any: [harga, price] }",
                 anchor);
      }
    }
    condition.spec = std::move(spec);
  } else if (kind == "regex") {
    RegexCondition spec{body.is_string() ? body.get<std::string>() : ""};
    if (!spec.pattern.empty()) {
      checkRegex(node, spec.pattern, path + ".regex", "regex");
    }
    condition.spec = std::move(spec);
  } else if (kind == "business_hours") {
    BusinessHoursCondition spec;
    if (body.contains("days")) {
      std::string error;
      std::vector<std::string> parts = stringList(body["days"]);
      for (const std::string& part : parts) {
        std::optional<uint8_t> days = parseDays(part, &error);
        if (!days) {
          reportAt(child(node, "days"), "flow-value", path + ".business_hours.days: " + error,
                   "write e.g. mon-sat, mon-fri,sun, daily or [mon, wed, fri]", anchor);
        } else {
          spec.days = static_cast<uint8_t>(spec.days | *days);
        }
      }
    }
    const std::optional<int> from = parseClock(str(body, "from"), false);
    const std::optional<int> to = parseClock(str(body, "to"), true);
    if (from && to) {
      spec.from_minute = *from;
      spec.to_minute = *to;
      if (*from == *to % 1440 && !(*from == 0 && *to == 1440)) {  // 00:00-24:00 is all day
        reportAt(child(node, "to"), "flow-value",
                 path + ".business_hours: from and to are the same time",
                 "to open all day write from: \"00:00\" and to: \"24:00\"", anchor);
      }
    }
    spec.tz = str(body, "tz");
    if (!spec.tz.empty()) {
      checkTimeZone(child(node, "tz"), spec.tz, "time-zones");
    }
    const YAML::Node holidays = child(node, "holidays");
    const std::vector<std::string> dates = stringList(body.value("holidays", json()));
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
        reportAt(holidays.IsSequence() && i < holidays.size() ? holidays[i] : holidays,
                 "flow-value",
                 path + ".business_hours.holidays: " + quote(date) + " is not a real date",
                 "write YYYY-MM-DD (one day) or MM-DD (every year)", anchor);
      } else {
        spec.holidays.push_back(holiday);
      }
    }
    spec.when_open = str(body, "when") != "closed";
    condition.spec = std::move(spec);
  } else if (kind == "contact") {
    ContactCondition spec;
    spec.tags = stringList(body.value("tags", json()));
    spec.not_tags = stringList(body.value("not_tags", json()));
    spec.has = stringList(body.value("has", json()));
    spec.missing = stringList(body.value("missing", json()));
    if (body.is_object() && body.contains("attributes")) {
      for (const auto& [name, v] : body["attributes"].items()) {
        spec.attributes.emplace_back(name, v);
      }
    }
    if (!node.IsMap() || node.size() == 0) {
      reportAt(node.IsDefined() && !node.IsNull() ? node : keyNode(item, kind), "flow-schema",
               path + ".contact: has no checks", "add tags, not_tags, has, missing or attributes",
               anchor);
    }
    condition.spec = std::move(spec);
  } else if (kind == "conversation") {
    ConversationCondition spec;
    if (body.is_object() && body.contains("in_handoff") && body["in_handoff"].is_boolean()) {
      spec.in_handoff = body["in_handoff"].get<bool>();
    }
    if (body.is_object() && body.contains("in_flow")) {
      if (body["in_flow"].is_boolean()) {
        spec.in_flow = body["in_flow"].get<bool>();
      } else if (body["in_flow"].is_string()) {
        spec.in_flow_id = body["in_flow"].get<std::string>();
        flow_refs.push_back({spec.in_flow_id, posOf(child(node, "in_flow")),
                             path + ".conversation.in_flow", anchor});
      }
    }
    if (!node.IsMap() || node.size() == 0) {
      reportAt(node.IsDefined() && !node.IsNull() ? node : keyNode(item, kind), "flow-schema",
               path + ".conversation: has no checks", "add in_handoff or in_flow", anchor);
    }
    condition.spec = std::move(spec);
  } else {
    if (body.is_string()) {
      condition.spec = LuaCondition{makeExpression(node, body, where)};
    } else {
      condition.spec = LuaCondition{};
    }
  }
  flow_.conditions.push_back(std::move(condition));
}

ReplyStep FileLoader::loadReply(const YAML::Node& node, const json& value,
                                const std::string& where) {
  ReplyStep reply;
  const std::string anchor = "step-reply";
  if (value.is_string()) {
    reply.text = makeText(node, value, where);
    if (reply.text.empty()) {
      reportAt(node, "flow-value", where + ": the reply text is empty", "", anchor);
    }
    return reply;
  }
  if (!value.is_object()) {
    return reply;
  }
  if (value.contains("text")) {
    reply.text = makeText(child(node, "text"), value["text"], where + ".text");
  }
  if (value.contains("header")) {
    reply.header = makeText(child(node, "header"), value["header"], where + ".header");
  }
  if (value.contains("footer")) {
    reply.footer = makeText(child(node, "footer"), value["footer"], where + ".footer");
  }
  if (value.contains("media") && value["media"].is_object()) {
    const YAML::Node media_node = child(node, "media");
    Media media;
    media.type = str(value["media"], "type");
    if (value["media"].contains("url")) {
      media.url = makeText(child(media_node, "url"), value["media"]["url"], where + ".media.url");
    }
    if (value["media"].contains("caption")) {
      media.caption = makeText(child(media_node, "caption"), value["media"]["caption"],
                               where + ".media.caption");
    }
    media.filename = str(value["media"], "filename");
    reply.media = std::move(media);
  }
  if (value.contains("buttons")) {
    reply.buttons = loadButtons(child(node, "buttons"), value["buttons"]);
  }
  if (value.contains("list") && value["list"].is_object()) {
    const json& list = value["list"];
    ListMessage message;
    message.button = str(list, "button");
    std::set<std::string> row_ids;
    size_t rows = 0;
    const YAML::Node sections_node = child(child(node, "list"), "sections");
    for (size_t s = 0; list.contains("sections") && s < list["sections"].size(); ++s) {
      const json& section = list["sections"][s];
      ListSection out;
      out.title = str(section, "title");
      const YAML::Node section_node =
          sections_node.IsSequence() && s < sections_node.size() ? sections_node[s] : YAML::Node();
      const YAML::Node rows_node = child(section_node, "rows");
      for (size_t r = 0; section.contains("rows") && r < section["rows"].size(); ++r) {
        const json& row = section["rows"][r];
        out.rows.push_back({str(row, "id"), str(row, "title"), str(row, "description")});
        const YAML::Node row_node =
            rows_node.IsSequence() && r < rows_node.size() ? rows_node[r] : rows_node;
        if (!row_ids.insert(str(row, "id")).second) {
          reportAt(child(row_node, "id"), "flow-ids",
                   where + ".list: two rows have the id " + quote(str(row, "id")),
                   "give each row its own id", anchor);
        }
        if (++rows == 11) {
          reportAt(row_node, "flow-value", where + ".list: more than 10 rows",
                   "WhatsApp shows at most 10 rows in a list message, over all sections", anchor);
        }
      }
      if (list["sections"].size() > 1 && out.title.empty()) {
        reportAt(section_node, "flow-value",
                 where + ".list.sections[" + std::to_string(s) + "]: needs a title",
                 "when a list has several sections, each one needs a title", anchor);
      }
      message.sections.push_back(std::move(out));
    }
    reply.list = std::move(message);
  }
  if (value.contains("template") && value["template"].is_object()) {
    TemplateMessage message;
    message.name = str(value["template"], "name");
    message.language = value["template"].value("language", std::string("id"));
    const YAML::Node params = child(child(node, "template"), "params");
    if (value["template"].contains("params")) {
      const json& list = value["template"]["params"];
      for (size_t i = 0; i < list.size(); ++i) {
        message.params.push_back(
            makeText(params.IsSequence() && i < params.size() ? params[i] : params, list[i],
                     where + ".template.params[" + std::to_string(i) + "]"));
      }
    }
    reply.template_message = std::move(message);
  }
  // What WhatsApp accepts together.
  if (reply.template_message &&
      (value.contains("text") || reply.media || !reply.buttons.empty() || reply.list)) {
    reportAt(keyNode(node, "template"), "flow-value",
             where + ": a template message cannot have text, media, buttons or list beside it",
             "the template's own content is sent; put values in params", anchor);
  } else if (!reply.template_message && !value.contains("text") && !reply.media &&
             reply.buttons.empty() && !reply.list) {
    reportAt(node, "flow-value", where + ": needs text, media or template",
             "e.g. reply: { text: \"Halo!\" }", anchor);
  }
  if (!reply.buttons.empty() && reply.list) {
    reportAt(keyNode(node, "list"), "flow-value", where + ": buttons and list cannot be combined",
             "use buttons for up to 3 choices, a list for up to 10", anchor);
  }
  if ((!reply.buttons.empty() || reply.list) && !value.contains("text")) {
    reportAt(keyNode(node, reply.list ? "list" : "buttons"), "flow-value",
             where + ": a " + (reply.list ? std::string("list") : std::string("buttons")) +
                 " message needs text",
             "add text: the message shown above the " +
                 (reply.list ? std::string("list button") : std::string("buttons")),
             anchor);
  }
  if (reply.media && (!reply.buttons.empty() || reply.list)) {
    reportAt(keyNode(node, "media"), "flow-value",
             where + ": media cannot be combined with buttons or list",
             "send the media in its own reply step first", anchor);
  }
  if ((value.contains("header") || value.contains("footer")) && reply.buttons.empty() &&
      !reply.list) {
    reportAt(keyNode(node, value.contains("header") ? "header" : "footer"), "flow-value",
             where + ": header and footer only apply to buttons and list messages",
             "put the line into text instead", anchor, diag::Severity::kWarning);
  }
  return reply;
}

std::vector<std::string> FileLoader::loadProviders(const YAML::Node& node, const json& value,
                                                   const std::string& where,
                                                   std::string_view anchor) {
  std::vector<std::string> providers = stringList(value.value("provider", json()));
  std::set<std::string> seen;
  for (const std::string& p : providers) {
    checkKnown(child(node, "provider"), p, options_.context.ai, "AI instance", anchor);
    if (!seen.insert(p).second) {
      reportAt(child(node, "provider"), "flow-value",
               where + ".provider: " + quote(p) + " is listed twice", "", anchor);
    }
  }
  return providers;
}

std::vector<ClassifyField> FileLoader::loadClassifyFields(const YAML::Node& node, const json& value,
                                                          const std::string& where,
                                                          std::string_view anchor,
                                                          const std::string& key) {
  std::vector<ClassifyField> fields;
  const json spec = value.value(key, json());
  const YAML::Node map = child(node, key);
  if (!spec.is_object()) {
    return fields;
  }
  static const std::set<std::string> kTypes = {"string", "number", "integer", "boolean"};
  // Keep the file's order: the AI sees the fields in the order written.
  for (auto it = map.begin(); map.IsMap() && it != map.end(); ++it) {
    ClassifyField f;
    f.name = it->first.Scalar();
    const json& v = spec.value(f.name, json());
    if (v.is_array()) {
      f.values = stringList(v);
    } else if (v.is_string()) {
      f.type = v.get<std::string>();
    } else if (v.is_object()) {
      f.type = v.value("type", std::string("string"));
      f.values = stringList(v.value("values", json()));
      f.description = v.value("description", std::string());
    }
    if (kTypes.count(f.type) == 0) {
      reportAt(it->second, "flow-value",
               where + "." + key + "." + f.name + ": unknown type " + quote(f.type),
               "write one of string, number, integer, boolean, or a list of allowed values",
               anchor);
    }
    if (!f.values.empty() && f.type != "string") {
      reportAt(it->second, "flow-value",
               where + "." + key + "." + f.name + ": a list of values is for string fields", "",
               anchor);
    }
    if (!isIdentifier(f.name)) {
      reportAt(it->first, "flow-value",
               where + "." + key + ": " + quote(f.name) + " is not a usable name",
               "use letters, digits and '_'", anchor);
    }
    fields.push_back(std::move(f));
  }
  if (fields.empty() && key == "fields") {
    reportAt(map, "flow-value", where + ".fields: names no field", "", anchor);
  }
  return fields;
}

std::vector<AiTool> FileLoader::loadAiTools(const YAML::Node& node, const json& value,
                                            const std::string& where, std::string_view anchor) {
  std::vector<AiTool> tools;
  const json list = value.value("tools", json());
  const YAML::Node items = child(node, "tools");
  std::set<std::string> seen;
  for (size_t i = 0; list.is_array() && i < list.size(); ++i) {
    const json& t = list[i];
    const YAML::Node item = items.IsSequence() && i < items.size() ? items[i] : YAML::Node();
    AiTool tool;
    tool.pos = posOf(item);
    tool.name = str(t, "name");
    tool.description = str(t, "description");
    tool.function = t.contains("lua") ? str(t, "lua") : tool.name;
    const std::string at = where + ".tools[" + std::to_string(i) + "]";
    tool.parameters = loadClassifyFields(item, t, at, anchor, "parameters");
    if (!seen.insert(tool.name).second) {
      reportAt(child(item, "name"), "flow-ids",
               at + ": the tool " + quote(tool.name) + " is listed twice", "", anchor);
    }
    checkKnown(t.contains("lua") ? child(item, "lua") : child(item, "name"), tool.function,
               options_.context.script_functions, "Lua function", anchor);
    tools.push_back(std::move(tool));
  }
  return tools;
}

StepSpec FileLoader::loadStepSpec(const std::string& kind, const YAML::Node& node,
                                  const json& value, const std::string& where) {
  const std::string anchor = "step-" + kind;
  if (kind == "reply") {
    return loadReply(node, value, where);
  }
  if (kind == "ai") {
    AiStep step;
    if (value.is_object()) {
      step.providers = loadProviders(node, value, where, anchor);
      if (value.contains("prompt")) {
        step.prompt = makeText(child(node, "prompt"), value["prompt"], where + ".prompt");
      }
      if (value.contains("system")) {
        step.system = makeText(child(node, "system"), value["system"], where + ".system");
      }
      step.history = value.value("history", 10);
      step.history_tokens = value.value("history_tokens", 0);
      step.contact_attributes = stringList(value.value("contact", json()));
      step.debounce_ms = value.value("debounce", int64_t{0});
      step.knowledge = stringList(value.value("knowledge", json()));
      for (const std::string& k : step.knowledge) {
        checkKnown(child(node, "knowledge"), k, options_.context.knowledge, "knowledge base",
                   anchor);
      }
      step.passages = value.value("passages", 3);
      step.grounded = value.value("grounded", false);
      step.recall = value.value("recall", 0);
      step.typing = value.value("typing", true);
      step.tools = loadAiTools(node, value, where, anchor);
      step.reply = value.value("reply", true);
      if (value.contains("max_tokens") && value["max_tokens"].is_number_integer()) {
        step.max_tokens = value["max_tokens"].get<int>();
      }
      if (value.contains("temperature") && value["temperature"].is_number()) {
        step.temperature = value["temperature"].get<double>();
      }
      if (const json& f = value.value("fallback", json()); f.is_string() || f.is_object()) {
        const YAML::Node fnode = child(node, "fallback");
        AiFallback fallback;
        if (f.is_string()) {
          fallback.reply = makeText(fnode, f, where + ".fallback");
        } else {
          if (f.contains("reply")) {
            fallback.reply = makeText(child(fnode, "reply"), f["reply"], where + ".fallback.reply");
          }
          if (const json& h = f.value("handoff", json()); h.is_string()) {
            fallback.handoff = true;
            fallback.note = makeText(child(fnode, "handoff"), h, where + ".fallback.handoff");
          } else {
            fallback.handoff = h.is_boolean() && h.get<bool>();
          }
        }
        if (fallback.reply.empty() && !fallback.handoff) {
          reportAt(fnode, "flow-value", where + ".fallback: does nothing",
                   "give a reply, handoff: true, or both", anchor);
        }
        step.fallback = std::move(fallback);
      }
      if (step.grounded && step.knowledge.empty()) {
        reportAt(keyNode(node, "grounded"), "flow-value",
                 where + ": grounded needs a knowledge base to ground the answer in",
                 "add knowledge: <id of a knowledge base in waflow.yaml>", anchor);
      }
      if (step.grounded && !step.fallback) {
        reportAt(keyNode(node, "grounded"), "flow-value",
                 where +
                     ": a grounded answer needs a fallback for questions the knowledge "
                     "base cannot answer",
                 "add fallback: {reply: \"...\", handoff: true}", anchor);
      }
    }
    return step;
  }
  if (kind == "classify") {
    ClassifyStep step;
    const json object = value.is_object() ? value : json::object();
    step.providers = loadProviders(node, object, where, anchor);
    if (object.contains("text")) {
      step.text = makeText(child(node, "text"), object["text"], where + ".text");
    }
    const json categories = object.value("categories", json());
    std::set<std::string> seen;
    if (categories.is_array()) {
      for (const json& c : categories) {
        step.categories.emplace_back(c.get<std::string>(), "");
      }
    } else if (categories.is_object()) {
      // Keep the file's order: the AI sees them in the order written.
      const YAML::Node map = child(node, "categories");
      for (auto it = map.begin(); map.IsMap() && it != map.end(); ++it) {
        const std::string name = it->first.Scalar();
        step.categories.emplace_back(name, str(categories, name.c_str()));
      }
    }
    for (const auto& [name, unused] : step.categories) {
      if (!seen.insert(name).second) {
        reportAt(child(node, "categories"), "flow-ids",
                 where + ".categories: " + quote(name) + " is listed twice", "", anchor);
      }
    }
    if (child(node, "categories").IsDefined() && step.categories.size() < 2) {
      reportAt(child(node, "categories"), "flow-value",
               where + ".categories: needs at least 2 categories", "", anchor);
    }
    step.fields = loadClassifyFields(node, object, where, anchor);
    if (!step.categories.empty() && child(node, "fields").IsDefined()) {
      reportAt(keyNode(node, "fields"), "flow-value",
               where + ": categories and fields cannot be combined",
               "use categories for one answer, fields for several (a field can list values)",
               anchor);
    }
    if (step.categories.empty() && step.fields.empty() && !child(node, "fields").IsDefined()) {
      step.fields = defaultClassifyFields();
    }
    step.history = object.value("history", 0);
    if (const json& i = object.value("insight", json()); i.is_string()) {
      step.insight = i.get<std::string>();
    } else if (!(i.is_boolean() && !i.get<bool>())) {
      step.insight = current_step_id_.empty() ? "classification" : current_step_id_;
    }
    step.save_to_contact = object.value("save_to_contact", false);
    step.background = object.value("background", false);
    if (step.save_to_contact && !step.categories.empty()) {
      reportAt(keyNode(node, "save_to_contact"), "flow-value",
               where + ": save_to_contact stores fields; a categories answer has none",
               "use fields: {category: [a, b]} to store the category on the contact", anchor);
    }
    return step;
  }
  if (kind == "set") {
    SetStep step;
    if (value.is_object()) {
      for (auto it = node.begin(); node.IsMap() && it != node.end(); ++it) {
        const std::string name = it->first.Scalar();
        if (!value.contains(name)) {
          continue;
        }
        Assignment assignment;
        assignment.attribute = name;
        assignment.value = value[name];
        if (value[name].is_string()) {
          assignment.text = makeText(it->second, value[name], where + "." + name);
        }
        if (!isIdentifier(name)) {
          reportAt(it->first, "flow-value",
                   where + ": " + quote(name) + " is not a valid attribute name",
                   "use letters, digits and '_', starting with a letter", anchor);
        }
        step.values.push_back(std::move(assignment));
      }
    }
    if (!node.IsMap() || node.size() == 0) {
      reportAt(node, "flow-value", where + ": has nothing to set", "e.g. set: { city: Bandung }",
               anchor);
    }
    return step;
  }
  if (kind == "tag") {
    return TagStep{stringList(value)};
  }
  if (kind == "untag") {
    return UntagStep{stringList(value)};
  }
  if (kind == "handoff") {
    HandoffStep step;
    if (value.is_string()) {
      step.note = makeText(node, value, where);
    } else if (value.is_object()) {
      if (value.contains("note")) {
        step.note = makeText(child(node, "note"), value["note"], where + ".note");
      }
      step.team = str(value, "team");
      if (value.contains("release_after") && value["release_after"].is_number_integer()) {
        step.release_after_ms = value["release_after"].get<int64_t>();
      }
    }
    return step;
  }
  if (kind == "release") {
    ReleaseStep step;
    if (value.is_object() && value.contains("note")) {
      step.note = makeText(child(node, "note"), value["note"], where + ".note");
    }
    return step;
  }
  if (kind == "ask") {
    AskStep step;
    if (!value.is_object()) {
      return step;
    }
    if (value.contains("question")) {
      step.question = makeText(child(node, "question"), value["question"], where + ".question");
    }
    if (value.contains("buttons")) {
      step.buttons = loadButtons(child(node, "buttons"), value["buttons"]);
    }
    const std::string validate = value.value("validate", std::string("text"));
    static const std::map<std::string, AnswerKind> kKinds = {
        {"text", AnswerKind::kText},     {"name", AnswerKind::kName},
        {"number", AnswerKind::kNumber}, {"date", AnswerKind::kDate},
        {"email", AnswerKind::kEmail},   {"phone", AnswerKind::kPhone},
        {"regex", AnswerKind::kRegex},   {"lua", AnswerKind::kLua}};
    if (auto it = kKinds.find(validate); it != kKinds.end()) {
      step.validate = it->second;
    }
    if (value.contains("min") && value["min"].is_number()) {
      step.min = value["min"].get<double>();
    }
    if (value.contains("max") && value["max"].is_number()) {
      step.max = value["max"].get<double>();
    }
    if ((step.min || step.max) && step.validate != AnswerKind::kNumber) {
      reportAt(keyNode(node, step.min ? "min" : "max"), "flow-value",
               where + ": min and max only apply to validate: number",
               "add validate: number, or remove them", anchor);
    }
    if (step.min && step.max && *step.min > *step.max) {
      reportAt(child(node, "min"), "flow-value", where + ": min is larger than max", "", anchor);
    }
    step.pattern = str(value, "pattern");
    if (step.validate == AnswerKind::kRegex && step.pattern.empty()) {
      reportAt(child(node, "validate"), "flow-value", where + ": validate: regex needs pattern",
               "e.g. pattern: \"^[0-9]{5}$\" for a postcode", anchor);
    } else if (step.validate != AnswerKind::kRegex && value.contains("pattern")) {
      reportAt(keyNode(node, "pattern"), "flow-value",
               where + ": pattern only applies to validate: regex", "", anchor);
    }
    if (!step.pattern.empty()) {
      checkRegex(child(node, "pattern"), step.pattern, where + ".pattern", "regex");
    }
    if (value.contains("rule") && value["rule"].is_string()) {
      step.rule = makeExpression(child(node, "rule"), value["rule"], where + ".rule");
      if (step.validate != AnswerKind::kLua) {
        reportAt(keyNode(node, "rule"), "flow-value",
                 where + ": rule only applies to validate: lua", "", anchor);
      }
    } else if (step.validate == AnswerKind::kLua) {
      reportAt(child(node, "validate"), "flow-value", where + ": validate: lua needs rule",
               "e.g. rule: \"#answer == 5\"", anchor);
    }
    step.retries = value.value("retries", 2);
    if (value.contains("reask")) {
      step.reask = makeText(child(node, "reask"), value["reask"], where + ".reask");
    }
    step.save_as = str(value, "save_as");
    return step;
  }
  if (kind == "delay") {
    DelayStep step;
    step.duration_ms = value.is_number_integer() ? value.get<int64_t>() : 0;
    if (value.is_number_integer() && step.duration_ms <= 0) {
      reportAt(node, "flow-value", where + ": must be longer than 0", "", anchor);
    }
    return step;
  }
  if (kind == "wait") {
    WaitStep step;
    if (value.is_string()) {
      step.event = value.get<std::string>();
      if (!isEventName(step.event)) {
        reportAt(node, "flow-schema", where + ": " + quote(step.event) + " is not an event name",
                 "use letters, digits and . _ : -, e.g. payment.paid", anchor);
      }
    } else if (value.is_object()) {
      step.event = str(value, "event");
      if (value.contains("match") && value["match"].is_string()) {
        step.match = makeExpression(child(node, "match"), value["match"], where + ".match");
      }
    }
    return step;
  }
  if (kind == "schedule") {
    ScheduleStep step;
    if (!value.is_object()) {
      return step;
    }
    if (value.contains("after") && value["after"].is_number_integer()) {
      step.after_ms = value["after"].get<int64_t>();
    }
    if (value.contains("at")) {
      step.at = makeText(child(node, "at"), value["at"], where + ".at");
    }
    step.tz = str(value, "tz");
    if (value.contains("reply")) {
      step.reply = makeText(child(node, "reply"), value["reply"], where + ".reply");
    }
    step.flow = str(value, "flow");
    step.cancel_on_reply = value.value("cancel_on_reply", false);
    const bool has_after = child(node, "after").IsDefined();
    const bool has_at = child(node, "at").IsDefined();
    if (has_after == has_at) {
      reportAt(node.IsMap() ? node : keyNode(node, "after"), "flow-schema",
               where + (has_after ? ": takes after or at, not both" : ": needs after or at"),
               "e.g. after: 24h", anchor);
    }
    const bool has_reply = child(node, "reply").IsDefined();
    const bool has_flow = child(node, "flow").IsDefined();
    if (has_reply == has_flow) {
      reportAt(node, "flow-schema",
               where + (has_reply ? ": takes reply or flow, not both" : ": needs reply or flow"),
               "reply: sends a message then; flow: runs a flow then", anchor);
    }
    if (!step.flow.empty()) {
      flow_refs.push_back({step.flow, posOf(child(node, "flow")), where + ".flow", anchor});
    }
    if (!step.tz.empty()) {
      checkTimeZone(child(node, "tz"), step.tz, "time-zones");
    }
    if (has_at && !step.at.isTemplate()) {
      if (!parseDateTime(step.at.value)) {
        reportAt(child(node, "at"), "flow-value",
                 where + ".at: " + quote(step.at.value) + " is not a valid date and time",
                 "write YYYY-MM-DD HH:MM, e.g. \"2025-12-24 09:00\"", anchor);
      } else if (step.tz.empty()) {
        reportAt(child(node, "at"), "flow-value", where + ".at: needs tz",
                 "add tz: Asia/Jakarta (or your time zone)", anchor);
      }
    }
    return step;
  }
  if (kind == "http") {
    HttpStep step;
    if (!value.is_object()) {
      return step;
    }
    step.method = value.value("method", std::string("GET"));
    if (value.contains("url")) {
      step.url = makeText(child(node, "url"), value["url"], where + ".url");
      const std::string& url = step.url.value;
      if (!step.url.isTemplate() && url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
        reportAt(child(node, "url"), "flow-value",
                 where + ".url: " + quote(url) + " is not an http:// or https:// URL",
                 "write the full address, e.g. https://api.toko.id/orders", anchor);
      }
    }
    if (value.contains("headers") && value["headers"].is_object()) {
      const YAML::Node headers = child(node, "headers");
      for (auto it = headers.begin(); headers.IsMap() && it != headers.end(); ++it) {
        const std::string name = it->first.Scalar();
        if (!value["headers"].contains(name)) {
          continue;
        }
        if (!isHeaderToken(name)) {
          reportAt(it->first, "flow-value",
                   where + ".headers: " + quote(name) + " is not a valid header name",
                   "header names have no spaces or ':', e.g. Authorization", anchor);
        }
        step.headers.emplace_back(
            name, makeText(it->second, value["headers"][name], where + ".headers." + name));
      }
    }
    if (value.contains("body")) {
      step.body = value["body"];
      if (step.body.is_string()) {
        step.body_text = makeText(child(node, "body"), step.body, where + ".body");
      } else {
        collectTemplates(child(node, "body"), step.body, where + ".body");
      }
      if (step.method == "GET") {
        reportAt(keyNode(node, "body"), "flow-value", where + ": a GET request has no body",
                 "add method: POST (or PUT, PATCH)", anchor);
      }
    }
    return step;
  }
  if (kind == "emit") {
    EmitStep step;
    if (value.is_string()) {
      step.event = value.get<std::string>();
      if (!isEventName(step.event)) {
        reportAt(node, "flow-schema", where + ": " + quote(step.event) + " is not an event name",
                 "use letters, digits and . _ : -, e.g. order.created", anchor);
      }
    } else if (value.is_object()) {
      step.event = str(value, "event");
      if (value.contains("data")) {
        step.data = value["data"];
        collectTemplates(child(node, "data"), step.data, where + ".data");
      }
    }
    return step;
  }
  if (kind == "lua") {
    LuaStep step;
    YAML::Node function_node = node;
    if (value.is_string()) {
      step.function = value.get<std::string>();
    } else if (value.is_object()) {
      step.function = str(value, "function");
      function_node = child(node, "function");
      if (value.contains("args")) {
        step.args = value["args"];
        collectTemplates(child(node, "args"), step.args, where + ".args");
      }
    }
    checkKnown(function_node, step.function, options_.context.script_functions, "script function",
               anchor);
    return step;
  }
  if (kind == "call") {
    CallStep step;
    YAML::Node flow_node = node;
    if (value.is_string()) {
      step.flow = value.get<std::string>();
    } else if (value.is_object()) {
      step.flow = str(value, "flow");
      flow_node = child(node, "flow");
      if (value.contains("with")) {
        step.with = value["with"];
        collectTemplates(child(node, "with"), step.with, where + ".with");
      }
    }
    if (!step.flow.empty()) {
      flow_refs.push_back({step.flow, posOf(flow_node), where, anchor});
    }
    return step;
  }
  if (kind == "goto") {
    GotoStep step{value.is_string() ? value.get<std::string>() : ""};
    if (!step.flow.empty()) {
      flow_refs.push_back({step.flow, posOf(node), where, anchor});
    }
    return step;
  }
  StopStep step;
  if (value.is_string()) {
    step.reason = value.get<std::string>();
  } else {
    step.reason = str(value, "reason");
  }
  return step;
}

void FileLoader::loadStep(const YAML::Node& item, size_t index) {
  const std::string path = "steps[" + std::to_string(index) + "]";
  if (!item.IsMap()) {
    return;
  }
  std::vector<std::string> kinds;
  for (const std::string& kind : stepKinds()) {
    if (child(item, kind).IsDefined()) {
      kinds.push_back(kind);
    }
  }
  // A misspelt kind ("replay:") is reported as an unknown key with a suggestion already.
  bool has_unknown_key = false;
  for (auto it = item.begin(); it != item.end(); ++it) {
    has_unknown_key =
        has_unknown_key ||
        (it->first.IsScalar() &&
         !flowSchema()["properties"]["steps"]["items"]["properties"].contains(it->first.Scalar()));
  }
  if (kinds.size() > 1 || (kinds.empty() && !has_unknown_key)) {
    reportAt(item, "flow-schema",
             kinds.empty() ? path + ": the step has no kind"
                           : path + ": one step has several kinds: " + joinList(kinds),
             kinds.empty() ? "add one of: " + joinList(stepKinds())
                           : "split it into one step per kind, each starting with '- '",
             "steps");
  }
  current_step_ = static_cast<int>(flow_.steps.size());
  const json value = convertItem(item, flowSchema()["properties"]["steps"]["items"], path);
  Step step;
  step.pos = posOf(item);
  step.id = str(value, "id");
  step.name = str(value, "name");
  step.kind = kinds.empty() ? "" : kinds.front();
  const std::string where = "step " +
                            (step.id.empty() ? std::to_string(index + 1) : quote(step.id)) +
                            (step.kind.empty() ? "" : " (" + step.kind + ")");
  if (value.contains("if") && value["if"].is_string()) {
    step.if_expression = makeExpression(child(item, "if"), value["if"], where + ", if");
  }
  if (value.contains("on_error") && value["on_error"].is_string()) {
    const std::string on_error = value["on_error"].get<std::string>();
    step.on_error.pos = posOf(child(item, "on_error"));
    if (on_error == "continue") {
      step.on_error.action = OnErrorAction::kContinue;
    } else if (on_error.rfind("goto:", 0) == 0) {
      step.on_error.action = OnErrorAction::kGoto;
      step.on_error.step = on_error.substr(5);
    }
  }
  if (value.contains("timeout") && value["timeout"].is_number_integer()) {
    step.timeout_ms = value["timeout"].get<int64_t>();
  }
  if (value.contains("retry")) {
    const json& retry = value["retry"];
    if (retry.is_number_integer()) {
      step.retry.attempts = retry.get<int>();
    } else if (retry.is_object()) {
      step.retry.attempts = retry.value("attempts", 0);
      step.retry.backoff_ms = retry.value("backoff", int64_t{1000});
    }
  }
  if (!step.kind.empty()) {
    current_step_id_ = step.id;
    step.spec =
        loadStepSpec(step.kind, child(item, step.kind), value.value(step.kind, json()), where);
  }
  current_step_ = -1;
  flow_.steps.push_back(std::move(step));
}

void FileLoader::checkSteps(const std::vector<YAML::Node>& step_nodes) {
  // Duplicate ids.
  std::map<std::string, size_t> first;
  for (size_t i = 0; i < flow_.steps.size(); ++i) {
    const Step& step = flow_.steps[i];
    if (step.id.empty()) {
      continue;
    }
    auto [it, inserted] = first.emplace(step.id, i);
    if (!inserted) {
      reportAt(child(step_nodes[i], "id"), "flow-ids",
               "step id " + quote(step.id) + " is used twice in flow " + quote(flow_.id),
               "the first is at line " + std::to_string(flow_.steps[it->second].pos.line) +
                   "; give each step its own id",
               "step-options");
    }
  }
  std::set<std::string> ids;
  for (const auto& [id, unused] : first) {
    ids.insert(id);
  }
  // on_error: goto:<step>.
  std::set<std::string> goto_targets;
  for (size_t i = 0; i < flow_.steps.size(); ++i) {
    const Step& step = flow_.steps[i];
    if (step.on_error.action != OnErrorAction::kGoto) {
      continue;
    }
    goto_targets.insert(step.on_error.step);
    const YAML::Node node = child(step_nodes[i], "on_error");
    if (ids.count(step.on_error.step) == 0) {
      reportAt(node, "flow-refs",
               "step " + step.label(i) + ": on_error goes to step " + quote(step.on_error.step) +
                   ", which is not defined",
               didYouMean(step.on_error.step, ids), "step-options");
    } else if (step.on_error.step == step.id) {
      reportAt(node, "flow-refs", "step " + step.label(i) + ": on_error goes to the step itself",
               "use retry: to try a step again", "step-options");
    }
  }
  // steps.<id> in Lua: defined, and run before the code that reads it.
  for (size_t s = 0; s < flow_.snippets.size(); ++s) {
    const LuaSnippet& snippet = flow_.snippets[s];
    const int at_step = snippet_steps_[s];
    for (const StepReference& ref : stepReferences(snippet.code)) {
      // The reference's own position inside the snippet.
      Position pos{snippet.line, snippet.column};
      for (size_t c = 0; c < ref.offset && c < snippet.code.size(); ++c) {
        if (snippet.code[c] == '\n') {
          ++pos.line;
          pos.column = 1;
        } else {
          ++pos.column;
        }
      }
      const int length = static_cast<int>(ref.length);
      auto it = first.find(ref.step);
      if (it == first.end()) {
        report(pos, "flow-refs",
               snippet.where + ": steps." + ref.step + " is not a step of flow " + quote(flow_.id),
               didYouMean(ref.step, ids), "templates", diag::Severity::kError, length);
      } else if (at_step < 0) {
        report(pos, "flow-refs",
               snippet.where + ": steps." + ref.step + " is read before any step has run",
               "triggers and conditions are checked before the steps", "templates",
               diag::Severity::kError, length);
      } else if (static_cast<int>(it->second) >= at_step) {
        report(pos, "flow-refs",
               snippet.where + ": steps." + ref.step +
                   (static_cast<int>(it->second) == at_step ? " is the step itself"
                                                            : " runs later in the flow"),
               "a step can only read the output of steps above it", "templates",
               diag::Severity::kError, length);
      }
    }
  }
  // Steps after an unconditional stop or goto never run, unless an on_error jumps to them.
  for (size_t i = 0; i + 1 < flow_.steps.size(); ++i) {
    const Step& step = flow_.steps[i];
    if ((step.kind == "stop" || step.kind == "goto") && !step.if_expression) {
      const Step& next = flow_.steps[i + 1];
      if (next.id.empty() || goto_targets.count(next.id) == 0) {
        report(next.pos, "flow-unreachable",
               "step " + next.label(i + 1) + " never runs: the " + step.kind +
                   " step before it always ends the flow",
               "remove it, or give the " + step.kind + " step an if:", "steps",
               diag::Severity::kWarning);
      }
    }
  }
}

std::optional<Flow> FileLoader::load() {
  if (std::optional<diag::Diagnostic> encoding =
          diag::checkUtf8(source_.text, source_.file, "flow-yaml")) {
    report({encoding->line, encoding->column}, encoding->kind, encoding->message, encoding->hint,
           "flow-file", diag::Severity::kError, encoding->length);
    return std::nullopt;
  }
  config::YamlDocuments documents;
  try {
    documents = config::scanYamlDocuments(source_.text, kMaxDocumentsReported);
    if (!documents.stuck_at) {
      root_ = YAML::Load(source_.text);
    }
  } catch (const YAML::ParserException& e) {
    report({e.mark.line + 1, e.mark.column + 1}, "flow-yaml", "invalid YAML: " + e.msg,
           "check the indentation and that every ':' inside a text is within quotes", "flow-file");
    return std::nullopt;
  }
  if (documents.stuck_at) {
    report({documents.stuck_at->line + 1, documents.stuck_at->column + 1}, "flow-yaml",
           config::describeStuckToken(documents),
           "a flow file is a mapping that starts with 'id:'; quote any text that starts with a "
           "sign such as ',' or '['",
           "flow-file");
    return std::nullopt;
  }
  if (root_.IsNull()) {
    report({}, "flow-yaml", "the file is empty", "a flow needs at least id, triggers and steps",
           "flow-file", diag::Severity::kWarning);
    return std::nullopt;
  }
  for (size_t i = 1; i < documents.starts.size(); ++i) {
    report({documents.starts[i].line + 1, documents.starts[i].column + 1}, "flow-yaml",
           "a flow file holds one flow; this is a second document", "move it to its own file",
           "flow-file");
  }
  const YAML::Node& root = root_;

  config::ValidateOptions validate_options;
  validate_options.kind_prefix = "flow";
  validate_options.fallback_line = 1;
  validate_options.fallback_column = 1;
  config::ValidationResult validated =
      config::validateNode(root, flowSchema(), options_.subst, source_.file, "", validate_options);
  secrets_.insert(secrets_.end(), validated.secrets.begin(), validated.secrets.end());
  for (diag::Diagnostic& d : validated.diagnostics) {
    std::string path;
    constexpr std::string_view kUnknown = "unknown key '";
    if (d.message.rfind(kUnknown, 0) == 0) {
      const size_t close = d.message.find('\'', kUnknown.size());
      const std::string key = d.message.substr(kUnknown.size(), close - kUnknown.size());
      const size_t in = d.message.find(" in '", close);
      path = in == std::string::npos
                 ? key
                 : d.message.substr(in + 5, d.message.size() - in - 6) + "." + key;
    } else {
      path = d.message.substr(0, d.message.find(": "));
    }
    const std::string link = "see " + options_.docs_page + "#" + anchorForPath(path);
    d.hint = d.hint.empty() ? link : d.hint + "; " + link;
    out_.add(std::move(d));
  }
  if (!root.IsMap()) {
    return std::nullopt;
  }

  const json& value = validated.value;
  flow_.file = source_.file;
  flow_.pos = root.begin() != root.end() ? posOf(root.begin()->first) : Position{1, 1};
  flow_.id = str(value, "id");
  flow_.name = str(value, "name");
  flow_.description = str(value, "description");
  const std::string mode = value.value("mode", std::string("single"));
  flow_.mode = mode == "restart"    ? Mode::kRestart
               : mode == "queued"   ? Mode::kQueued
               : mode == "parallel" ? Mode::kParallel
                                    : Mode::kSingle;
  flow_.max = value.value("max", 10);
  flow_.priority = value.value("priority", 0);
  // Only when both values are valid: an invalid mode or max is reported already.
  const bool mode_known = !child(root, "mode").IsDefined() || value.contains("mode");
  if (value.contains("max") && child(root, "max").IsDefined() && mode_known &&
      (flow_.mode == Mode::kSingle || flow_.mode == Mode::kRestart)) {
    reportAt(keyNode(root, "max"), "flow-value",
             "max has no effect with mode " + std::string(modeName(flow_.mode)),
             "it limits queued and parallel runs; remove it or change mode", "mode",
             diag::Severity::kWarning);
  }

  const YAML::Node triggers = child(root, "triggers");
  for (size_t i = 0; triggers.IsSequence() && i < triggers.size(); ++i) {
    loadTrigger(triggers[i], i);
  }
  const YAML::Node conditions = child(root, "conditions");
  for (size_t i = 0; conditions.IsSequence() && i < conditions.size(); ++i) {
    loadCondition(conditions[i], i);
  }
  const YAML::Node steps = child(root, "steps");
  std::vector<YAML::Node> step_nodes;
  for (size_t i = 0; steps.IsSequence() && i < steps.size(); ++i) {
    if (steps[i].IsMap()) {
      step_nodes.push_back(steps[i]);
      loadStep(steps[i], i);
    }
  }
  checkSteps(step_nodes);

  if (options_.check_lua) {
    for (const LuaSnippet& snippet : flow_.snippets) {
      if (std::optional<diag::Diagnostic> d = options_.check_lua(snippet)) {
        if (d->file.empty()) {
          d->file = snippet.file;
        }
        if (d->line == 0) {
          d->line = snippet.line;
          d->column = snippet.column;
        }
        out_.add(std::move(*d));
      }
    }
  }
  return std::move(flow_);
}

bool readFile(const std::filesystem::path& path, std::string& text) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return false;
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  text = buffer.str();
  return !in.bad();
}

}  // namespace

bool FlowLoadResult::ok() const {
  return std::none_of(diagnostics.begin(), diagnostics.end(), [](const diag::Diagnostic& d) {
    return d.severity == diag::Severity::kError;
  });
}

namespace {

diag::Diagnostic internalError(const std::string& file, const std::string& what) {
  diag::Diagnostic d;
  d.file = file;
  d.kind = "flow-internal";
  d.message = "this flow could not be read (" + what + ")";
  d.hint =
      "fix the other problems reported for this file; if there are none, please report "
      "this as a bug with the file";
  return d;
}

}  // namespace

FlowLoadResult loadFlowSources(const std::vector<FlowSource>& sources,
                               const FlowLoadOptions& options) {
  FlowLoadResult result;
  diag::DiagnosticList diagnostics;
  std::vector<std::vector<FileLoader::FlowRef>> refs;
  std::vector<const FlowSource*> ref_sources;
  for (const FlowSource& source : sources) {
    result.files.push_back(source.file);
    FileLoader loader(source, options, diagnostics, result.secrets);
    std::optional<Flow> flow;
    try {
      flow = loader.load();
    } catch (const std::exception& e) {
      // A shape the schema check let through and the loader did not expect: this file is
      // refused with a message, never the whole process (validate, start or a hot reload).
      diagnostics.add(internalError(source.file, e.what()));
    }
    if (flow) {
      result.flows.push_back(std::move(*flow));
      refs.push_back(std::move(loader.flow_refs));
      ref_sources.push_back(&source);
    }
  }
  // Flow ids are global: the second definition is the one reported.
  std::map<std::string, const Flow*> by_id;
  std::set<std::string> ids;
  for (const Flow& flow : result.flows) {
    if (flow.id.empty()) {
      continue;
    }
    auto [it, inserted] = by_id.emplace(flow.id, &flow);
    if (!inserted) {
      diagnostics.add(flow.file, flow.pos.line, flow.pos.column, "flow-ids",
                      "flow id " + quote(flow.id) + " is already used by " + it->second->file +
                          ":" + std::to_string(it->second->pos.line),
                      "give each flow its own id; see " + options.docs_page + "#flow-file");
    }
    ids.insert(flow.id);
  }
  for (size_t f = 0; f < refs.size(); ++f) {
    const Flow& flow = result.flows[f];
    for (const FileLoader::FlowRef& ref : refs[f]) {
      if (ids.count(ref.flow) > 0) {
        if (ref.flow == flow.id && (ref.anchor == "step-call" || ref.anchor == "step-goto")) {
          diagnostics.add(flow.file, ref.pos.line, ref.pos.column, "flow-refs",
                          ref.what + ": flow " + quote(flow.id) + " calls itself, which never ends",
                          "see " + options.docs_page + "#" + ref.anchor);
        }
        continue;
      }
      std::string hint = didYouMean(ref.flow, ids);
      const std::string link = "see " + options.docs_page + "#" + ref.anchor;
      diagnostics.add(flow.file, ref.pos.line, ref.pos.column, "flow-refs",
                      ref.what + ": flow " + quote(ref.flow) + " is not defined",
                      hint.empty() ? link : hint + "; " + link);
    }
  }
  result.diagnostics = diagnostics.takeSorted();
  return result;
}

FlowLoadResult loadFlows(const std::filesystem::path& path, const FlowLoadOptions& options) {
  std::vector<FlowSource> sources;
  std::error_code ec;
  std::vector<std::filesystem::path> files;
  FlowLoadResult failed;
  if (std::filesystem::is_directory(path, ec)) {
    for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
      const std::string name = entry.path().filename().string();
      const std::string ext = entry.path().extension().string();
      if (name.empty() || name[0] == '.' || (ext != ".yaml" && ext != ".yml") ||
          !entry.is_regular_file(ec)) {
        continue;
      }
      files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
  } else if (std::filesystem::exists(path, ec)) {
    files.push_back(path);
  } else {
    diag::Diagnostic d;
    d.file = path.string();
    d.kind = "flow-file";
    d.message = "no such file or directory";
    d.hint = "flows are read from a directory of .yaml files or from one file";
    failed.diagnostics.push_back(std::move(d));
    return failed;
  }
  for (const std::filesystem::path& file : files) {
    FlowSource source{file.string(), {}};
    if (!readFile(file, source.text)) {
      diag::Diagnostic d;
      d.file = file.string();
      d.kind = "flow-file";
      d.message = "cannot read the file";
      d.hint = "check that it exists and is readable by the user running waflow";
      failed.diagnostics.push_back(std::move(d));
      continue;
    }
    sources.push_back(std::move(source));
  }
  FlowLoadResult result = loadFlowSources(sources, options);
  result.diagnostics.insert(result.diagnostics.end(), failed.diagnostics.begin(),
                            failed.diagnostics.end());
  std::stable_sort(result.diagnostics.begin(), result.diagnostics.end(), diag::locationLess);
  return result;
}

}  // namespace waflow::core::flow
