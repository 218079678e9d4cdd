#include "engine/fast_rule.h"

#include "text/ascii.h"

#include <chrono>

#include <re2/re2.h>

namespace waflow::core::engine {
namespace {

using Json = nlohmann::json;

// Spaces, tabs and newlines around Lua code (not \r: it is not trimmed here).
std::string_view trim(std::string_view s) {
  return text::trimSpace(s, " \t\n");
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

namespace {

// A quoted text is in one of two groups, the other one empty.
std::string either(const std::string& single, const std::string& dbl) {
  return single.empty() ? dbl : single;
}

}  // namespace

// RE2, like every pattern in waflow: an expression of any length is read in linear time.

std::optional<FastRule::Term> FastRule::parseComparison(const std::string& s) {
  static const re2::RE2 kCompare(
      R"re((steps|message|contact\.attributes)\.([A-Za-z_][A-Za-z0-9_]*)\s*(~=|==)\s*(nil|true))re");
  std::string scope, name, op, value;
  if (!re2::RE2::FullMatch(s, kCompare, &scope, &name, &op, &value)) {
    return std::nullopt;
  }
  Term term;
  term.name = name;
  bool equal = op == "==";
  bool against_true = value == "true";
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

std::optional<FastRule::Term> FastRule::parseTriggerId(const std::string& s) {
  static const re2::RE2 kTrigger(R"re(trigger\.id\s*(~=|==)\s*(?:'([^'\\]*)'|"([^"\\]*)"))re");
  std::string op, single, dbl;
  if (!re2::RE2::FullMatch(s, kTrigger, &op, &single, &dbl)) {
    return std::nullopt;
  }
  Term term;
  term.kind = Term::Kind::kTriggerId;
  term.negate = op == "~=";
  term.name = either(single, dbl);
  return term;
}

std::optional<FastRule::Term> FastRule::parseKeywords(const std::string& s) {
  static const re2::RE2 kKeywords(
      R"re(text\.match_keyword\(\s*message\.text\s*((?:,\s*(?:'[^'\\]*'|"[^"\\]*")\s*)+)\)\s*(~=|==)\s*nil)re");
  static const re2::RE2 kQuoted(R"re('([^'\\]*)'|"([^"\\]*)")re");
  std::string list, op;
  if (!re2::RE2::FullMatch(s, kKeywords, &list, &op)) {
    return std::nullopt;
  }
  std::vector<std::string> words;
  std::string single, dbl;
  re2::StringPiece rest(list);
  while (re2::RE2::FindAndConsume(&rest, kQuoted, &single, &dbl)) {
    words.push_back(either(single, dbl));
  }
  Term term;
  term.kind = Term::Kind::kKeywords;
  term.negate = op == "==";
  term.keywords.emplace(words);
  return term;
}

std::optional<FastRule::Term> FastRule::parseBusinessHours(const std::string& s) {
  static const re2::RE2 kHours(R"re((not\s+)?time\.in_business_hours\(\s*\{([^{}()]*)\}\s*\))re");
  static const re2::RE2 kField(
      R"re(\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(?:'([^'\\]*)'|"([^"\\]*)")\s*)re");
  std::string negation, fields;
  if (!re2::RE2::FullMatch(s, kHours, &negation, &fields)) {
    return std::nullopt;
  }
  // A schedule written out in place, with text fields only: parsed once here by the same
  // code the Lua helper runs per call.
  nlohmann::json spec = nlohmann::json::object();
  size_t start = 0;
  while (start <= fields.size()) {
    size_t comma = fields.find(',', start);
    std::string one =
        fields.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    std::string field, single, dbl;
    if (re2::RE2::FullMatch(one, kField, &field, &single, &dbl)) {
      spec[field] = either(single, dbl);
    } else if (!trim(one).empty()) {
      return std::nullopt;  // a number, a table, a variable: Lua's business
    }
    if (comma == std::string::npos) {
      break;
    }
    start = comma + 1;
  }
  Term term;
  std::string why;
  term.hours = time::BusinessHours::parse(spec, &why);
  if (!term.hours || term.hours->timeZone().empty()) {
    return std::nullopt;  // Lua reports the mistake, or picks the default zone
  }
  term.zone = time::TimeZone::locate(term.hours->timeZone(), &why);
  if (term.zone == nullptr) {
    return std::nullopt;
  }
  term.kind = Term::Kind::kBusinessHours;
  term.negate = !negation.empty();
  return term;
}

std::optional<FastRule::Term> FastRule::parseTerm(std::string_view text) {
  const std::string s(trim(text));
  for (auto parse : {&parseComparison, &parseTriggerId, &parseKeywords, &parseBusinessHours}) {
    if (auto term = parse(s)) {
      return term;
    }
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
                                    const text::NormalizedText* words) const {
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
                                       const text::NormalizedText* words) const {
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

}  // namespace waflow::core::engine
