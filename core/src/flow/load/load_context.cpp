// The loader's shared context (load_context.h): positions of YAML nodes in the file's text,
// diagnostics, texts and Lua snippets, and the checks several parts use (regexes, time zones,
// names of things defined elsewhere).
//
// Thread-safety: see load_context.h.
#include "flow/load/load_context.h"

#include <algorithm>

#include "config/schema_validator.h"
#include "diag/closest_match.h"
#include "flow/template_text.h"
#include "time/time_check.h"

namespace waflow::core::flow::load {

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

LoadContext::LoadContext(const FlowSource& source, const FlowLoadOptions& options,
                         diag::DiagnosticList& out)
    : source_(source), options_(options), out_(out) {
  size_t start = 0;
  line_starts_.push_back(0);
  while ((start = source_.text.find('\n', start)) != std::string::npos) {
    line_starts_.push_back(++start);
  }
}

void LoadContext::report(Position pos, std::string kind, std::string message, std::string hint,
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

void LoadContext::reportAt(const YAML::Node& node, std::string kind, std::string message,
                           std::string hint, std::string_view anchor, diag::Severity severity) {
  int length = 0;
  if (node.IsDefined() && node.IsScalar() && node.Tag() == "?" &&
      node.Scalar().find('\n') == std::string::npos) {
    length = static_cast<int>(node.Scalar().size());
  }
  report(posOf(node), std::move(kind), std::move(message), std::move(hint), anchor, severity,
         length);
}

void LoadContext::addSnippet(const LuaSnippet& snippet) {
  snippets_.push_back(snippet);
  snippet_steps_.push_back(current_step_);
}

std::optional<size_t> LoadContext::offsetOf(const YAML::Node& node) const {
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

size_t LoadContext::contentStart(size_t offset) const {
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

Position LoadContext::positionOfOffset(size_t offset) const {
  auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
  const size_t line = static_cast<size_t>(it - line_starts_.begin());  // 1-based
  return {static_cast<int>(line), static_cast<int>(offset - line_starts_[line - 1] + 1)};
}

Text LoadContext::makeText(const YAML::Node& node, const json& value, const std::string& where) {
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

LuaSnippet LoadContext::makeExpression(const YAML::Node& node, const json& value,
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

void LoadContext::collectTemplates(const YAML::Node& node, const json& value,
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

void LoadContext::checkRegex(const YAML::Node& node, const std::string& pattern,
                             const std::string& what, std::string_view anchor) {
  regex::RegexError error;
  if (regex::UserRegex::compile(pattern, regex::Case::kInsensitive, &error)) {
    return;
  }
  report(regexErrorPosition(node, pattern, error), "flow-regex",
         what + ": " + quote(pattern) + " is not a valid regular expression: " + error.message,
         error.hint, anchor, diag::Severity::kError, static_cast<int>(error.fragment.size()));
}

Position LoadContext::regexErrorPosition(const YAML::Node& node, const std::string& pattern,
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

void LoadContext::checkTimeZone(const YAML::Node& node, const std::string& tz,
                                std::string_view anchor) {
  const time::TimeZoneCheck check = time::checkTimeZone(tz);
  if (!check.known) {
    reportAt(node, "flow-tz", check.error, check.hint, anchor);
  }
}

void LoadContext::checkKnown(const YAML::Node& node, const std::string& id,
                             const std::optional<std::set<std::string>>& known,
                             const std::string& what, std::string_view anchor) {
  if (!known || id.empty() || known->count(id) > 0) {
    return;
  }
  reportAt(node, "flow-refs", what + " " + quote(id) + " is not defined", didYouMean(id, *known),
           anchor);
}

json LoadContext::convertItem(const YAML::Node& item, const json& schema, const std::string& path) {
  // Diagnostics were reported by the whole-file validation; this only gets the typed value
  // (defaults filled, durations in milliseconds) of one list item.
  config::ValidationResult result =
      config::validateNode(item, schema, options_.subst, source_.file, path, {"flow", 0, 0});
  return result.value.is_object() ? result.value : json::object();
}

}  // namespace waflow::core::flow::load
