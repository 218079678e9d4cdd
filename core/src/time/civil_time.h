// CivilTime: a wall-clock date and time with no zone attached ("2025-08-17 09:30:00"), and the
// proleptic Gregorian calendar arithmetic on it: days and seconds since 1970-01-01 read as if
// the wall clock were UTC, weekdays and month lengths. A zone's reading of an instant is a
// LocalTime (time_zone.h), which is a CivilTime plus what the zone adds (weekday, day of the
// year, UTC offset, daylight saving).
//
// Thread-safety: a plain value; pure functions.
#pragma once

#include <compare>
#include <cstdint>

namespace waflow::core::time {

struct CivilTime {
  int year = 1970;
  int month = 1;   // 1..12
  int day = 1;     // 1..31
  int hour = 0;    // 0..23
  int minute = 0;  // 0..59
  int second = 0;  // 0..59

  auto operator<=>(const CivilTime&) const = default;
};

// Days since 1970-01-01 of a proleptic Gregorian date, and back.
int64_t daysFromCivil(int year, int month, int day);
CivilTime civilFromDays(int64_t days);
// Seconds since the epoch, reading `time` as if it were UTC; and back.
int64_t secondsFromCivil(const CivilTime& time);
CivilTime civilFromSeconds(int64_t seconds);
// 0 = Sunday .. 6 = Saturday (LocalTime::weekday is ISO: 1 = Monday .. 7 = Sunday).
int weekdayOf(int year, int month, int day);
// 28..31; 0 for a month outside 1..12.
int daysInMonth(int year, int month);

}  // namespace waflow::core::time
