#include "flow/cron.h"

#include <gtest/gtest.h>

namespace waflow::core::flow {
namespace {

using time::CivilTime;
using time::secondsFromCivil;

CronSchedule parse(std::string_view text) {
  CronParseResult result = CronSchedule::parse(text);
  EXPECT_TRUE(result.schedule.has_value()) << text << ": " << result.error;
  return *result.schedule;
}

CivilTime at(int y, int mo, int d, int h, int mi) {
  return CivilTime{y, mo, d, h, mi, 0};
}

TEST(CronTest, MatchesListsRangesStepsAndNames) {
  const CronSchedule weekdays = parse("0 9 * * mon-fri");
  EXPECT_TRUE(weekdays.matches(at(2025, 8, 18, 9, 0)));   // Monday
  EXPECT_FALSE(weekdays.matches(at(2025, 8, 17, 9, 0)));  // Sunday
  EXPECT_FALSE(weekdays.matches(at(2025, 8, 18, 9, 1)));

  const CronSchedule quarter = parse("*/15 8-10 * * *");
  EXPECT_TRUE(quarter.matches(at(2025, 1, 1, 8, 45)));
  EXPECT_FALSE(quarter.matches(at(2025, 1, 1, 8, 50)));
  EXPECT_FALSE(quarter.matches(at(2025, 1, 1, 11, 0)));

  const CronSchedule list = parse("5,10-12 0 1 jan,JUL *");
  EXPECT_TRUE(list.matches(at(2025, 7, 1, 0, 11)));
  EXPECT_FALSE(list.matches(at(2025, 6, 1, 0, 11)));

  const CronSchedule sunday7 = parse("0 0 * * 7");
  EXPECT_TRUE(sunday7.matches(at(2025, 8, 17, 0, 0)));  // 7 is Sunday too
}

TEST(CronTest, DayOfMonthAndDayOfWeekBothRestrictedMeansEither) {
  const CronSchedule either = parse("0 12 13 * fri");
  EXPECT_TRUE(either.matches(at(2025, 8, 13, 12, 0)));  // the 13th, a Wednesday
  EXPECT_TRUE(either.matches(at(2025, 8, 15, 12, 0)));  // a Friday, the 15th
  EXPECT_FALSE(either.matches(at(2025, 8, 14, 12, 0)));
}

TEST(CronTest, NextAfterSkipsToTheNextMatch) {
  const CronSchedule daily = parse("@daily");
  EXPECT_EQ(daily.nextAfter(at(2025, 12, 31, 0, 0)), at(2026, 1, 1, 0, 0));
  const CronSchedule leap = parse("30 6 29 2 *");
  EXPECT_EQ(leap.nextAfter(at(2025, 3, 1, 0, 0)), at(2028, 2, 29, 6, 30));
  const CronSchedule weekdays = parse("0 9 * * 1-5");
  EXPECT_EQ(weekdays.nextAfter(at(2025, 8, 15, 9, 0)), at(2025, 8, 18, 9, 0));  // Fri -> Mon
  const CronSchedule hourly = parse("@hourly");
  EXPECT_EQ(hourly.nextAfter(at(2025, 8, 15, 9, 0)), at(2025, 8, 15, 10, 0));
}

TEST(CronTest, NextFireUtcInAFixedOffsetZone) {
  // 09:00 in Asia/Jakarta (UTC+7) is 02:00 UTC.
  const CronSchedule nine = parse("0 9 * * *");
  const auto jakarta = [](int64_t) { return 7 * 3600; };
  const int64_t after = secondsFromCivil(at(2025, 8, 17, 3, 0));  // 10:00 WIB
  EXPECT_EQ(nine.nextFireUtc(after, jakarta), secondsFromCivil(at(2025, 8, 18, 2, 0)));
}

TEST(CronTest, NextFireUtcAcrossDaylightSavingChanges) {
  // A zone at UTC+1 that moves to UTC+2 at 2025-03-30 01:00 UTC (02:00 local jumps to 03:00)
  // and back at 2025-10-26 01:00 UTC (03:00 local falls back to 02:00).
  const int64_t spring = secondsFromCivil(at(2025, 3, 30, 1, 0));
  const int64_t autumn = secondsFromCivil(at(2025, 10, 26, 1, 0));
  const auto zone = [&](int64_t t) { return t >= spring && t < autumn ? 7200 : 3600; };
  const CronSchedule half_past_two = parse("30 2 * * *");

  // 02:30 does not exist on 2025-03-30: the next run is on the 31st at 02:30 local (00:30 UTC).
  EXPECT_EQ(half_past_two.nextFireUtc(secondsFromCivil(at(2025, 3, 29, 12, 0)), zone),
            secondsFromCivil(at(2025, 3, 31, 0, 30)));

  // 02:30 happens twice on 2025-10-26: the flow runs once, at the first one (00:30 UTC).
  const std::optional<int64_t> first =
      half_past_two.nextFireUtc(secondsFromCivil(at(2025, 10, 25, 12, 0)), zone);
  EXPECT_EQ(first, secondsFromCivil(at(2025, 10, 26, 0, 30)));
  EXPECT_EQ(half_past_two.nextFireUtc(*first, zone), secondsFromCivil(at(2025, 10, 27, 1, 30)));
}

TEST(CronTest, ErrorsNameTheFieldAndPosition) {
  struct Case {
    const char* text;
    const char* message;
    size_t offset;
  };
  const Case cases[] = {
      {"0 9 * *", "exactly 5 fields", 0},
      {"61 9 * * *", "minute 61 is out of range", 0},
      {"0 24 * * *", "hour 24 is out of range", 2},
      {"0 9 * * senin", "'senin' is not valid in the day-of-week field", 8},
      {"0 9 * foo *", "'foo' is not valid in the month field", 6},
      {"*/0 * * * *", "step '0' in the minute field", 2},
      {"0 17-9 * * *", "range 17-9 in the hour field goes backwards", 2},
      {"0 9 1,,2 * *", "empty value in the day-of-month field", 6},
      {"0 0 30 2 *", "never fires", 0},
      {"@fortnightly", "unknown shorthand", 0},
  };
  for (const Case& c : cases) {
    CronParseResult result = CronSchedule::parse(c.text);
    EXPECT_FALSE(result.schedule.has_value()) << c.text;
    EXPECT_NE(result.error.find(c.message), std::string::npos) << c.text << ": " << result.error;
    EXPECT_EQ(result.offset, c.offset) << c.text;
  }
}

}  // namespace
}  // namespace waflow::core::flow
