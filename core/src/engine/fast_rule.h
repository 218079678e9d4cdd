// FastRule: a flow expression of one of the few shapes flows use most, evaluated in C++
// instead of Lua. Customer-service flows test a dozen `if:`s per message, nearly all of them
// "did that step run", "is this field there", "which trigger", "does the text contain one of
// these words"; answering those without entering Lua keeps a flow close to the cost of a
// plain auto-reply. Anything else is left to Lua (parse() returns nullopt), and a FastRule
// gives exactly the value Lua would.
//
// Recognised terms, joined all by `or` or all by `and`:
//   steps.ID ~= nil            steps.ID == nil
//   message.FIELD ~= nil       message.FIELD == nil
//   contact.attributes.N ~= nil | == nil | ~= true | == true
//   trigger.id == 'x'          trigger.id ~= 'x'          (either quote)
//   text.match_keyword(message.text, 'k1', 'k2', ...) ~= nil   (or == nil)
//   [not] time.in_business_hours({ days = "mon-sat", from = "08:00", to = "20:00",
//                                  tz = "Asia/Jakarta" })  (text fields only, tz given)
//
// Thread-safety: immutable after parse(); safe to share.
#pragma once

#include "text/normalize.h"
#include "time/business_hours.h"
#include "time/time_zone.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace waflow::core::engine {

class FastRule {
 public:
  static std::optional<FastRule> parse(std::string_view code);

  // The expression's truth for this message (the rule context's `message`), contact
  // (`contact`, with `attributes`), step outputs (`steps`) and trigger (`trigger`); nullopt
  // when Lua would raise an error here (match_keyword on a message without text), so that
  // the caller lets Lua run it and report that error.
  // `words` is message.text normalized (text::NormalizedText), shared by every keyword test of
  // the message; null = normalized here when needed.
  std::optional<bool> evaluate(const nlohmann::json& message, const nlohmann::json& contact,
                               const nlohmann::json& steps, const nlohmann::json& trigger,
                               const text::NormalizedText* words = nullptr) const;

 private:
  struct Term {
    enum class Kind {
      kStep,
      kMessageField,
      kAttribute,
      kAttributeTrue,
      kTriggerId,
      kKeywords,
      kBusinessHours
    };
    Kind kind = Kind::kStep;
    bool negate = false;  // the term is "== nil" / "~= true" / "~= 'x'"
    std::string name;     // step id, field, attribute or trigger id
    std::optional<text::KeywordMatcher> keywords;
    std::optional<time::BusinessHours> hours;
    const time::TimeZone* zone = nullptr;
  };
  static std::optional<Term> parseTerm(std::string_view text);
  // One per kind of term: each recognises its own shape and nothing else.
  static std::optional<Term> parseComparison(const std::string& s);
  static std::optional<Term> parseTriggerId(const std::string& s);
  static std::optional<Term> parseKeywords(const std::string& s);
  static std::optional<Term> parseBusinessHours(const std::string& s);
  std::optional<bool> holds(const Term& term, const nlohmann::json& message,
                            const nlohmann::json& contact, const nlohmann::json& steps,
                            const nlohmann::json& trigger, const text::NormalizedText* words) const;

  std::vector<Term> terms_;
  bool any_ = true;  // joined by `or` (else by `and`)
};

}  // namespace waflow::core::engine
