#include "flow/cron.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <vector>

#include "text/ascii.h"

namespace waflow::core::flow {

namespace {

using text::lowerAscii;
using time::civilFromSeconds;
using time::CivilTime;
using time::daysFromCivil;
using time::secondsFromCivil;
using time::weekdayOf;

struct Field {
  const char* name;
  int min;
  int max;
  const char* const* names;  // names for values min.. (nullptr: numbers only)
  int name_count;
};

constexpr const char* kMonthNames[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                       "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr const char* kDayNames[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

// Day-of-week accepts 7 as Sunday, as most crons do.
constexpr std::array<Field, 5> kFields = {{
    {"minute", 0, 59, nullptr, 0},
    {"hour", 0, 23, nullptr, 0},
    {"day-of-month", 1, 31, nullptr, 0},
    {"month", 1, 12, kMonthNames, 12},
    {"day-of-week", 0, 7, kDayNames, 7},
}};

}  // namespace

struct CronParser {
  std::string_view text;
  CronParseResult result;

  bool fail(size_t offset, size_t length, std::string message, std::string hint = {}) {
    result.error = std::move(message);
    result.hint = std::move(hint);
    result.offset = offset;
    result.length = length;
    return false;
  }

  // One value (number or name) of `field`; `offset` is the position of `token` in the text.
  bool value(const Field& field, std::string_view token, size_t offset, int& out) {
    if (token.empty()) {
      return fail(offset, 1, std::string("empty value in the ") + field.name + " field");
    }
    if (std::isdigit(static_cast<unsigned char>(token[0]))) {
      auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), out);
      if (ec != std::errc() || end != token.data() + token.size()) {
        return fail(offset, token.size(),
                    "'" + std::string(token) + "' is not a number in the " + field.name + " field");
      }
      if (out < field.min || out > field.max) {
        return fail(offset, token.size(),
                    std::string(field.name) + " " + std::string(token) + " is out of range",
                    "the " + std::string(field.name) + " field takes " + std::to_string(field.min) +
                        "-" + std::to_string(field.max));
      }
      return true;
    }
    const std::string name = lowerAscii(token);
    for (int i = 0; field.names != nullptr && i < field.name_count; ++i) {
      if (name == field.names[i]) {
        out = field.names == kMonthNames ? i + 1 : i;
        return true;
      }
    }
    std::string hint;
    if (field.names == kMonthNames) {
      hint = "months are 1-12 or jan, feb, ..., dec";
    } else if (field.names == kDayNames) {
      hint = "days are 0-7 (0 and 7 are Sunday) or sun, mon, ..., sat";
    } else {
      hint = "the " + std::string(field.name) + " field takes numbers " +
             std::to_string(field.min) + "-" + std::to_string(field.max);
    }
    return fail(offset, token.size(),
                "'" + std::string(token) + "' is not valid in the " + field.name + " field", hint);
  }

  // One comma-separated part: *, */n, a, a-b, a-b/n, a/n.
  template <size_t N>
  bool part(const Field& field, std::string_view token, size_t offset, std::bitset<N>& bits) {
    int step = 1;
    std::string_view range = token;
    const size_t slash = token.find('/');
    if (slash != std::string_view::npos) {
      range = token.substr(0, slash);
      const std::string_view step_text = token.substr(slash + 1);
      auto [end, ec] = std::from_chars(step_text.data(), step_text.data() + step_text.size(), step);
      if (step_text.empty() || ec != std::errc() || end != step_text.data() + step_text.size() ||
          step < 1 || step > field.max) {
        return fail(offset + slash + 1, std::max<size_t>(step_text.size(), 1),
                    "step '" + std::string(step_text) + "' in the " + field.name +
                        " field must be a number from 1 to " + std::to_string(field.max));
      }
    }
    int from = field.min;
    int to = field.max;
    if (range != "*") {
      const size_t dash = range.find('-');
      if (!value(field, range.substr(0, dash), offset, from)) {
        return false;
      }
      if (dash != std::string_view::npos) {
        if (!value(field, range.substr(dash + 1), offset + dash + 1, to)) {
          return false;
        }
        if (to < from) {
          return fail(
              offset, range.size(),
              "range " + std::string(range) + " in the " + field.name + " field goes backwards",
              "write the smaller value first");
        }
      } else if (slash == std::string_view::npos) {
        to = from;
      }
    }
    for (int v = from; v <= to; v += step) {
      // Day-of-week 7 is Sunday.
      bits.set(static_cast<size_t>(N == 7 && v == 7 ? 0 : v));
    }
    return true;
  }

  template <size_t N>
  bool field(const Field& spec, std::string_view token, size_t offset, std::bitset<N>& bits,
             bool* restricted) {
    if (restricted != nullptr) {
      *restricted = token != "*" && token != "?";
    }
    if (token == "?") {
      token = "*";
    }
    size_t start = 0;
    while (true) {
      const size_t comma = token.find(',', start);
      const std::string_view piece = token.substr(
          start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
      if (!part(spec, piece, offset + start, bits)) {
        return false;
      }
      if (comma == std::string_view::npos) {
        return true;
      }
      start = comma + 1;
    }
  }

  bool parse(CronSchedule& schedule) {
    std::string_view body = text;
    const std::string lowered = lowerAscii(text);
    static const std::array<std::pair<const char*, const char*>, 6> kMacros = {{
        {"@yearly", "0 0 1 1 *"},
        {"@annually", "0 0 1 1 *"},
        {"@monthly", "0 0 1 * *"},
        {"@weekly", "0 0 * * 0"},
        {"@daily", "0 0 * * *"},
        {"@hourly", "0 * * * *"},
    }};
    if (!lowered.empty() && lowered.find_first_not_of(' ') != std::string::npos &&
        lowered[lowered.find_first_not_of(' ')] == '@') {
      const std::string_view trimmed =
          std::string_view(lowered).substr(lowered.find_first_not_of(' '));
      const std::string_view word = trimmed.substr(0, trimmed.find(' '));
      for (const auto& [name, expansion] : kMacros) {
        if (word == name && trimmed.find_first_not_of(' ', word.size()) == std::string::npos) {
          CronParser inner{expansion, {}};
          return inner.parse(schedule);
        }
      }
      return fail(lowered.find('@'), word.size(), "unknown shorthand '" + std::string(word) + "'",
                  "use @hourly, @daily, @weekly, @monthly or @yearly, or five fields");
    }
    std::vector<std::pair<std::string_view, size_t>> tokens;
    size_t i = 0;
    while (i < body.size()) {
      while (i < body.size() && (body[i] == ' ' || body[i] == '\t')) {
        ++i;
      }
      const size_t start = i;
      while (i < body.size() && body[i] != ' ' && body[i] != '\t') {
        ++i;
      }
      if (i > start) {
        tokens.emplace_back(body.substr(start, i - start), start);
      }
    }
    if (tokens.size() != 5) {
      return fail(0, text.size(),
                  "a cron schedule has exactly 5 fields (minute hour day-of-month month "
                  "day-of-week), found " +
                      std::to_string(tokens.size()),
                  "e.g. '0 9 * * mon-fri' runs at 09:00 on weekdays");
    }
    return field(kFields[0], tokens[0].first, tokens[0].second, schedule.minutes_, nullptr) &&
           field(kFields[1], tokens[1].first, tokens[1].second, schedule.hours_, nullptr) &&
           field(kFields[2], tokens[2].first, tokens[2].second, schedule.days_,
                 &schedule.days_restricted_) &&
           field(kFields[3], tokens[3].first, tokens[3].second, schedule.months_, nullptr) &&
           field(kFields[4], tokens[4].first, tokens[4].second, schedule.weekdays_,
                 &schedule.weekdays_restricted_);
  }
};

CronParseResult CronSchedule::parse(std::string_view text) {
  CronParser parser{text, {}};
  CronSchedule schedule;
  if (parser.parse(schedule)) {
    // A schedule that can never fire (February 30th) is a mistake worth reporting.
    if (!schedule.nextAfter(CivilTime{2000, 1, 1, 0, 0, 0})) {
      parser.result.error = "the cron schedule '" + std::string(text) + "' never fires";
      parser.result.hint = "check the day-of-month and month fields (e.g. February has no 30th)";
      parser.result.length = text.size();
      return std::move(parser.result);
    }
    parser.result.schedule = schedule;
  }
  return std::move(parser.result);
}

bool CronSchedule::matches(const CivilTime& time) const {
  if (!minutes_.test(static_cast<size_t>(time.minute)) ||
      !hours_.test(static_cast<size_t>(time.hour)) ||
      !months_.test(static_cast<size_t>(time.month))) {
    return false;
  }
  const bool day_ok = days_.test(static_cast<size_t>(time.day));
  const bool weekday_ok =
      weekdays_.test(static_cast<size_t>(weekdayOf(time.year, time.month, time.day)));
  if (days_restricted_ && weekdays_restricted_) {
    return day_ok || weekday_ok;
  }
  return day_ok && weekday_ok;
}

std::optional<CivilTime> CronSchedule::nextAfter(const CivilTime& after) const {
  // Start at the next whole minute, then skip whole months, days and hours that cannot match.
  int64_t t =
      secondsFromCivil(CivilTime{after.year, after.month, after.day, after.hour, after.minute, 0}) +
      60;
  const int last_year = after.year + 8;
  while (true) {
    CivilTime c = civilFromSeconds(t);
    if (c.year > last_year) {
      return std::nullopt;
    }
    if (!months_.test(static_cast<size_t>(c.month))) {
      const int year = c.month == 12 ? c.year + 1 : c.year;
      const int month = c.month == 12 ? 1 : c.month + 1;
      t = daysFromCivil(year, month, 1) * 86400;
      continue;
    }
    const bool day_ok = days_.test(static_cast<size_t>(c.day));
    const bool weekday_ok = weekdays_.test(static_cast<size_t>(weekdayOf(c.year, c.month, c.day)));
    const bool date_ok =
        days_restricted_ && weekdays_restricted_ ? day_ok || weekday_ok : day_ok && weekday_ok;
    if (!date_ok) {
      t = (daysFromCivil(c.year, c.month, c.day) + 1) * 86400;
      continue;
    }
    if (!hours_.test(static_cast<size_t>(c.hour))) {
      t = t - c.minute * 60 - c.second + 3600;
      continue;
    }
    if (!minutes_.test(static_cast<size_t>(c.minute))) {
      t += 60;
      continue;
    }
    return c;
  }
}

std::optional<int64_t> CronSchedule::nextFireUtc(int64_t after_unix_seconds,
                                                 const UtcOffsetFn& offset) const {
  // Walk candidate wall-clock times in the zone, from the local time of `after` on; a candidate
  // maps to 0 (skipped by a jump), 1 or 2 (repeated hour) instants.
  CivilTime local = civilFromSeconds(after_unix_seconds + offset(after_unix_seconds));
  for (int guard = 0; guard < 100000; ++guard) {
    std::optional<CivilTime> candidate = nextAfter(local);
    if (!candidate) {
      return std::nullopt;
    }
    const int64_t wall = secondsFromCivil(*candidate);
    std::optional<int64_t> best;
    // Offsets in force within a day of the wall time, read as if it were UTC, cover every
    // offset the zone could have at that wall time.
    for (const int64_t probe : {wall - 86400, wall, wall + 86400}) {
      const int guess = offset(probe);
      const int64_t instant = wall - guess;
      if (offset(instant) == guess && instant > after_unix_seconds && (!best || instant < *best)) {
        best = instant;
      }
    }
    if (best) {
      return best;
    }
    local = *candidate;
  }
  return std::nullopt;
}

}  // namespace waflow::core::flow
