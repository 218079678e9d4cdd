// Reading dates and times as people write them in flow files: the "HH:MM", "YYYY-MM-DD" and
// "YYYY-MM-DD HH:MM[:SS]" spellings, weekday lists ("mon-sat", "senin-sabtu"), and the check
// that a time zone name exists in the system's tz database (/usr/share/zoneinfo, or $TZDIR),
// with a hint when it does not. Converting instants between zones is TimeZone's job
// (time_zone.h); this only reads and validates.
//
// Thread-safety: pure functions (checkTimeZone reads the file system); thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "time/civil_time.h"

namespace waflow::core::time {

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

}  // namespace waflow::core::time
