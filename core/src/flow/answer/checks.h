// The checks of each answer family, called by checkAnswer() (answer.h) with the message already
// made valid UTF-8 and trimmed, and never empty: names (name.cpp), numbers (number.cpp), dates
// (date.cpp), the ways to reach a customer, email and phone (contact.cpp), and regex patterns
// (pattern.cpp). Each returns accept(value) or reject(what was expected, why not).
//
// Internal to flow/answer/. Thread-safety: all are safe to call from any thread (checkRegex
// shares a mutex-guarded cache of compiled patterns).
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

#include "flow/answer/answer.h"

namespace waflow::core::flow::answer {

// What the problem says was expected, per kind ("expected a name of 1 to 4 words (...)").
inline constexpr std::string_view kExpectedName = "a name of 1 to 4 words";
inline constexpr std::string_view kExpectedDate = "a date such as 17/08/2025 or 17 Agustus 2025";
inline constexpr std::string_view kExpectedEmail = "an email address such as name@example.com";
inline constexpr std::string_view kExpectedPhone =
    "a phone number such as 0812-3456-7890 or +62 812 3456 7890";

inline AnswerCheck accept(nlohmann::json value) {
  return AnswerCheck{true, std::move(value), {}};
}

inline AnswerCheck reject(std::string_view expected, std::string_view detail = {}) {
  std::string problem = "expected ";
  problem += expected;
  if (!detail.empty()) {
    problem += " (";
    problem += detail;
    problem += ")";
  }
  return AnswerCheck{false, nullptr, std::move(problem)};
}

AnswerCheck checkName(std::string_view text);

// "a number from 10 to 2000", "a number of at least 1", "a number".
std::string expectedNumber(const AnswerRules& rules);
AnswerCheck checkNumber(const AnswerRules& rules, std::string_view text);

AnswerCheck checkDate(std::string_view text, std::chrono::year_month_day today);

AnswerCheck checkEmail(std::string_view text);
AnswerCheck checkPhone(const AnswerRules& rules, std::string_view text);

// "an answer matching '<pattern>'".
std::string expectedMatch(const AnswerRules& rules);
AnswerCheck checkRegex(const AnswerRules& rules, std::string_view text);

}  // namespace waflow::core::flow::answer
