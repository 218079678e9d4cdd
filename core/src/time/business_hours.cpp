#include "time/business_hours.h"
#include "text/ascii.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <utility>

namespace waflow::core::time {

namespace {

using nlohmann::json;

using text::lowerAscii;

// ASCII white space around a value, as std::isspace sees it.
std::string_view trim(std::string_view s) {
  return text::trimSpace(s, text::kWhitespaceChars);
}

// 0 = Monday .. 6 = Sunday, or -1.
int dayIndex(std::string_view name) {
  static const std::pair<const char*, int> kNames[] = {
      {"mon", 0}, {"monday", 0},    {"senin", 0},  {"tue", 1}, {"tuesday", 1},  {"selasa", 1},
      {"wed", 2}, {"wednesday", 2}, {"rabu", 2},   {"thu", 3}, {"thursday", 3}, {"kamis", 3},
      {"fri", 4}, {"friday", 4},    {"jumat", 4},  {"sat", 5}, {"saturday", 5}, {"sabtu", 5},
      {"sun", 6}, {"sunday", 6},    {"minggu", 6}, {"ahad", 6}};
  std::string key = lowerAscii(trim(name));
  for (const auto& [n, index] : kNames) {
    if (key == n) {
      return index;
    }
  }
  return -1;
}

// "HH:MM" -> minutes after midnight, or -1.
int parseClock(std::string_view s) {
  s = trim(s);
  size_t colon = s.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon > 2 || s.size() != colon + 3) {
    return -1;
  }
  int hour = 0;
  for (size_t i = 0; i < colon; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) {
      return -1;
    }
    hour = hour * 10 + (s[i] - '0');
  }
  if (!std::isdigit(static_cast<unsigned char>(s[colon + 1])) ||
      !std::isdigit(static_cast<unsigned char>(s[colon + 2]))) {
    return -1;
  }
  int minute = (s[colon + 1] - '0') * 10 + (s[colon + 2] - '0');
  if (hour > 24 || minute > 59 || (hour == 24 && minute != 0)) {
    return -1;
  }
  return hour * 60 + minute;
}

bool isDayKey(const std::string& key) {
  return dayIndex(key) >= 0;
}

// Only the fields parse() knows: a misspelt one would otherwise be ignored in silence.
bool checkKeys(const json& spec, std::string* error) {
  for (auto it = spec.begin(); it != spec.end(); ++it) {
    const std::string& key = it.key();
    if (key == "days" || key == "from" || key == "to" || key == "tz" || key == "timezone" ||
        key == "holidays" || isDayKey(key)) {
      continue;
    }
    *error = "business hours: unknown field '" + key +
             "' (expected days, from, to, tz, holidays or a day name such as mon)";
    return false;
  }
  return true;
}

// spec[key] into `out` when it is there; false when it is not a string.
bool stringField(const json& spec, const char* key, std::string* out, std::string* error) {
  auto it = spec.find(key);
  if (it == spec.end()) {
    return true;
  }
  if (!it->is_string()) {
    *error = std::string("business hours field '") + key + "' must be a string";
    return false;
  }
  *out = it->get<std::string>();
  return true;
}

// The entries of 'days': "mon-fri, sat" or ["mon", "wed"]; "mon-sun" when absent.
bool dayParts(const json& spec, std::vector<std::string>& parts, std::string* error) {
  auto days_it = spec.find("days");
  if (days_it == spec.end()) {
    parts.emplace_back("mon-sun");
  } else if (days_it->is_string()) {
    std::string_view list = days_it->get_ref<const std::string&>();
    while (!list.empty()) {
      size_t comma = list.find(',');
      parts.emplace_back(trim(list.substr(0, comma)));
      list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    }
  } else if (days_it->is_array()) {
    for (const json& day : *days_it) {
      if (!day.is_string()) {
        *error = "business hours: 'days' must list day names such as \"mon\"";
        return false;
      }
      parts.push_back(day.get<std::string>());
    }
  } else {
    *error = "business hours: 'days' must be a string such as \"mon-fri\" or a list";
    return false;
  }
  return true;
}

// Marks the days 'days' names: single days, ranges that may wrap ("fri-mon"), or "daily".
bool selectDays(const json& spec, std::array<bool, 7>& selected, std::string* error) {
  std::vector<std::string> parts;
  if (!dayParts(spec, parts, error)) {
    return false;
  }
  for (const std::string& part : parts) {
    std::string p = lowerAscii(trim(part));
    if (p == "daily" || p == "every day" || p == "everyday" || p == "all") {
      selected.fill(true);
      continue;
    }
    size_t dash = p.find('-');
    int first = dayIndex(p.substr(0, dash));
    int last = dash == std::string::npos ? first : dayIndex(p.substr(dash + 1));
    if (first < 0 || last < 0) {
      *error = "business hours: '" + part +
               "' in 'days' is not a day or range of days (e.g. \"mon-fri\", \"sat\")";
      return false;
    }
    for (int d = first;; d = (d + 1) % 7) {
      selected[static_cast<size_t>(d)] = true;
      if (d == last) {
        break;
      }
    }
  }
  return true;
}

}  // namespace

bool BusinessHours::addRange(std::vector<Range>& ranges, int from, int to, const std::string& what,
                             std::string* error) {
  if (from < 0 || to < 0) {
    *error = "business hours " + what + ": times must look like \"08:00\" (00:00 to 24:00)";
    return false;
  }
  if (from == to || from == 1440) {
    *error = "business hours " + what +
             ": opens and closes at the same time (use \"00:00-24:00\" for the whole day)";
    return false;
  }
  ranges.push_back(Range{from, to});
  return true;
}

bool BusinessHours::parseRangeText(std::vector<Range>& ranges, std::string_view text,
                                   const std::string& what, std::string* error) {
  size_t dash = text.find('-');
  if (dash == std::string_view::npos) {
    *error = "business hours " + what + ": '" + std::string(text) +
             "' is not a range like \"08:00-17:00\" or \"closed\"";
    return false;
  }
  return addRange(ranges, parseClock(text.substr(0, dash)), parseClock(text.substr(dash + 1)),
                  what + " '" + std::string(text) + "'", error);
}

bool BusinessHours::parseWeekly(const json& spec, Week& days, std::string* error) {
  if (!spec.contains("from") && !spec.contains("to")) {
    if (spec.contains("days")) {
      *error = "business hours: 'days' needs 'from' and 'to'";
      return false;
    }
    return true;
  }
  std::string from, to;
  if (!stringField(spec, "from", &from, error) || !stringField(spec, "to", &to, error)) {
    return false;
  }
  if (from.empty() || to.empty()) {
    *error =
        "business hours: 'from' and 'to' go together, e.g. from = \"08:00\", "
        "to = \"17:00\"";
    return false;
  }
  std::array<bool, 7> selected{};
  if (!selectDays(spec, selected, error)) {
    return false;
  }
  std::vector<Range> ranges;
  if (!addRange(ranges, parseClock(from), parseClock(to),
                "'from' \"" + from + "\" / 'to' \"" + to + "\"", error)) {
    return false;
  }
  for (size_t d = 0; d < 7; ++d) {
    if (selected[d]) {
      days[d] = ranges;
    }
  }
  return true;
}

bool BusinessHours::parseDayKey(const std::string& key, const json& value,
                                std::vector<Range>& ranges, std::string* error) {
  ranges.clear();
  const std::string what = "'" + key + "'";
  if (value.is_boolean() && !value.get<bool>()) {
    return true;
  }
  if (value.is_string()) {
    std::string text = lowerAscii(trim(value.get_ref<const std::string&>()));
    return text == "closed" || text == "tutup" || parseRangeText(ranges, text, what, error);
  }
  if (!value.is_array()) {
    *error = "business hours " + what +
             " must be a range like \"08:00-17:00\", a list of ranges, or \"closed\"";
    return false;
  }
  for (const json& range : value) {
    if (!range.is_string()) {
      *error = "business hours " + what + ": each range must be a string like \"08:00-12:00\"";
      return false;
    }
    if (!parseRangeText(ranges, range.get<std::string>(), what, error)) {
      return false;
    }
  }
  return true;
}

bool BusinessHours::parseDayKeys(const json& spec, Week& days, std::string* error) {
  std::array<std::string, 7> day_keys;
  for (auto it = spec.begin(); it != spec.end(); ++it) {
    int day = dayIndex(it.key());
    if (day < 0) {
      continue;
    }
    std::string& previous = day_keys[static_cast<size_t>(day)];
    if (!previous.empty()) {
      *error = "business hours: '" + previous + "' and '" + it.key() +
               "' name the same day; list each day once";
      return false;
    }
    previous = it.key();
    if (!parseDayKey(it.key(), it.value(), days[static_cast<size_t>(day)], error)) {
      return false;
    }
  }
  return true;
}

bool BusinessHours::parseHolidays(const json& spec, std::vector<int>& holidays,
                                  std::string* error) {
  auto it = spec.find("holidays");
  if (it == spec.end()) {
    return true;
  }
  if (!it->is_array()) {
    *error = "business hours: 'holidays' must be a list of dates like \"2025-12-25\"";
    return false;
  }
  for (const json& date : *it) {
    int y = 0, m = 0, d = 0;
    char tail = 0;
    const char* text = date.is_string() ? date.get_ref<const std::string&>().c_str() : "";
    bool dated = std::sscanf(text, "%4d-%2d-%2d%c", &y, &m, &d, &tail) == 3;
    bool yearly = !dated && std::strlen(text) == 5 &&
                  std::sscanf(text, "%2d-%2d%c", &m, &d, &tail) == 2;  // "12-25": every year
    if (!(dated || yearly) || m < 1 || m > 12 || d < 1 || d > 31) {
      *error = "business hours: holiday " + date.dump() +
               " is not a date like \"2025-12-25\" (or \"12-25\" for every year)";
      return false;
    }
    holidays.push_back((yearly ? 0 : y) * 10000 + m * 100 + d);
  }
  std::sort(holidays.begin(), holidays.end());
  return true;
}

std::optional<BusinessHours> BusinessHours::parse(const json& spec, std::string* error) {
  if (!spec.is_object()) {
    *error =
        "business hours must be a table such as {days = \"mon-fri\", from = \"08:00\", "
        "to = \"17:00\"}";
    return std::nullopt;
  }
  BusinessHours hours;
  if (!checkKeys(spec, error) || !stringField(spec, "tz", &hours.time_zone_, error) ||
      !stringField(spec, "timezone", &hours.time_zone_, error) ||
      !parseWeekly(spec, hours.days_, error) || !parseDayKeys(spec, hours.days_, error) ||
      !parseHolidays(spec, hours.holidays_, error)) {
    return std::nullopt;
  }
  return hours;
}

bool BusinessHours::isOpen(const LocalTime& local) const {
  int day_of_year = local.month * 100 + local.day;
  int date = local.year * 10000 + day_of_year;
  if (std::binary_search(holidays_.begin(), holidays_.end(), date) ||
      std::binary_search(holidays_.begin(), holidays_.end(), day_of_year)) {
    return false;  // a dated holiday, or one kept every year (stored with year 0)
  }
  int minute = local.hour * 60 + local.minute;
  size_t today = static_cast<size_t>(local.weekday - 1);
  for (const Range& r : days_[today]) {
    if (r.from < r.to ? (minute >= r.from && minute < r.to) : minute >= r.from) {
      return true;
    }
  }
  for (const Range& r : days_[(today + 6) % 7]) {
    if (r.to < r.from && minute < r.to) {
      return true;  // yesterday's range running past midnight
    }
  }
  return false;
}

}  // namespace waflow::core::time
