// Parsing of the clock, date and weekday spellings of flow files, and the tz database check; see
// time_check.h.
//
// Thread-safety: pure functions (checkTimeZone reads the file system).
#include "time/time_check.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

#include "diag/closest_match.h"
#include "text/ascii.h"

namespace waflow::core::time {
namespace {

using text::lowerAscii;

// ASCII white space around a value, as std::isspace sees it.
std::string_view trim(std::string_view text) {
  return text::trimSpace(text, text::kWhitespaceChars);
}

// Parses exactly `width` digits at `text[pos]`.
std::optional<int> digits(std::string_view text, size_t pos, size_t width) {
  if (pos + width > text.size()) {
    return std::nullopt;
  }
  int value = 0;
  for (size_t i = pos; i < pos + width; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) {
      return std::nullopt;
    }
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

// Day names, English and Indonesian, by weekday number (0 = Sunday).
int dayNumber(std::string_view name) {
  static const std::array<std::array<const char*, 4>, 7> kNames = {{
      {"sun", "sunday", "min", "minggu"},
      {"mon", "monday", "sen", "senin"},
      {"tue", "tuesday", "sel", "selasa"},
      {"wed", "wednesday", "rab", "rabu"},
      {"thu", "thursday", "kam", "kamis"},
      {"fri", "friday", "jum", "jumat"},
      {"sat", "saturday", "sab", "sabtu"},
  }};
  const std::string key = lowerAscii(name);
  for (int d = 0; d < 7; ++d) {
    for (const char* candidate : kNames[d]) {
      if (key == candidate) {
        return d;
      }
    }
  }
  if (key == "jum'at") {
    return 5;
  }
  return -1;
}

std::string zoneDir() {
  if (const char* dir = std::getenv("TZDIR"); dir != nullptr && *dir != '\0') {
    return dir;
  }
  return "/usr/share/zoneinfo";
}

bool isTzif(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return false;
  }
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  in.read(magic, 4);
  return in.gcount() == 4 && std::string_view(magic, 4) == "TZif";
}

}  // namespace

std::optional<int> parseClock(std::string_view text, bool allow_24) {
  text = trim(text);
  if (text.size() != 5 || text[2] != ':') {
    return std::nullopt;
  }
  const std::optional<int> hour = digits(text, 0, 2);
  const std::optional<int> minute = digits(text, 3, 2);
  if (!hour || !minute || *minute > 59) {
    return std::nullopt;
  }
  if (*hour == 24 && *minute == 0 && allow_24) {
    return 1440;
  }
  if (*hour > 23) {
    return std::nullopt;
  }
  return *hour * 60 + *minute;
}

std::optional<CivilTime> parseDate(std::string_view text) {
  text = trim(text);
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') {
    return std::nullopt;
  }
  const std::optional<int> year = digits(text, 0, 4);
  const std::optional<int> month = digits(text, 5, 2);
  const std::optional<int> day = digits(text, 8, 2);
  if (!year || !month || !day || *month < 1 || *month > 12 || *day < 1 ||
      *day > daysInMonth(*year, *month)) {
    return std::nullopt;
  }
  CivilTime out;
  out.year = *year;
  out.month = *month;
  out.day = *day;
  return out;
}

std::optional<CivilTime> parseDateTime(std::string_view text) {
  text = trim(text);
  if (text.size() < 16 || (text[10] != ' ' && text[10] != 'T')) {
    return std::nullopt;
  }
  std::optional<CivilTime> date = parseDate(text.substr(0, 10));
  const std::optional<int> clock = parseClock(text.substr(11, 5), false);
  if (!date || !clock) {
    return std::nullopt;
  }
  date->hour = *clock / 60;
  date->minute = *clock % 60;
  if (text.size() == 16) {
    return date;
  }
  const std::optional<int> second = digits(text, 17, 2);
  if (text.size() != 19 || text[16] != ':' || !second || *second > 59) {
    return std::nullopt;
  }
  date->second = *second;
  return date;
}

std::optional<uint8_t> parseDays(std::string_view text, std::string* error) {
  const std::string all = lowerAscii(trim(text));
  if (all == "daily" || all == "every day" || all == "setiap hari") {
    return 0x7F;
  }
  if (all == "weekdays") {
    return 0x3E;
  }
  if (all == "weekends") {
    return 0x41;
  }
  uint8_t days = 0;
  size_t start = 0;
  while (start <= all.size()) {
    size_t comma = all.find(',', start);
    if (comma == std::string::npos) {
      comma = all.size();
    }
    const std::string_view part = trim(std::string_view(all).substr(start, comma - start));
    start = comma + 1;
    if (part.empty()) {
      *error = "empty day in '" + std::string(text) + "'";
      return std::nullopt;
    }
    const size_t dash = part.find('-');
    const std::string_view first = trim(part.substr(0, dash));
    const int from = dayNumber(first);
    if (from < 0) {
      *error = "'" + std::string(first) + "' is not a day name";
      return std::nullopt;
    }
    int to = from;
    if (dash != std::string_view::npos) {
      const std::string_view second = trim(part.substr(dash + 1));
      to = dayNumber(second);
      if (to < 0) {
        *error = "'" + std::string(second) + "' is not a day name";
        return std::nullopt;
      }
    }
    for (int d = from;; d = (d + 1) % 7) {
      days = static_cast<uint8_t>(days | (1U << d));
      if (d == to) {
        break;
      }
    }
  }
  return days;
}

TimeZoneCheck checkTimeZone(std::string_view name) {
  TimeZoneCheck check;
  const std::string quoted = "'" + std::string(name) + "'";
  const std::string upper_name = [&] {
    std::string u(name);
    std::transform(u.begin(), u.end(), u.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return u;
  }();
  if (upper_name == "WIB") {
    check.error = quoted + " is an abbreviation, not a time zone name";
    check.hint = "write Asia/Jakarta";
    return check;
  }
  if (upper_name == "WITA") {
    check.error = quoted + " is an abbreviation, not a time zone name";
    check.hint = "write Asia/Makassar";
    return check;
  }
  if (upper_name == "WIT") {
    check.error = quoted + " is an abbreviation, not a time zone name";
    check.hint = "write Asia/Jayapura";
    return check;
  }
  // Names are path components under the zone directory: refuse anything that could escape it.
  const bool safe = !name.empty() && name.front() != '/' &&
                    name.find("..") == std::string_view::npos &&
                    std::all_of(name.begin(), name.end(), [](char c) {
                      return std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '_' ||
                             c == '-' || c == '+';
                    });
  const std::filesystem::path dir = zoneDir();
  if (safe && isTzif(dir / std::string(name))) {
    check.known = true;
    return check;
  }
  check.error = quoted + " is not a time zone in the tz database (" + dir.string() + ")";
  if (upper_name.rfind("GMT", 0) == 0 || upper_name.rfind("UTC+", 0) == 0 ||
      upper_name.rfind("UTC-", 0) == 0) {
    check.hint =
        "write a region name such as Asia/Jakarta; for a fixed offset use Etc/GMT-7 "
        "for UTC+7 (the sign is reversed)";
    return check;
  }
  // Suggest a close name from the same region folder (or the top level).
  const std::string text(name);
  const size_t slash = text.rfind('/');
  const std::string region = slash == std::string::npos ? "" : text.substr(0, slash);
  std::vector<std::string> candidates;
  std::error_code ec;
  const std::filesystem::path search = region.empty() ? dir : dir / region;
  if (safe || !region.empty()) {
    for (const auto& entry : std::filesystem::directory_iterator(search, ec)) {
      if (entry.is_regular_file(ec)) {
        candidates.push_back(region.empty() ? entry.path().filename().string()
                                            : region + "/" + entry.path().filename().string());
      }
    }
  }
  std::sort(candidates.begin(), candidates.end());
  if (std::string match = diag::closestMatch(text, candidates); !match.empty()) {
    check.hint = "did you mean '" + match + "'?";
  } else {
    check.hint = "use a name such as Asia/Jakarta, Asia/Makassar, Asia/Jayapura or UTC";
  }
  return check;
}

}  // namespace waflow::core::time
