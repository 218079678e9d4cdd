// CronSchedule: a standard 5-field cron expression (minute hour day-of-month month
// day-of-week) with lists, ranges, steps and names, plus the @hourly/@daily/@weekly/@monthly/
// @yearly shorthands, and the computation of its next fire time. As in Vixie cron, when both
// day-of-month and day-of-week are restricted, a day matching either one fires.
// Immutable after parse(); thread-safe.
#pragma once

#include <bitset>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "time/civil_time.h"

namespace waflow::core::flow {

struct CronParseResult;

// Seconds east of UTC in force at the UTC instant given (seconds since the epoch); e.g. a
// constant 7 * 3600 for Asia/Jakarta.
using UtcOffsetFn = std::function<int(int64_t unix_seconds)>;

class CronSchedule {
 public:
  static CronParseResult parse(std::string_view text);

  // Whether the schedule fires at this wall-clock minute (seconds ignored).
  bool matches(const time::CivilTime& time) const;

  // The first matching wall-clock minute strictly after `after`, or nullopt when there is none
  // within the following 8 years (e.g. "0 0 30 2 *", February 30th).
  std::optional<time::CivilTime> nextAfter(const time::CivilTime& after) const;

  // The first UTC instant strictly after `after_unix_seconds` whose local time in a zone with
  // the given offsets matches. Local times skipped by a daylight-saving jump do not fire; a
  // local time that happens twice fires once, at its first occurrence.
  std::optional<int64_t> nextFireUtc(int64_t after_unix_seconds, const UtcOffsetFn& offset) const;

 private:
  friend struct CronParser;
  CronSchedule() = default;

  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_;     // 1..31
  std::bitset<13> months_;   // 1..12
  std::bitset<7> weekdays_;  // 0 = Sunday
  bool days_restricted_ = false;
  bool weekdays_restricted_ = false;
};

struct CronParseResult {
  std::optional<CronSchedule> schedule;  // nullopt on error
  std::string error;                     // what is wrong, naming the field
  std::string hint;
  size_t offset = 0;  // where in the text the error is (byte offset)
  size_t length = 0;  // length of the offending part
};

}  // namespace waflow::core::flow
