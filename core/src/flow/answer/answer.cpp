// The entry of the answer checks (answer.h): makes the message valid UTF-8, trims the blanks
// phones put around it, and hands it to the check of its kind (checks.h); `text` and `lua`
// answers are the trimmed message itself.
//
// Thread-safety: safe from any thread (see answer.h).
#include "flow/answer/answer.h"

#include "flow/answer/characters.h"
#include "flow/answer/checks.h"
#include "text/utf8.h"

#include <string>

namespace waflow::core::flow {
namespace {

using answer::accept;
using answer::expectedMatch;
using answer::expectedNumber;
using answer::isBlank;
using answer::reject;
using text::decodeAt;
using text::previousStart;
using text::Utf8Char;

// `text` with each byte that is not part of valid UTF-8 replaced by U+FFFD, so values always
// serialise as JSON (a message cut in the middle of a character would not).
std::string validUtf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    const Utf8Char c = decodeAt(text, pos);
    if (c.len == 0) {
      out += "\xEF\xBF\xBD";
      ++pos;
    } else {
      out.append(text.substr(pos, c.len));
      pos += c.len;
    }
  }
  return out;
}

std::string_view trimAnswer(std::string_view text) {
  while (!text.empty()) {
    const Utf8Char c = decodeAt(text, 0);
    if (c.len == 0 || !isBlank(c.cp)) {
      break;
    }
    text.remove_prefix(c.len);
  }
  while (!text.empty()) {
    const size_t start = previousStart(text, text.size());
    const Utf8Char c = decodeAt(text, start);
    if (c.len == 0 || start + c.len != text.size() || !isBlank(c.cp)) {
      break;
    }
    text.remove_suffix(c.len);
  }
  return text;
}

std::string_view expectedFor(const AnswerRules& rules) {
  switch (rules.kind) {
    case AnswerKind::kName:
      return answer::kExpectedName;
    case AnswerKind::kDate:
      return answer::kExpectedDate;
    case AnswerKind::kEmail:
      return answer::kExpectedEmail;
    case AnswerKind::kPhone:
      return answer::kExpectedPhone;
    default:
      return "an answer";
  }
}

}  // namespace

AnswerRules AnswerRules::fromStep(const AskStep& step) {
  AnswerRules rules;
  rules.kind = step.validate;
  rules.min = step.min;
  rules.max = step.max;
  rules.pattern = step.pattern;
  return rules;
}

AnswerCheck checkAnswer(const AnswerRules& rules, std::string_view text,
                        std::chrono::year_month_day today) {
  const std::string valid = validUtf8(text);
  const std::string_view trimmed = trimAnswer(valid);
  if (rules.kind == AnswerKind::kLua) {
    return accept(std::string(trimmed));
  }
  if (trimmed.empty()) {
    const std::string expected = rules.kind == AnswerKind::kNumber ? expectedNumber(rules)
                                 : rules.kind == AnswerKind::kRegex
                                     ? expectedMatch(rules)
                                     : std::string(expectedFor(rules));
    return reject(expected, "the message is empty");
  }
  switch (rules.kind) {
    case AnswerKind::kText:
      return accept(std::string(trimmed));
    case AnswerKind::kName:
      return answer::checkName(trimmed);
    case AnswerKind::kNumber:
      return answer::checkNumber(rules, trimmed);
    case AnswerKind::kDate:
      return answer::checkDate(trimmed, today);
    case AnswerKind::kEmail:
      return answer::checkEmail(trimmed);
    case AnswerKind::kPhone:
      return answer::checkPhone(rules, trimmed);
    case AnswerKind::kRegex:
      return answer::checkRegex(rules, trimmed);
    case AnswerKind::kLua:
      break;
  }
  return accept(std::string(trimmed));
}

}  // namespace waflow::core::flow
