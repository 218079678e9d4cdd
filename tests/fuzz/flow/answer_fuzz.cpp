// libFuzzer target: the answer parsers of `ask` steps (name, number, date, email, phone,
// regex) — they read whatever a customer types. The first byte picks the kind and whether
// min/max apply; the rest is the customer's message.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "flow/answer/answer.h"

namespace {

namespace flow = waflow::core::flow;

void fail(const char* promise, std::string_view text) {
  std::fprintf(stderr, "answer parser broke a promise: %s (answer: %.*s)\n", promise,
               static_cast<int>(text.size()), text.data());
  std::abort();
}

bool isIsoDate(const std::string& s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') {
    return false;
  }
  for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (s[i] < '0' || s[i] > '9') {
      return false;
    }
  }
  return true;
}

void checkValue(const flow::AnswerRules& rules, const flow::AnswerCheck& check,
                std::string_view text) {
  if (!check.ok) {
    if (check.problem.empty()) {
      fail("a refused answer has no explanation", text);
    }
    return;
  }
  switch (rules.kind) {
    case flow::AnswerKind::kNumber: {
      if (!check.value.is_number()) {
        fail("a number answer is not a number", text);
      }
      double v = check.value.get<double>();
      if ((rules.min && v < *rules.min) || (rules.max && v > *rules.max)) {
        fail("a number outside min..max was accepted", text);
      }
      break;
    }
    case flow::AnswerKind::kDate:
      if (!check.value.is_string() || !isIsoDate(check.value.get<std::string>())) {
        fail("a date answer is not YYYY-MM-DD", text);
      }
      break;
    case flow::AnswerKind::kPhone: {
      std::string digits = check.value.get<std::string>();
      if (digits.size() < 8 || digits.size() > 15 ||
          digits.find_first_not_of("0123456789") != std::string::npos) {
        fail("a phone answer is not 8 to 15 digits", text);
      }
      break;
    }
    default:
      if (!check.value.is_string()) {
        fail("a text answer is not a string", text);
      }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace std::chrono;
  if (size == 0) {
    return 0;
  }
  static const flow::AnswerKind kKinds[] = {flow::AnswerKind::kText,   flow::AnswerKind::kName,
                                            flow::AnswerKind::kNumber, flow::AnswerKind::kDate,
                                            flow::AnswerKind::kEmail,  flow::AnswerKind::kPhone,
                                            flow::AnswerKind::kRegex};
  flow::AnswerRules rules;
  rules.kind = kKinds[data[0] % std::size(kKinds)];
  if (data[0] & 0x10) {
    rules.min = 10;
  }
  if (data[0] & 0x20) {
    rules.max = 2000;
  }
  rules.pattern = "^(ya|tidak|[0-9]{3,5})$";
  rules.country_code = (data[0] & 0x40) ? "1" : "62";
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  flow::AnswerCheck check =
      flow::checkAnswer(rules, text, year_month_day{year{2026}, month{12}, day{7}});
  checkValue(rules, check, text);
  return 0;
}
