// TimeZone: one zone of the system's IANA tz database (/usr/share/zoneinfo, or $TZDIR), read
// from its TZif file, converting UTC instants to local wall-clock time. libstdc++ 12 has no
// std::chrono::tzdb and setting TZ for localtime_r is process-global, so the TZif file
// (RFC 8536) is parsed here: its transition table, and the POSIX TZ rule in its footer for
// instants after the last transition.
//
// Thread-safety: a TimeZone is immutable and safe to share. TimeZone::locate() is thread-safe;
// zones are loaded once per process and kept for its lifetime.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "time/civil_time.h"

namespace waflow::core::time {

// A wall-clock reading in some zone: the civil date and time (year .. second, see
// civil_time.h) and what the zone knows about it. A LocalTime is a CivilTime, so it goes
// wherever a wall-clock time is wanted.
struct LocalTime : CivilTime {
  int weekday = 4;  // ISO: 1 = Monday .. 7 = Sunday
  int yearday = 1;  // 1..366
  int utc_offset_seconds = 0;
  bool dst = false;

  bool operator==(const LocalTime&) const = default;
};

class TimeZone {
 public:
  // The zone named `name` ("Asia/Jakarta", "Europe/Berlin", "UTC"), or nullptr with `*error`
  // saying why (unknown name, unreadable or malformed file). The pointer stays valid for the
  // life of the process.
  static const TimeZone* locate(std::string_view name, std::string* error);

  // Parses TZif data; throws std::runtime_error when it is malformed. For tests and locate().
  TimeZone(std::string name, std::string_view tzif);

  const std::string& name() const { return name_; }
  // Seconds east of UTC at the UTC instant `unix_seconds`.
  int utcOffset(int64_t unix_seconds) const { return lookup(unix_seconds).offset; }
  LocalTime toLocal(int64_t unix_seconds) const;

 private:
  struct Type {
    int offset = 0;
    bool dst = false;
  };
  // A POSIX TZ rule such as "CET-1CEST,M3.5.0,M10.5.0/3" (the TZif footer).
  struct Rule {
    enum class Form { kJulian1, kJulian0, kMonthWeekDay };
    Form form = Form::kMonthWeekDay;
    int day = 0;      // Jn: 1..365; n: 0..365; M: day of week 0..6 (0 = Sunday)
    int week = 0;     // M: 1..5 (5 = last)
    int month = 0;    // M: 1..12
    int time = 7200;  // seconds after local midnight
  };
  struct Posix {
    bool valid = false;
    Type standard;
    bool has_dst = false;
    Type daylight;
    Rule start;
    Rule end;
  };

  Type lookup(int64_t unix_seconds) const;
  Type lookupPosix(int64_t unix_seconds) const;
  static Posix parsePosix(std::string_view spec);
  static int64_t ruleInstant(const Rule& rule, int year);  // local seconds since the epoch

  std::string name_;
  std::vector<int64_t> transitions_;
  std::vector<uint8_t> transition_types_;
  std::vector<Type> types_;
  Posix posix_;
};

}  // namespace waflow::core::time
