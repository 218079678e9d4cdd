// The `number` answer: the first number in the message, written with digits ("150 orang",
// "1.500", "1,5", "2 juta") or in words, Indonesian or English ("dua ratus lima puluh",
// "twenty-one"), checked against the step's min and max.
//
// Thread-safety: pure functions.
#include "flow/answer/characters.h"
#include "flow/answer/checks.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

namespace waflow::core::flow::answer {
namespace {

// Numbers in messages: whole numbers without a decimal point, others with up to 10 digits.
std::string formatNumber(double value) {
  if (std::floor(value) == value && std::fabs(value) < 1e15) {
    return std::to_string(static_cast<int64_t>(value));
  }
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.10g", value);
  return buffer;
}

struct NumberRead {
  enum class State { kNone, kFound, kUnclear } state = State::kNone;
  double value = 0;
  std::string text;  // what was read, for messages
};

// "1.500" -> 1500, "1,5" -> 1.5, "2.5" -> 2.5, "1.500.000" -> 1500000, "1.500,50" -> 1500.5,
// "1,500.50" -> 1500.5. A separator followed by exactly three digits after a first group of
// one to three digits (not "0") is a thousands separator, as Indonesians and English speakers
// both write them; otherwise it is the decimal separator.
std::optional<std::string> plainDecimal(std::string_view token) {
  std::vector<std::string_view> groups;
  std::vector<char> separators;
  size_t start = 0;
  for (size_t i = 0; i < token.size(); ++i) {
    if (token[i] == '.' || token[i] == ',') {
      groups.push_back(token.substr(start, i - start));
      separators.push_back(token[i]);
      start = i + 1;
    }
  }
  groups.push_back(token.substr(start));
  if (separators.empty()) {
    return std::string(token);
  }
  const bool first_can_group = groups[0].size() <= 3 && groups[0][0] != '0';
  const auto thousands = [&](size_t from, size_t to) {
    if (!first_can_group) {
      return false;
    }
    for (size_t i = from; i < to; ++i) {
      if (groups[i].size() != 3) {
        return false;
      }
    }
    return true;
  };
  const auto join = [&](size_t to) {
    std::string out;
    for (size_t i = 0; i < to; ++i) {
      out += groups[i];
    }
    return out;
  };
  const char last = separators.back();
  const bool mixed = std::any_of(separators.begin(), separators.end(),
                                 [&](char c) { return c != separators.front(); });
  if (!mixed) {
    if (thousands(1, groups.size())) {
      return join(groups.size());
    }
    if (separators.size() == 1) {
      return std::string(groups[0]) + "." + std::string(groups[1]);
    }
    return std::nullopt;  // "1.2.3"
  }
  // Both kinds: the last one is the decimal separator and must appear once.
  if (std::count(separators.begin(), separators.end(), last) != 1 ||
      !thousands(1, groups.size() - 1)) {
    return std::nullopt;
  }
  return join(groups.size() - 1) + "." + std::string(groups.back());
}

// Words after a number that multiply it: "2 juta", "150rb", "5k".
double multiplierAfter(std::string_view text, size_t pos) {
  while (pos < text.size() && isAsciiSpace(text[pos])) {
    ++pos;
  }
  const size_t start = pos;
  while (pos < text.size() && isAsciiLetter(text[pos])) {
    ++pos;
  }
  const std::string word = lowerAscii(text.substr(start, pos - start));
  if (word == "rb" || word == "ribu" || word == "rebu" || word == "k" || word == "thousand") {
    return 1e3;
  }
  if (word == "jt" || word == "juta" || word == "million") {
    return 1e6;
  }
  return 1;
}

NumberRead readDigits(std::string_view text) {
  NumberRead read;
  size_t start = 0;
  while (start < text.size() && !isAsciiDigit(text[start])) {
    ++start;
  }
  if (start == text.size()) {
    return read;
  }
  size_t end = start;
  while (end < text.size()) {
    if (isAsciiDigit(text[end])) {
      ++end;
    } else if ((text[end] == '.' || text[end] == ',') && end + 1 < text.size() &&
               isAsciiDigit(text[end + 1])) {
      ++end;
    } else {
      break;
    }
  }
  // A sign directly before the digits, not inside a word or a range ("10-20").
  bool negative = false;
  if (start > 0 && (text[start - 1] == '-' || text[start - 1] == '+') &&
      (start == 1 || !std::isalnum(static_cast<unsigned char>(text[start - 2])))) {
    negative = text[start - 1] == '-';
    --start;
  }
  const size_t digits_start =
      negative || (start < text.size() && text[start] == '+') ? start + 1 : start;
  read.text = std::string(text.substr(start, end - start));
  const std::optional<std::string> plain =
      plainDecimal(text.substr(digits_start, end - digits_start));
  if (!plain) {
    read.state = NumberRead::State::kUnclear;
    return read;
  }
  double value = 0;
  const auto [ptr, ec] = std::from_chars(plain->data(), plain->data() + plain->size(), value);
  if (ec != std::errc() || ptr != plain->data() + plain->size() || !std::isfinite(value)) {
    read.state = NumberRead::State::kUnclear;
    return read;
  }
  value *= multiplierAfter(text, end);
  read.value = negative ? -value : value;
  read.state = NumberRead::State::kFound;
  return read;
}

// Number words, Indonesian and English, and what each does to the number being read.
enum class WordKind {
  kUnit,
  kTens,
  kBelas,
  kPuluh,
  kHundred,
  kSeratus,
  kThousand,
  kSeribu,
  kMillion,
  kAnd
};

struct NumberWord {
  std::string_view text;
  WordKind kind;
  int value;
};

// The number word `token` (lower case), or nullptr.
const NumberWord* findNumberWord(std::string_view token) {
  using Kind = WordKind;
  // clang-format off
  static const NumberWord kWords[] = {
      {"nol", Kind::kUnit, 0}, {"satu", Kind::kUnit, 1}, {"dua", Kind::kUnit, 2},
      {"tiga", Kind::kUnit, 3}, {"empat", Kind::kUnit, 4}, {"lima", Kind::kUnit, 5},
      {"enam", Kind::kUnit, 6}, {"tujuh", Kind::kUnit, 7}, {"delapan", Kind::kUnit, 8},
      {"sembilan", Kind::kUnit, 9}, {"sepuluh", Kind::kUnit, 10}, {"sebelas", Kind::kUnit, 11},
      {"belas", Kind::kBelas, 10}, {"puluh", Kind::kPuluh, 10}, {"ratus", Kind::kHundred, 100},
      {"seratus", Kind::kSeratus, 100}, {"ribu", Kind::kThousand, 0},
      {"seribu", Kind::kSeribu, 1000}, {"sejuta", Kind::kSeribu, 1000000},
      {"juta", Kind::kMillion, 0}, {"zero", Kind::kUnit, 0}, {"one", Kind::kUnit, 1},
      {"two", Kind::kUnit, 2}, {"three", Kind::kUnit, 3}, {"four", Kind::kUnit, 4},
      {"five", Kind::kUnit, 5}, {"six", Kind::kUnit, 6}, {"seven", Kind::kUnit, 7},
      {"eight", Kind::kUnit, 8}, {"nine", Kind::kUnit, 9}, {"ten", Kind::kUnit, 10},
      {"eleven", Kind::kUnit, 11}, {"twelve", Kind::kUnit, 12}, {"thirteen", Kind::kUnit, 13},
      {"fourteen", Kind::kUnit, 14}, {"fifteen", Kind::kUnit, 15}, {"sixteen", Kind::kUnit, 16},
      {"seventeen", Kind::kUnit, 17}, {"eighteen", Kind::kUnit, 18}, {"nineteen", Kind::kUnit, 19},
      {"twenty", Kind::kTens, 20}, {"thirty", Kind::kTens, 30}, {"forty", Kind::kTens, 40},
      {"fifty", Kind::kTens, 50}, {"sixty", Kind::kTens, 60}, {"seventy", Kind::kTens, 70},
      {"eighty", Kind::kTens, 80}, {"ninety", Kind::kTens, 90}, {"hundred", Kind::kHundred, 100},
      {"thousand", Kind::kThousand, 0}, {"million", Kind::kMillion, 0}, {"and", Kind::kAnd, 0},
  };
  // clang-format on
  const auto found = std::find_if(std::begin(kWords), std::end(kWords),
                                  [&](const NumberWord& w) { return w.text == token; });
  return found == std::end(kWords) ? nullptr : found;
}

// A number being read word by word: "dua" (a unit waiting), "puluh" (20), "lima" (25).
class NumberWords {
 public:
  // Adds `word`; false, changing nothing, when it cannot follow the words before it.
  bool add(const NumberWord& word) {
    switch (word.kind) {
      case WordKind::kUnit:
        return addUnit(word.value);
      case WordKind::kTens:
        return apply(unit_ < 0 && group_ % 100 == 0, [&] { group_ += word.value; });
      case WordKind::kBelas:
        return apply(unit_ >= 1 && unit_ <= 9, [&] { unit_ += 10; });
      case WordKind::kPuluh:
        return apply(unit_ >= 1 && unit_ <= 9 && group_ % 100 == 0, [&] {
          group_ += unit_ * 10;
          unit_ = -1;
        });
      case WordKind::kHundred:
        return apply(unit_ >= 1 && unit_ <= 9 && group_ == 0, [&] {
          group_ = unit_ * 100;
          unit_ = -1;
        });
      case WordKind::kSeratus:
        return apply(unit_ < 0 && group_ == 0, [&] { group_ = 100; });
      case WordKind::kThousand:
      case WordKind::kMillion:
        return addScale(word.kind == WordKind::kThousand ? 1e3 : 1e6);
      case WordKind::kSeribu:
        return apply(unit_ < 0 && group_ == 0, [&] { total_ += word.value; });
      case WordKind::kAnd:
        break;
    }
    return true;
  }

  double value() const { return total_ + group_ + std::max(unit_, 0); }

 private:
  template <typename Change>
  static bool apply(bool fits, Change change) {
    if (fits) {
      change();
    }
    return fits;
  }

  bool addUnit(int value) {
    return apply(unit_ < 0 && (group_ % 100 == 0 || (group_ % 10 == 0 && value < 10)),
                 [&] { unit_ = value; });
  }

  // "ribu", "thousand", "juta", "million": multiplies what is below a thousand.
  bool addScale(double scale) {
    const int amount = group_ + std::max(unit_, 0);
    return apply(amount > 0, [&] {
      total_ += amount * scale;
      group_ = 0;
      unit_ = -1;
    });
  }

  double total_ = 0;  // thousands and millions already complete
  int group_ = 0;     // below a thousand
  int unit_ = -1;     // a unit waiting for what follows ("dua" before "puluh"), -1 = none
};

// "dua ratus lima puluh", "seribu", "twenty-one", "two hundred and five": reads the first run of
// number words in the text.
NumberRead readNumberWords(std::string_view text) {
  NumberRead read;
  NumberWords number;
  bool started = false;
  size_t first = std::string_view::npos;
  size_t last_end = 0;
  const std::string lower = lowerAscii(text);
  size_t pos = 0;
  while (pos < lower.size()) {
    while (pos < lower.size() && !isAsciiLetter(lower[pos])) {
      ++pos;
    }
    const size_t start = pos;
    while (pos < lower.size() && isAsciiLetter(lower[pos])) {
      ++pos;
    }
    if (pos == start) {
      break;
    }
    const NumberWord* word = findNumberWord(std::string_view(lower).substr(start, pos - start));
    if (word == nullptr || (!started && word->kind == WordKind::kAnd)) {
      if (started) {
        break;
      }
      continue;
    }
    if (!number.add(*word)) {
      break;
    }
    if (!started) {
      first = start;
    }
    started = true;
    last_end = pos;
  }
  if (!started) {
    return read;
  }
  read.state = NumberRead::State::kFound;
  read.value = number.value();
  read.text = std::string(text.substr(first, last_end - first));
  return read;
}

}  // namespace

std::string expectedNumber(const AnswerRules& rules) {
  if (rules.min && rules.max) {
    return "a number from " + formatNumber(*rules.min) + " to " + formatNumber(*rules.max);
  }
  if (rules.min) {
    return "a number of at least " + formatNumber(*rules.min);
  }
  if (rules.max) {
    return "a number of at most " + formatNumber(*rules.max);
  }
  return "a number";
}

AnswerCheck checkNumber(const AnswerRules& rules, std::string_view text) {
  const std::string expected = expectedNumber(rules);
  NumberRead read = readDigits(text);
  if (read.state == NumberRead::State::kUnclear) {
    return reject(expected, "'" + read.text + "' is not a clear number");
  }
  if (read.state == NumberRead::State::kNone) {
    read = readNumberWords(text);
  }
  if (read.state == NumberRead::State::kNone) {
    return reject(expected, "there is no number in the answer");
  }
  const double value = read.value;
  if (rules.min && value < *rules.min) {
    return reject(expected, formatNumber(value) + " is too small");
  }
  if (rules.max && value > *rules.max) {
    return reject(expected, formatNumber(value) + " is too large");
  }
  // Whole numbers that a double holds exactly become JSON integers.
  if (std::floor(value) == value && std::fabs(value) <= 9007199254740992.0) {
    return accept(static_cast<int64_t>(value));
  }
  return accept(value);
}

}  // namespace waflow::core::flow::answer
