// BusinessHours: a weekly opening schedule with holidays, checked against an instant in a time
// zone. Parsed from the same shape in flow conditions (YAML) and in Lua rules (a table):
//   { days = "mon-sat", from = "08:00", to = "20:00", tz = "Asia/Jakarta" }
//   { mon = "08:00-17:00", sat = {"09:00-12:00", "13:00-15:00"}, sun = "closed",
//     holidays = {"2025-12-25", "08-17"} }   ("MM-DD": the same day every year)
// Day names are English (mon, monday) or Indonesian (senin .. minggu). A range whose end is
// before its start runs past midnight ("22:00-02:00"); "00:00-24:00" is the whole day.
//
// Thread-safety: immutable after parse(); safe to share.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "time/time_zone.h"

namespace waflow::core::time {

class BusinessHours {
 public:
  // The schedule in `spec`, or nullopt with `*error` naming the offending field and value.
  static std::optional<BusinessHours> parse(const nlohmann::json& spec, std::string* error);

  // Whether the business is open at this wall-clock time (minute resolution).
  bool isOpen(const LocalTime& local) const;
  bool isOpen(int64_t unix_seconds, const TimeZone& zone) const {
    return isOpen(zone.toLocal(unix_seconds));
  }
  // The schedule's own `tz` (or `timezone`) field; "" when it has none.
  const std::string& timeZone() const { return time_zone_; }

 private:
  struct Range {
    int from = 0;  // minutes after midnight
    int to = 0;    // minutes after midnight, up to 1440; to < from runs past midnight
  };
  using Week = std::array<std::vector<Range>, 7>;
  // The parts of parse(): each is false, with *error set, when its part of the spec is wrong.
  static bool parseWeekly(const nlohmann::json& spec, Week& days, std::string* error);
  static bool parseDayKeys(const nlohmann::json& spec, Week& days, std::string* error);
  static bool parseDayKey(const std::string& key, const nlohmann::json& value,
                          std::vector<Range>& ranges, std::string* error);
  static bool parseHolidays(const nlohmann::json& spec, std::vector<int>& holidays,
                            std::string* error);
  static bool addRange(std::vector<Range>& ranges, int from, int to, const std::string& what,
                       std::string* error);
  static bool parseRangeText(std::vector<Range>& ranges, std::string_view text,
                             const std::string& what, std::string* error);

  std::array<std::vector<Range>, 7> days_;  // 0 = Monday
  std::vector<int> holidays_;               // yyyymmdd, sorted
  std::string time_zone_;
};

}  // namespace waflow::core::time
