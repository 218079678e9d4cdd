// Calendar arithmetic on CivilTime; see civil_time.h. Built on std::chrono's calendar (C++20;
// libstdc++ 12 has it, only the tz database is missing).
//
// Thread-safety: pure functions.
#include "time/civil_time.h"

#include <array>
#include <chrono>

namespace waflow::core::time {

int64_t daysFromCivil(int year, int month, int day) {
  namespace chr = std::chrono;
  return chr::sys_days{chr::year{year} / chr::month{static_cast<unsigned>(month)} /
                       chr::day{static_cast<unsigned>(day)}}
      .time_since_epoch()
      .count();
}

CivilTime civilFromDays(int64_t days) {
  namespace chr = std::chrono;
  const chr::year_month_day date{chr::sys_days{chr::days{days}}};
  CivilTime out;
  out.year = static_cast<int>(date.year());
  out.month = static_cast<int>(static_cast<unsigned>(date.month()));
  out.day = static_cast<int>(static_cast<unsigned>(date.day()));
  return out;
}

int64_t secondsFromCivil(const CivilTime& time) {
  return daysFromCivil(time.year, time.month, time.day) * 86400 + time.hour * 3600 +
         time.minute * 60 + time.second;
}

CivilTime civilFromSeconds(int64_t seconds) {
  int64_t days = seconds / 86400;
  int64_t rest = seconds % 86400;
  if (rest < 0) {
    rest += 86400;
    --days;
  }
  CivilTime out = civilFromDays(days);
  out.hour = static_cast<int>(rest / 3600);
  out.minute = static_cast<int>(rest % 3600 / 60);
  out.second = static_cast<int>(rest % 60);
  return out;
}

int weekdayOf(int year, int month, int day) {
  const int64_t days = daysFromCivil(year, month, day);
  return static_cast<int>(((days % 7) + 7 + 4) % 7);  // 1970-01-01 was a Thursday
}

int daysInMonth(int year, int month) {
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12) {
    return 0;
  }
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[static_cast<size_t>(month - 1)];
}

}  // namespace waflow::core::time
