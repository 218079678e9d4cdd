// Calendar and clock helpers for flow files: civil (wall-clock) dates and times, the "HH:MM",
// "YYYY-MM-DD" and "YYYY-MM-DD HH:MM[:SS]" spellings flows use, weekday lists ("mon-sat"), and
// the check that a time zone name exists in the system's tz database (/usr/share/zoneinfo, or
// $TZDIR). Converting instants between zones is the engine's job; this module only validates.
// Pure functions (isKnownTimeZone reads the file system); thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace waflow::core::flow {

// A wall-clock date and time with no zone attached.
struct CivilTime {
  int year = 1970;
  int month = 1;  // 1..12
  int day = 1;    // 1..31
  int hour = 0;   // 0..23
  int minute = 0;
  int second = 0;

  auto operator<=>(const CivilTime&) const = default;
};

// Days since 1970-01-01 of a proleptic Gregorian date, and back.
int64_t daysFromCivil(int year, int month, int day);
CivilTime civilFromDays(int64_t days);
// Seconds since the epoch, reading `time` as if it were UTC; and back.
int64_t secondsFromCivil(const CivilTime& time);
CivilTime civilFromSeconds(int64_t seconds);
// 0 = Sunday .. 6 = Saturday.
int weekdayOf(int year, int month, int day);
int daysInMonth(int year, int month);

// "08:00" -> minutes after midnight (0..1439); "24:00" -> 1440 when allow_24 is set.
std::optional<int> parseClock(std::string_view text, bool allow_24);
// "2025-08-17" -> a valid calendar date (checks month lengths and leap years).
std::optional<CivilTime> parseDate(std::string_view text);
// "2025-08-17 09:30", "2025-08-17T09:30:15".
std::optional<CivilTime> parseDateTime(std::string_view text);

// Bit d (0 = Sunday .. 6 = Saturday) set for each day named in `text`: "mon-sat", "mon-fri,sun",
// "daily", "weekdays", "weekends", single names ("sat") and ranges that wrap ("fri-mon").
// English three-letter or full names and Indonesian names ("senin-sabtu") are accepted,
// case-insensitively. On failure returns nullopt and says why in `*error`.
std::optional<uint8_t> parseDays(std::string_view text, std::string* error);

struct TimeZoneCheck {
  bool known = false;
  std::string error;  // why it is not known
  std::string hint;   // a suggestion: a close zone name, or what to write instead of "WIB"
};

// Whether `name` ("Asia/Jakarta", "UTC") is a zone of the system tz database: a TZif file under
// $TZDIR or /usr/share/zoneinfo.
TimeZoneCheck checkTimeZone(std::string_view name);

}  // namespace waflow::core::flow
