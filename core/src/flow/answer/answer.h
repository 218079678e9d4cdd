// Checks what a contact typed in answer to a flow's `ask` step (docs/flows.md#step-ask) and
// turns it into a normalised value: a name ("rina wati" -> "Rina Wati"), a number ("1.500" ->
// 1500), a date ("17 Agustus" -> "2025-08-17"), an email address, a phone number
// ("0812-3456-7890" -> "6281234567890"), or text matching a pattern. Written for WhatsApp
// customers typing on phones, mostly in Indonesian or English, so it is forgiving about how
// things are written but strict about what they mean (31/04 is not a date).
//
// This is the public entry of flow/answer/: checkAnswer() trims the message and hands it to the
// check of its kind, one file per family (name.cpp, number.cpp, date.cpp, contact.cpp for email
// and phone, pattern.cpp for regex; checks.h declares them).
//
// Thread-safety: checkAnswer() is safe to call from any thread; compiled `regex` patterns are
// kept in a small shared cache guarded by a mutex.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "flow/flow.h"

namespace waflow::core::flow {

struct AnswerRules {
  AnswerKind kind = AnswerKind::kText;
  std::optional<double> min;  // number: the smallest value allowed
  std::optional<double> max;  // number: the largest value allowed
  std::string pattern;        // regex: RE2 syntax, searched case-insensitively
  // phone: the country code that replaces the leading 0 of a national number ("0812..." ->
  // "62812..."). With "62", a number starting with 8 (an Indonesian mobile number written
  // without its 0) also gets it.
  std::string country_code = "62";

  static AnswerRules fromStep(const AskStep& step);
};

struct AnswerCheck {
  bool ok = false;
  nlohmann::json value;  // when ok: the normalised answer (see checkAnswer)
  std::string problem;   // when not ok: what was expected and why the answer is not it, in
                         // English, for logs ("expected a number from 10 to 2000 (5 is too
                         // small)"); what the contact is told is the flow's `reask`
};

// Checks `text` (a whole message; surrounding spaces are ignored) against `rules`. `today` is
// the current date where the bot operates, for dates written without a year and for "besok".
// Values when ok:
//   text   the trimmed text (any non-empty text)
//   name   1-4 words of letters (apostrophes, hyphens and dots allowed), without an
//          introduction ("nama saya", "saya", "my name is", ...), each word capitalised
//   number the first number: "150 orang", "1.500" (thousands dot) -> 1500, "1,5" -> 1.5,
//          "2.5", "-3", "2 juta", number words ("dua ratus", "twenty"); a JSON integer when
//          whole, else a double; checked against min and max
//   date   "YYYY-MM-DD" from "17/08/2025", "2025-08-17", "17 Agustus 2025", "August 17, 2025",
//          "17/8" or "17 Agu" (the next such date on or after today), "hari ini", "besok", "lusa"
//   email  the one address in the text, with its domain lower-cased
//   phone  digits only, with the country code (E.164 without the "+"), 8 to 15 digits
//   regex  the trimmed text, when `pattern` is found in it
//   lua    the trimmed text, always ok: the engine evaluates the step's rule
AnswerCheck checkAnswer(const AnswerRules& rules, std::string_view text,
                        std::chrono::year_month_day today);

}  // namespace waflow::core::flow
