// The `date` answer: a calendar date as "YYYY-MM-DD", from numeric dates ("17/08/2025",
// "2025-08-17"), month names in Indonesian or English ("17 Agustus", "August 17, 2025"), or
// relative words ("besok", "lusa"); dates without a year are the next such date from today.
//
// Thread-safety: pure functions.
#include "flow/answer/characters.h"
#include "flow/answer/checks.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

namespace waflow::core::flow::answer {
namespace {

struct DateToken {
  enum class Kind { kNumber, kWord, kSeparator } kind = Kind::kNumber;
  int number = 0;
  size_t digits = 0;
  std::string word;  // lower case
  char separator = 0;
};

std::vector<DateToken> dateTokens(std::string_view text) {
  std::vector<DateToken> tokens;
  size_t pos = 0;
  while (pos < text.size()) {
    const char c = text[pos];
    if (isAsciiDigit(c)) {
      DateToken token;
      while (pos < text.size() && isAsciiDigit(text[pos])) {
        token.number = std::min(token.number * 10 + (text[pos] - '0'), 100000);
        ++token.digits;
        ++pos;
      }
      // Ordinals: "17th", "1st".
      if (pos + 2 <= text.size()) {
        const std::string suffix = lowerAscii(text.substr(pos, 2));
        const bool ends = pos + 2 == text.size() || !isAsciiLetter(text[pos + 2]);
        if (ends && (suffix == "st" || suffix == "nd" || suffix == "rd" || suffix == "th")) {
          pos += 2;
        }
      }
      tokens.push_back(token);
    } else if (isAsciiLetter(c)) {
      DateToken token;
      token.kind = DateToken::Kind::kWord;
      while (pos < text.size() && isAsciiLetter(text[pos])) {
        token.word += lowerAscii(text[pos]);
        ++pos;
      }
      tokens.push_back(token);
    } else if (isAsciiSpace(c)) {
      ++pos;
    } else {
      DateToken token;
      token.kind = DateToken::Kind::kSeparator;
      token.separator = (c == '/' || c == '-' || c == '.' || c == ',') ? c : '?';
      tokens.push_back(token);
      ++pos;
    }
  }
  return tokens;
}

// 1..12 for month names and their common abbreviations, Indonesian and English; 0 otherwise.
int monthNumber(std::string_view word) {
  static const std::array<std::vector<std::string_view>, 12> kNames = {{
      {"januari", "january", "jan"},
      {"februari", "february", "pebruari", "feb", "peb"},
      {"maret", "march", "mar"},
      {"april", "apr"},
      {"mei", "may"},
      {"juni", "june", "jun"},
      {"juli", "july", "jul"},
      {"agustus", "august", "agu", "agt", "ags", "aug"},
      {"september", "sep", "sept"},
      {"oktober", "october", "okt", "oct"},
      {"november", "nopember", "nov", "nop"},
      {"desember", "december", "des", "dec"},
  }};
  for (size_t m = 0; m < kNames.size(); ++m) {
    if (std::find(kNames[m].begin(), kNames[m].end(), word) != kNames[m].end()) {
      return static_cast<int>(m) + 1;
    }
  }
  return 0;
}

struct DateParts {
  int day = 0;
  int month = 0;
  int year = 0;                // 0 = not written
  bool numeric_month = false;  // day/month in digits, which may be written month/day
  bool short_year = false;     // written with two digits: 25 -> 2025
};

// Finds the first date written in the tokens.
std::optional<DateParts> findDate(const std::vector<DateToken>& t) {
  using Kind = DateToken::Kind;
  const auto number = [&](size_t i, size_t min_digits, size_t max_digits) {
    return i < t.size() && t[i].kind == Kind::kNumber && t[i].digits >= min_digits &&
           t[i].digits <= max_digits;
  };
  const auto separator = [&](size_t i, std::string_view allowed) {
    return i < t.size() && t[i].kind == Kind::kSeparator &&
           allowed.find(t[i].separator) != std::string_view::npos;
  };
  const auto month = [&](size_t i) {
    return i < t.size() && t[i].kind == Kind::kWord ? monthNumber(t[i].word) : 0;
  };
  for (size_t i = 0; i < t.size(); ++i) {
    // 17/08/2025, 17-08-25, 17.08.2025
    if (number(i, 1, 2) && separator(i + 1, "/-.") && number(i + 2, 1, 2) &&
        separator(i + 3, std::string_view(&t[i + 1].separator, 1)) &&
        (number(i + 4, 4, 4) || number(i + 4, 2, 2))) {
      return DateParts{t[i].number, t[i + 2].number, t[i + 4].number, true, t[i + 4].digits == 2};
    }
    // 2025-08-17, 2025/08/17
    if (number(i, 4, 4) && separator(i + 1, "/-.") && number(i + 2, 1, 2) &&
        separator(i + 3, std::string_view(&t[i + 1].separator, 1)) && number(i + 4, 1, 2)) {
      return DateParts{t[i + 4].number, t[i + 2].number, t[i].number, false};
    }
    // 17/8 (not 10.30, which is a time)
    if (number(i, 1, 2) && separator(i + 1, "/-") && number(i + 2, 1, 2) &&
        !(separator(i + 3, "/-.") && number(i + 4, 1, 4))) {
      return DateParts{t[i].number, t[i + 2].number, 0, true};
    }
    // 17 Agustus 2025, 17-Aug-25, 17 agu
    if (number(i, 1, 2)) {
      const size_t m = separator(i + 1, "-.") ? i + 2 : i + 1;
      if (const int month_number = month(m)) {
        DateParts parts{t[i].number, month_number, 0, false};
        size_t y = m + 1;
        if (separator(y, ".")) {
          ++y;  // "17 Agu. 2025"
        }
        if (separator(y, "-/,") && number(y + 1, 2, 4)) {
          parts.year = t[y + 1].number;
          parts.short_year = t[y + 1].digits == 2;
        } else if (number(y, 4, 4)) {
          parts.year = t[y].number;
        }
        return parts;
      }
    }
    // August 17, 2025; Aug. 17 2025
    if (const int month_number = month(i)) {
      const size_t d = separator(i + 1, ".") ? i + 2 : i + 1;
      if (number(d, 1, 2) && !(separator(d + 1, "/-.") && number(d + 2, 1, 4))) {
        DateParts parts{t[d].number, month_number, 0, false};
        const size_t y = separator(d + 1, ",") ? d + 2 : d + 1;
        if (number(y, 4, 4)) {
          parts.year = t[y].number;
        }
        return parts;
      }
    }
  }
  return std::nullopt;
}

// Days after today that relative words mean ("besok" = 1), if the text has them.
std::optional<int> relativeDay(const std::vector<DateToken>& t) {
  const auto word = [&](size_t i, std::string_view w) {
    return i < t.size() && t[i].kind == DateToken::Kind::kWord && t[i].word == w;
  };
  std::optional<int> found;
  for (size_t i = 0; i < t.size() && !found; ++i) {
    if (word(i, "lusa") || (word(i, "day") && word(i + 1, "after") && word(i + 2, "tomorrow"))) {
      found = 2;
    } else if (word(i, "besok") || word(i, "besuk") || word(i, "bsk") || word(i, "esok") ||
               word(i, "tomorrow")) {
      // "besok lusa" is the day after tomorrow.
      found = word(i + 1, "lusa") ? 2 : 1;
    } else if (((word(i, "hari") || word(i, "hr") || word(i, "malam")) && word(i + 1, "ini")) ||
               word(i, "today") || word(i, "tonight") || word(i, "sekarang")) {
      found = 0;
    }
  }
  return found;
}

std::string monthName(int month) {
  static const std::array<const char*, 12> kNames = {
      "January", "February", "March",     "April",   "May",      "June",
      "July",    "August",   "September", "October", "November", "December"};
  return kNames[static_cast<size_t>(month - 1)];
}

std::string formatDate(std::chrono::year_month_day date) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02u", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()));
  return buffer;
}

}  // namespace

AnswerCheck checkDate(std::string_view text, std::chrono::year_month_day today) {
  using namespace std::chrono;
  const std::vector<DateToken> tokens = dateTokens(text);
  std::optional<DateParts> parts = findDate(tokens);
  if (!parts) {
    if (const std::optional<int> offset = relativeDay(tokens)) {
      return accept(formatDate(year_month_day{sys_days(today) + std::chrono::days(*offset)}));
    }
    return reject(kExpectedDate, "there is no date in the answer");
  }
  // Two-digit years are this century's, unless that is more than 20 years ahead ("17/08/95").
  if (parts->short_year) {
    parts->year += 2000;
    if (parts->year > static_cast<int>(today.year()) + 20) {
      parts->year -= 100;
    }
  }
  // 08/17/2025 can only be month/day/year.
  if (parts->numeric_month && parts->month > 12 && parts->day <= 12) {
    std::swap(parts->day, parts->month);
  }
  if (parts->month < 1 || parts->month > 12) {
    return reject(kExpectedDate, "there is no month " + std::to_string(parts->month));
  }
  const month m{static_cast<unsigned>(parts->month)};
  const day d{static_cast<unsigned>(parts->day)};
  // Why the day does not exist, in `in_year` (0 = in any year).
  const auto no_such_day = [&](int in_year) {
    std::string detail =
        "there is no " + std::to_string(parts->day) + " " + monthName(parts->month);
    if (in_year == 0) {
      // The longest the month can be (2024 is a leap year).
      const unsigned longest = static_cast<unsigned>((year{2024} / m / last).day());
      return reject(kExpectedDate, detail + ": " + monthName(parts->month) + " has " +
                                       std::to_string(longest) + " days");
    }
    const std::string year_text = std::to_string(in_year);
    detail += " " + year_text + ": ";
    if (parts->month == 2 && parts->day == 29) {
      detail += year_text + " is not a leap year";
    } else {
      const unsigned days = static_cast<unsigned>((year{in_year} / m / last).day());
      detail +=
          monthName(parts->month) + " " + year_text + " has " + std::to_string(days) + " days";
    }
    return reject(kExpectedDate, detail);
  };
  if (parts->year != 0) {
    if (parts->year < 1900 || parts->year > 2199) {
      return reject(kExpectedDate, "the year " + std::to_string(parts->year) + " is unlikely");
    }
    const year_month_day date{year{parts->year}, m, d};
    if (!date.ok()) {
      return no_such_day(parts->year);
    }
    return accept(formatDate(date));
  }
  // No year: the next such date on or after today. 29 February may be up to 8 years away.
  for (int y = static_cast<int>(today.year()); y <= static_cast<int>(today.year()) + 8; ++y) {
    const year_month_day date{year{y}, m, d};
    if (date.ok() && sys_days(date) >= sys_days(today)) {
      return accept(formatDate(date));
    }
  }
  return no_such_day(0);
}

}  // namespace waflow::core::flow::answer
