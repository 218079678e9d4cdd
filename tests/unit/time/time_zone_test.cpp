// TimeZone (system tz database, POSIX rules past the table) and BusinessHours.
#include <chrono>

#include <gtest/gtest.h>

#include "time/business_hours.h"
#include "time/time_zone.h"

namespace waflow::core::time {
namespace {

using namespace std::chrono;

int64_t at(int y, unsigned m, unsigned d, int hour, int minute = 0) {
  return duration_cast<seconds>(
             (sys_days{year{y} / month{m} / day{d}} + hours(hour) + minutes(minute))
                 .time_since_epoch())
      .count();
}

const TimeZone& zone(const char* name) {
  std::string error;
  const TimeZone* z = TimeZone::locate(name, &error);
  EXPECT_NE(z, nullptr) << error;
  return *z;
}

TEST(TimeZoneTest, JakartaIsSevenHoursAhead) {
  const TimeZone& jakarta = zone("Asia/Jakarta");
  LocalTime t = jakarta.toLocal(at(2025, 6, 16, 1, 30));
  EXPECT_EQ(t.year, 2025);
  EXPECT_EQ(t.month, 6);
  EXPECT_EQ(t.day, 16);
  EXPECT_EQ(t.hour, 8);
  EXPECT_EQ(t.minute, 30);
  EXPECT_EQ(t.weekday, 1);
  EXPECT_EQ(t.yearday, 167);
  EXPECT_EQ(t.utc_offset_seconds, 7 * 3600);
  // 17:30 UTC on Sunday is already Monday in Jakarta.
  EXPECT_EQ(jakarta.toLocal(at(2025, 6, 15, 17, 30)).weekday, 1);
  // History from the database: Jakarta was UTC+7:20 in 1930.
  EXPECT_EQ(jakarta.utcOffset(at(1930, 1, 1, 0)), 7 * 3600 + 20 * 60);
  EXPECT_EQ(&jakarta, &zone("Asia/Jakarta"));  // loaded once
}

TEST(TimeZoneTest, DaylightSavingFromTableAndFromPosixRule) {
  const TimeZone& berlin = zone("Europe/Berlin");
  EXPECT_EQ(berlin.utcOffset(at(2025, 1, 15, 12)), 3600);
  EXPECT_EQ(berlin.utcOffset(at(2025, 7, 1, 12)), 7200);
  EXPECT_TRUE(berlin.toLocal(at(2025, 7, 1, 12)).dst);
  // 2025-03-30 01:00 UTC is the switch to summer time.
  EXPECT_EQ(berlin.utcOffset(at(2025, 3, 30, 0, 59)), 3600);
  EXPECT_EQ(berlin.utcOffset(at(2025, 3, 30, 1, 0)), 7200);
  // Beyond the file's transition table (2037): the footer rule "CET-1CEST,M3.5.0,M10.5.0/3".
  EXPECT_EQ(berlin.utcOffset(at(2100, 7, 1, 12)), 7200);
  EXPECT_EQ(berlin.utcOffset(at(2100, 12, 1, 12)), 3600);
  // Southern hemisphere: summer time spans the new year.
  const TimeZone& sydney = zone("Australia/Sydney");
  EXPECT_EQ(sydney.utcOffset(at(2100, 1, 15, 0)), 11 * 3600);
  EXPECT_EQ(sydney.utcOffset(at(2100, 7, 15, 0)), 10 * 3600);
  EXPECT_EQ(zone("UTC").utcOffset(at(2025, 7, 1, 0)), 0);
}

TEST(TimeZoneTest, UnknownAndMalformedNamesAreRefused) {
  std::string error;
  EXPECT_EQ(TimeZone::locate("Asia/Jakrta", &error), nullptr);
  EXPECT_NE(error.find("unknown time zone 'Asia/Jakrta'"), std::string::npos) << error;
  EXPECT_EQ(TimeZone::locate("../../etc/passwd", &error), nullptr);
  EXPECT_NE(error.find("is not a time zone name"), std::string::npos) << error;
  EXPECT_EQ(TimeZone::locate("Asia", &error), nullptr);  // a directory
  EXPECT_THROW(TimeZone("bad", "not tzif data"), std::runtime_error);
}

BusinessHours parse(const nlohmann::json& spec) {
  std::string error;
  std::optional<BusinessHours> hours = BusinessHours::parse(spec, &error);
  EXPECT_TRUE(hours.has_value()) << error;
  return hours.value_or(BusinessHours{});
}

TEST(BusinessHoursTest, JakartaShopHours) {
  BusinessHours shop =
      parse({{"days", "mon-sat"}, {"from", "08:00"}, {"to", "20:00"}, {"tz", "Asia/Jakarta"}});
  EXPECT_EQ(shop.timeZone(), "Asia/Jakarta");
  const TimeZone& jakarta = zone("Asia/Jakarta");
  EXPECT_TRUE(shop.isOpen(at(2025, 6, 16, 1, 0), jakarta));    // Mon 08:00 WIB
  EXPECT_FALSE(shop.isOpen(at(2025, 6, 16, 0, 59), jakarta));  // Mon 07:59
  EXPECT_TRUE(shop.isOpen(at(2025, 6, 16, 12, 59), jakarta));  // Mon 19:59
  EXPECT_FALSE(shop.isOpen(at(2025, 6, 16, 13, 0), jakarta));  // Mon 20:00
  EXPECT_TRUE(shop.isOpen(at(2025, 6, 21, 5, 0), jakarta));    // Sat 12:00
  EXPECT_FALSE(shop.isOpen(at(2025, 6, 22, 5, 0), jakarta));   // Sun 12:00
  // The same instant in UTC is a different answer: Mon 01:00 UTC is before opening.
  EXPECT_FALSE(shop.isOpen(at(2025, 6, 16, 1, 0), zone("UTC")));
}

TEST(BusinessHoursTest, WeeklyScheduleOvernightAndHolidays) {
  BusinessHours hours = parse({{"senin", {"08:00-12:00", "13:00-17:00"}},
                               {"fri", "22:00-02:00"},
                               {"sun", "closed"},
                               {"holidays", {"2025-08-18"}}});
  const TimeZone& utc = zone("UTC");
  EXPECT_TRUE(hours.isOpen(at(2025, 6, 16, 9), utc));        // Mon morning
  EXPECT_FALSE(hours.isOpen(at(2025, 6, 16, 12, 30), utc));  // lunch
  EXPECT_TRUE(hours.isOpen(at(2025, 6, 16, 16, 59), utc));
  EXPECT_TRUE(hours.isOpen(at(2025, 6, 20, 23), utc));     // Fri night
  EXPECT_TRUE(hours.isOpen(at(2025, 6, 21, 1, 30), utc));  // past midnight into Saturday
  EXPECT_FALSE(hours.isOpen(at(2025, 6, 21, 2), utc));
  EXPECT_FALSE(hours.isOpen(at(2025, 6, 22, 10), utc));  // Sunday closed
  EXPECT_FALSE(hours.isOpen(at(2025, 8, 18, 9), utc));   // a Monday holiday
  EXPECT_TRUE(hours.isOpen(at(2026, 8, 17, 9), utc));    // a Monday; not a holiday in 2026
  BusinessHours yearly =
      parse({{"days", "daily"}, {"from", "08:00"}, {"to", "17:00"}, {"holidays", {"08-17"}}});
  EXPECT_FALSE(yearly.isOpen(at(2026, 8, 17, 9), utc));  // "08-17": every year
  EXPECT_FALSE(yearly.isOpen(at(2031, 8, 17, 9), utc));
  EXPECT_TRUE(yearly.isOpen(at(2031, 8, 18, 9), utc));
  BusinessHours all_day = parse({{"days", "daily"}, {"from", "00:00"}, {"to", "24:00"}});
  EXPECT_TRUE(all_day.isOpen(at(2025, 6, 22, 23, 59), utc));
}

TEST(BusinessHoursTest, MistakesAreExplained) {
  auto error = [](const nlohmann::json& spec) {
    std::string why;
    EXPECT_FALSE(BusinessHours::parse(spec, &why).has_value()) << spec.dump();
    return why;
  };
  EXPECT_NE(error({{"days", "mon-sat"}, {"from", "8am"}, {"to", "17:00"}})
                .find("times must look like \"08:00\""),
            std::string::npos);
  EXPECT_NE(error({{"days", "weekdays"}, {"from", "08:00"}, {"to", "17:00"}})
                .find("'weekdays' in 'days' is not a day or range of days"),
            std::string::npos);
  EXPECT_NE(error({{"dayz", "mon"}}).find("unknown field 'dayz'"), std::string::npos);
  EXPECT_NE(error({{"mon", "08:00-08:00"}}).find("opens and closes at the same time"),
            std::string::npos);
  EXPECT_NE(error({{"mon", "08:00-12:00"}, {"senin", "09:00-12:00"}})
                .find("'mon' and 'senin' name the same day"),
            std::string::npos);
  EXPECT_NE(error({{"from", "08:00"}}).find("'from' and 'to' go together"), std::string::npos);
  EXPECT_NE(error({{"mon", "9-5"}}).find("times must look like"), std::string::npos);
  EXPECT_NE(error({{"holidays", {"25/12/2025"}}}).find("is not a date like"), std::string::npos);
  EXPECT_NE(error({{"holidays", {"12-25-"}}}).find("is not a date like"), std::string::npos);
  EXPECT_NE(error("mon-fri").find("must be a table"), std::string::npos);
}

}  // namespace
}  // namespace waflow::core::time
