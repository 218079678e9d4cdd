#include "app/fast_rule.h"

#include <chrono>
#include <regex>

namespace waflow::core::app {
namespace {

using Json = nlohmann::json;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

// Splits at a top-level " or " / " and " outside quotes; false when both appear (Lua gives
// `and` precedence, which a flat list cannot express) or a quote is unbalanced.
bool split(std::string_view code, std::vector<std::string_view>& parts, bool& any) {
  std::optional<bool> seen_or;
  char quote = 0;
  size_t start = 0;
  for (size_t i = 0; i < code.size(); ++i) {
    char c = code[i];
    if (quote != 0) {
      quote = c == quote ? 0 : quote;
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
      continue;
    }
    for (bool is_or : {true, false}) {
      std::string_view word = is_or ? " or " : " and ";
      if (code.compare(i, word.size(), word) == 0) {
        if (seen_or && *seen_or != is_or) {
          return false;
        }
        seen_or = is_or;
        parts.push_back(code.substr(start, i - start));
        start = i + word.size();
        i = start - 1;
        break;
      }
    }
  }
  if (quote != 0) {
    return false;
  }
  parts.push_back(code.substr(start));
  any = seen_or.value_or(true);
  return true;
}

const Json* field(const Json& object, const std::string& name) {
  if (!object.is_object()) {
    return nullptr;
  }
  auto it = object.find(name);
  return it == object.end() || it->is_null() ? nullptr : &*it;
}

}  // namespace

std::optional<FastRule::Term> FastRule::parseTerm(std::string_view text) {
  static const std::regex kCompare(
      R"re(^(steps|message|contact\.attributes)\.([A-Za-z_][A-Za-z0-9_]*)\s*(~=|==)\s*(nil|true)$)re");
  static const std::regex kTrigger(R"re(^trigger\.id\s*(~=|==)\s*(?:'([^'\\]*)'|"([^"\\]*)")$)re");
  static const std::regex kKeywords(
      R"re(^text\.match_keyword\(\s*message\.text\s*((?:,\s*(?:'[^'\\]*'|"[^"\\]*")\s*)+)\)\s*(~=|==)\s*nil$)re");
  static const std::regex kQuoted(R"re('([^'\\]*)'|"([^"\\]*)")re");
  static const std::regex kHours(
      R"re(^(not\s+)?time\.in_business_hours\(\s*\{([^{}()]*)\}\s*\)$)re");
  static const std::regex kField(
      R"re(^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(?:'([^'\\]*)'|"([^"\\]*)")\s*$)re");
  std::string s(trim(text));
  std::smatch m;
  Term term;
  if (std::regex_match(s, m, kCompare)) {
    std::string scope = m[1];
    term.name = m[2];
    bool equal = m[3] == "==";
    bool against_true = m[4] == "true";
    if (against_true && scope != "contact.attributes") {
      return std::nullopt;  // steps/message values are tables or texts: leave it to Lua
    }
    term.kind = scope == "steps"     ? Term::Kind::kStep
                : scope == "message" ? Term::Kind::kMessageField
                : against_true       ? Term::Kind::kAttributeTrue
                                     : Term::Kind::kAttribute;
    term.negate = equal;  // "== nil" / "== true" hold when the value is absent / not true
    if (against_true) {
      term.negate = !equal;
    }
    return term;
  }
  if (std::regex_match(s, m, kTrigger)) {
    term.kind = Term::Kind::kTriggerId;
    term.negate = m[1] == "~=";
    term.name = m[2].matched ? m[2].str() : m[3].str();
    return term;
  }
  if (std::regex_match(s, m, kKeywords)) {
    std::vector<std::string> words;
    std::string list = m[1];
    for (auto it = std::sregex_iterator(list.begin(), list.end(), kQuoted);
         it != std::sregex_iterator(); ++it) {
      words.push_back((*it)[1].matched ? (*it)[1].str() : (*it)[2].str());
    }
    term.kind = Term::Kind::kKeywords;
    term.negate = m[2] == "==";
    term.keywords.emplace(words);
    return term;
  }
  if (std::regex_match(s, m, kHours)) {
    // A schedule written out in place, with text fields only: parsed once here by the same
    // code the Lua helper runs per call.
    nlohmann::json spec = nlohmann::json::object();
    std::string fields = m[2];
    size_t start = 0;
    while (start <= fields.size()) {
      size_t comma = fields.find(',', start);
      std::string one =
          fields.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      std::smatch f;
      if (std::regex_match(one, f, kField)) {
        spec[f[1].str()] = f[2].matched ? f[2].str() : f[3].str();
      } else if (!trim(one).empty()) {
        return std::nullopt;  // a number, a table, a variable: Lua's business
      }
      if (comma == std::string::npos) {
        break;
      }
      start = comma + 1;
    }
    std::string why;
    term.hours = lua::BusinessHours::parse(spec, &why);
    if (!term.hours || term.hours->timeZone().empty()) {
      return std::nullopt;  // Lua reports the mistake, or picks the default zone
    }
    term.zone = lua::TimeZone::locate(term.hours->timeZone(), &why);
    if (term.zone == nullptr) {
      return std::nullopt;
    }
    term.kind = Term::Kind::kBusinessHours;
    term.negate = m[1].matched;
    return term;
  }
  return std::nullopt;
}

std::optional<FastRule> FastRule::parse(std::string_view code) {
  FastRule rule;
  std::vector<std::string_view> parts;
  if (!split(trim(code), parts, rule.any_)) {
    return std::nullopt;
  }
  for (std::string_view part : parts) {
    std::optional<Term> term = parseTerm(part);
    if (!term) {
      return std::nullopt;
    }
    rule.terms_.push_back(std::move(*term));
  }
  return rule;
}

std::optional<bool> FastRule::holds(const Term& t, const Json& message, const Json& contact,
                                    const Json& steps, const Json& trigger,
                                    const lua::NormalizedText* words) const {
  bool value = false;
  switch (t.kind) {
    case Term::Kind::kStep:
      value = field(steps, t.name) != nullptr;
      break;
    case Term::Kind::kMessageField:
      value = field(message, t.name) != nullptr;
      break;
    case Term::Kind::kAttribute:
    case Term::Kind::kAttributeTrue: {
      const Json* attributes = field(contact, "attributes");
      const Json* v = attributes != nullptr ? field(*attributes, t.name) : nullptr;
      value = t.kind == Term::Kind::kAttribute ? v != nullptr
                                               : v != nullptr && v->is_boolean() && v->get<bool>();
      break;
    }
    case Term::Kind::kTriggerId: {
      const Json* id = field(trigger, "id");
      value = id != nullptr && id->is_string() && id->get_ref<const std::string&>() == t.name;
      break;
    }
    case Term::Kind::kKeywords: {
      const Json* text = field(message, "text");
      if (text == nullptr || !text->is_string()) {
        return std::nullopt;  // Lua: "bad argument #1 to 'match_keyword'"
      }
      value = words != nullptr ? t.keywords->match(*words).has_value()
                               : t.keywords->match(text->get_ref<const std::string&>()).has_value();
      break;
    }
    case Term::Kind::kBusinessHours: {
      int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
      value = t.hours->isOpen(now, *t.zone);
      break;
    }
  }
  return t.negate ? !value : value;
}

std::optional<bool> FastRule::evaluate(const Json& message, const Json& contact, const Json& steps,
                                       const Json& trigger,
                                       const lua::NormalizedText* words) const {
  // Left to right with short-circuits, as Lua evaluates `or` and `and`.
  for (const Term& t : terms_) {
    std::optional<bool> v = holds(t, message, contact, steps, trigger, words);
    if (!v) {
      return std::nullopt;
    }
    if (any_ && *v) {
      return true;
    }
    if (!any_ && !*v) {
      return false;
    }
  }
  return !any_;
}

}  // namespace waflow::core::app
