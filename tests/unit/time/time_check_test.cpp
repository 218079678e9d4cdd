#include "time/time_check.h"

#include <gtest/gtest.h>

namespace waflow::core::time {
namespace {

TEST(TimeCheckTest, CivilDaysRoundTripAndWeekdays) {
  EXPECT_EQ(daysFromCivil(1970, 1, 1), 0);
  EXPECT_EQ(daysFromCivil(2000, 3, 1), 11017);
  for (int64_t d : {-1000000, -1, 0, 59, 11016, 20000, 1000000}) {
    const CivilTime c = civilFromDays(d);
    EXPECT_EQ(daysFromCivil(c.year, c.month, c.day), d);
  }
  EXPECT_EQ(weekdayOf(2025, 8, 17), 0);  // Sunday
  EXPECT_EQ(weekdayOf(1945, 8, 17), 5);  // Friday
  EXPECT_EQ(weekdayOf(1969, 12, 31), 3);
  EXPECT_EQ(daysInMonth(2024, 2), 29);
  EXPECT_EQ(daysInMonth(1900, 2), 28);
  EXPECT_EQ(civilFromSeconds(-1), (CivilTime{1969, 12, 31, 23, 59, 59}));
}

TEST(TimeCheckTest, ClocksDatesAndDateTimes) {
  EXPECT_EQ(parseClock("08:00", false), 480);
  EXPECT_EQ(parseClock("24:00", true), 1440);
  EXPECT_FALSE(parseClock("24:00", false));
  EXPECT_FALSE(parseClock("8:00", false));
  EXPECT_FALSE(parseClock("12:60", false));
  EXPECT_TRUE(parseDate("2024-02-29"));
  EXPECT_FALSE(parseDate("2025-02-29"));
  EXPECT_FALSE(parseDate("2025-13-01"));
  const std::optional<CivilTime> t = parseDateTime("2025-12-24T09:30:15");
  ASSERT_TRUE(t);
  EXPECT_EQ(*t, (CivilTime{2025, 12, 24, 9, 30, 15}));
  EXPECT_TRUE(parseDateTime("2025-12-24 09:30"));
  EXPECT_FALSE(parseDateTime("2025-12-24 9:30"));
  EXPECT_FALSE(parseDateTime("2025-12-24 09:30:61"));
}

TEST(TimeCheckTest, DayLists) {
  std::string error;
  EXPECT_EQ(parseDays("mon-sat", &error), 0x7E);
  EXPECT_EQ(parseDays("Senin-Sabtu", &error), 0x7E);
  EXPECT_EQ(parseDays("fri-mon", &error), 0x63);  // wraps over the weekend
  EXPECT_EQ(parseDays("mon,wed, fri", &error), 0x2A);
  EXPECT_EQ(parseDays("daily", &error), 0x7F);
  EXPECT_EQ(parseDays("weekends", &error), 0x41);
  EXPECT_FALSE(parseDays("mon-xyz", &error));
  EXPECT_EQ(error, "'xyz' is not a day name");
  EXPECT_FALSE(parseDays("mon,,tue", &error));
}

TEST(TimeCheckTest, TimeZonesComeFromTheTzDatabase) {
  EXPECT_TRUE(checkTimeZone("Asia/Jakarta").known);
  EXPECT_TRUE(checkTimeZone("UTC").known);
  EXPECT_TRUE(checkTimeZone("Etc/GMT-7").known);

  const TimeZoneCheck typo = checkTimeZone("Asia/Jakata");
  EXPECT_FALSE(typo.known);
  EXPECT_EQ(typo.hint, "did you mean 'Asia/Jakarta'?");

  const TimeZoneCheck wib = checkTimeZone("wib");
  EXPECT_FALSE(wib.known);
  EXPECT_EQ(wib.hint, "write Asia/Jakarta");

  // Names are never paths out of the zone directory, and directories are not zones.
  EXPECT_FALSE(checkTimeZone("../../etc/passwd").known);
  EXPECT_FALSE(checkTimeZone("/etc/localtime").known);
  EXPECT_FALSE(checkTimeZone("Asia").known);
  EXPECT_FALSE(checkTimeZone("").known);
}

}  // namespace
}  // namespace waflow::core::time
