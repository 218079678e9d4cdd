#include "time/time_zone.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>

namespace waflow::core::time {

namespace {

namespace chr = std::chrono;

constexpr int64_t kSecondsPerDay = 86400;

int64_t floorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) {
    --q;
  }
  return q;
}

bool isLeap(int year) {
  return chr::year{year}.is_leap();
}

// Big-endian reader over the TZif bytes; throws on truncation.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  size_t pos() const { return pos_; }
  void skip(size_t n) {
    need(n);
    pos_ += n;
  }
  uint8_t u8() {
    need(1);
    return static_cast<uint8_t>(data_[pos_++]);
  }
  int64_t be(int bytes) {
    need(static_cast<size_t>(bytes));
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) {
      v = (v << 8) | static_cast<uint8_t>(data_[pos_++]);
    }
    if (bytes == 4) {
      return static_cast<int32_t>(static_cast<uint32_t>(v));
    }
    return static_cast<int64_t>(v);
  }
  std::string_view rest() const { return data_.substr(pos_); }

 private:
  void need(size_t n) const {
    if (data_.size() - pos_ < n) {
      throw std::runtime_error("truncated TZif data");
    }
  }
  std::string_view data_;
  size_t pos_ = 0;
};

struct Header {
  char version = 0;
  int64_t isutcnt = 0, isstdcnt = 0, leapcnt = 0, timecnt = 0, typecnt = 0, charcnt = 0;
};

Header readHeader(Reader& r) {
  if (r.u8() != 'T' || r.u8() != 'Z' || r.u8() != 'i' || r.u8() != 'f') {
    throw std::runtime_error("not a TZif file");
  }
  Header h;
  h.version = static_cast<char>(r.u8());
  r.skip(15);
  h.isutcnt = r.be(4);
  h.isstdcnt = r.be(4);
  h.leapcnt = r.be(4);
  h.timecnt = r.be(4);
  h.typecnt = r.be(4);
  h.charcnt = r.be(4);
  if (h.typecnt <= 0 || h.timecnt < 0 || h.leapcnt < 0 || h.charcnt < 0 || h.isutcnt < 0 ||
      h.isstdcnt < 0 || h.typecnt > 256) {
    throw std::runtime_error("malformed TZif header");
  }
  return h;
}

// Parses "[+-]hh[:mm[:ss]]" at `s`, advancing it. Returns seconds.
bool parseClock(std::string_view& s, int& out) {
  int sign = 1;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    sign = s[0] == '-' ? -1 : 1;
    s.remove_prefix(1);
  }
  int parts[3] = {0, 0, 0};
  for (int i = 0; i < 3; ++i) {
    if (i > 0) {
      if (s.empty() || s[0] != ':') {
        break;
      }
      s.remove_prefix(1);
    }
    if (s.empty() || s[0] < '0' || s[0] > '9') {
      return false;
    }
    int v = 0;
    while (!s.empty() && s[0] >= '0' && s[0] <= '9') {
      v = v * 10 + (s[0] - '0');
      s.remove_prefix(1);
      if (v > 1000) {
        return false;
      }
    }
    parts[i] = v;
  }
  out = sign * (parts[0] * 3600 + parts[1] * 60 + parts[2]);
  return true;
}

bool parseAbbreviation(std::string_view& s) {
  if (!s.empty() && s[0] == '<') {
    size_t end = s.find('>');
    if (end == std::string_view::npos) {
      return false;
    }
    s.remove_prefix(end + 1);
    return true;
  }
  size_t n = 0;
  while (n < s.size() && ((s[n] >= 'A' && s[n] <= 'Z') || (s[n] >= 'a' && s[n] <= 'z'))) {
    ++n;
  }
  if (n < 3) {
    return false;
  }
  s.remove_prefix(n);
  return true;
}

bool parseInt(std::string_view& s, int& out) {
  if (s.empty() || s[0] < '0' || s[0] > '9') {
    return false;
  }
  out = 0;
  while (!s.empty() && s[0] >= '0' && s[0] <= '9') {
    out = out * 10 + (s[0] - '0');
    s.remove_prefix(1);
    if (out > 100000) {
      return false;
    }
  }
  return true;
}

bool validZoneName(std::string_view name) {
  if (name.empty() || name.size() > 255 || name[0] == '/' || name.find("..") != name.npos) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '/' ||
           c == '_' || c == '-' || c == '+' || c == '.';
  });
}

}  // namespace

TimeZone::TimeZone(std::string name, std::string_view tzif) : name_(std::move(name)) {
  if (tzif.empty()) {
    posix_ = parsePosix("UTC0");
    return;
  }
  Reader r(tzif);
  Header h = readHeader(r);
  int time_size = 4;
  if (h.version >= '2') {
    // Skip the 32-bit block; the 64-bit one after the second header covers all instants.
    r.skip(static_cast<size_t>(h.timecnt * 5 + h.typecnt * 6 + h.charcnt + h.leapcnt * 8 +
                               h.isstdcnt + h.isutcnt));
    h = readHeader(r);
    time_size = 8;
  }
  transitions_.reserve(static_cast<size_t>(h.timecnt));
  for (int64_t i = 0; i < h.timecnt; ++i) {
    transitions_.push_back(r.be(time_size));
  }
  for (int64_t i = 0; i < h.timecnt; ++i) {
    uint8_t t = r.u8();
    if (t >= h.typecnt) {
      throw std::runtime_error("TZif transition refers to an unknown type");
    }
    transition_types_.push_back(t);
  }
  for (int64_t i = 0; i < h.typecnt; ++i) {
    Type type;
    type.offset = static_cast<int>(r.be(4));
    type.dst = r.u8() != 0;
    r.u8();  // abbreviation index
    types_.push_back(type);
  }
  r.skip(static_cast<size_t>(h.charcnt + h.leapcnt * (time_size + 4) + h.isstdcnt + h.isutcnt));
  if (time_size == 8) {
    std::string_view footer = r.rest();
    if (footer.size() >= 2 && footer[0] == '\n') {
      footer.remove_prefix(1);
      footer = footer.substr(0, footer.find('\n'));
      posix_ = parsePosix(footer);
    }
  }
}

TimeZone::Posix TimeZone::parsePosix(std::string_view s) {
  Posix p;
  if (!parseAbbreviation(s)) {
    return p;
  }
  int offset = 0;
  if (!parseClock(s, offset)) {
    return p;
  }
  p.standard = Type{-offset, false};
  p.valid = true;
  if (s.empty()) {
    return p;
  }
  if (!parseAbbreviation(s)) {
    p.valid = false;
    return p;
  }
  p.has_dst = true;
  p.daylight = Type{p.standard.offset + 3600, true};
  if (!s.empty() && s[0] != ',') {
    if (!parseClock(s, offset)) {
      p.valid = false;
      return p;
    }
    p.daylight.offset = -offset;
  }
  // POSIX leaves the default rule to the implementation; US rules are what glibc uses.
  std::string_view rules = s.empty() ? std::string_view(",M3.2.0,M11.1.0") : s;
  auto parseRule = [&](Rule& rule) {
    if (rules.empty() || rules[0] != ',') {
      return false;
    }
    rules.remove_prefix(1);
    if (!rules.empty() && rules[0] == 'J') {
      rules.remove_prefix(1);
      rule.form = Rule::Form::kJulian1;
      if (!parseInt(rules, rule.day) || rule.day < 1 || rule.day > 365) {
        return false;
      }
    } else if (!rules.empty() && rules[0] == 'M') {
      rules.remove_prefix(1);
      rule.form = Rule::Form::kMonthWeekDay;
      if (!parseInt(rules, rule.month) || rules.empty() || rules[0] != '.') {
        return false;
      }
      rules.remove_prefix(1);
      if (!parseInt(rules, rule.week) || rules.empty() || rules[0] != '.') {
        return false;
      }
      rules.remove_prefix(1);
      if (!parseInt(rules, rule.day)) {
        return false;
      }
      if (rule.month < 1 || rule.month > 12 || rule.week < 1 || rule.week > 5 || rule.day > 6) {
        return false;
      }
    } else {
      rule.form = Rule::Form::kJulian0;
      if (!parseInt(rules, rule.day) || rule.day > 365) {
        return false;
      }
    }
    rule.time = 7200;
    if (!rules.empty() && rules[0] == '/') {
      rules.remove_prefix(1);
      if (!parseClock(rules, rule.time)) {
        return false;
      }
    }
    return true;
  };
  if (!parseRule(p.start) || !parseRule(p.end)) {
    p.valid = false;
  }
  return p;
}

int64_t TimeZone::ruleInstant(const Rule& rule, int year) {
  int64_t days = 0;
  switch (rule.form) {
    case Rule::Form::kJulian1:
      days = daysFromCivil(year, 1, 1) + rule.day - 1 + ((isLeap(year) && rule.day >= 60) ? 1 : 0);
      break;
    case Rule::Form::kJulian0:
      days = daysFromCivil(year, 1, 1) + rule.day;
      break;
    case Rule::Form::kMonthWeekDay: {
      chr::year_month ym = chr::year{year} / chr::month{static_cast<unsigned>(rule.month)};
      chr::weekday wd{static_cast<unsigned>(rule.day)};
      chr::sys_days date = rule.week == 5
                               ? chr::sys_days{ym / chr::weekday_last{wd}}
                               : chr::sys_days{ym / wd[static_cast<unsigned>(rule.week)]};
      days = date.time_since_epoch().count();
      break;
    }
  }
  return days * kSecondsPerDay + rule.time;
}

TimeZone::Type TimeZone::lookupPosix(int64_t t) const {
  if (!posix_.has_dst) {
    return posix_.standard;
  }
  int64_t local_days = floorDiv(t + posix_.standard.offset, kSecondsPerDay);
  int year = static_cast<int>(chr::year_month_day{chr::sys_days{chr::days{local_days}}}.year());
  int64_t start = ruleInstant(posix_.start, year) - posix_.standard.offset;
  int64_t end = ruleInstant(posix_.end, year) - posix_.daylight.offset;
  bool dst = start < end ? (t >= start && t < end) : !(t >= end && t < start);
  return dst ? posix_.daylight : posix_.standard;
}

TimeZone::Type TimeZone::lookup(int64_t t) const {
  if (transitions_.empty() || t >= transitions_.back()) {
    if (posix_.valid) {
      return lookupPosix(t);
    }
    if (transitions_.empty()) {
      return types_.empty() ? Type{} : types_.front();
    }
    return types_[transition_types_.back()];
  }
  if (t < transitions_.front()) {
    // RFC 8536: local time type 0 applies before the first transition.
    return types_.front();
  }
  auto it = std::upper_bound(transitions_.begin(), transitions_.end(), t);
  size_t index = static_cast<size_t>(it - transitions_.begin()) - 1;
  return types_[transition_types_[index]];
}

LocalTime TimeZone::toLocal(int64_t unix_seconds) const {
  Type type = lookup(unix_seconds);
  int64_t local = unix_seconds + type.offset;
  int64_t days = floorDiv(local, kSecondsPerDay);
  LocalTime out;
  static_cast<CivilTime&>(out) = civilFromSeconds(local);
  out.weekday = static_cast<int>(chr::weekday{chr::sys_days{chr::days{days}}}.iso_encoding());
  out.yearday = static_cast<int>(days - daysFromCivil(out.year, 1, 1) + 1);
  out.utc_offset_seconds = type.offset;
  out.dst = type.dst;
  return out;
}

const TimeZone* TimeZone::locate(std::string_view name, std::string* error) {
  static std::mutex mutex;
  static std::map<std::string, std::unique_ptr<TimeZone>, std::less<>> zones;
  std::lock_guard<std::mutex> lock(mutex);
  if (auto it = zones.find(name); it != zones.end()) {
    return it->second.get();
  }
  if (!validZoneName(name)) {
    *error = "'" + std::string(name) +
             "' is not a time zone name; use an IANA name such as Asia/Jakarta or UTC";
    return nullptr;
  }
  const char* dir = std::getenv("TZDIR");
  std::string path = std::string(dir != nullptr && *dir != '\0' ? dir : "/usr/share/zoneinfo") +
                     "/" + std::string(name);
  std::ifstream in(path, std::ios::binary);
  std::string data;
  if (in) {
    std::ostringstream buffer;
    buffer << in.rdbuf();
    data = buffer.str();
  }
  if (data.empty() && name != "UTC" && name != "Etc/UTC") {
    *error = "unknown time zone '" + std::string(name) +
             "'; use an IANA name such as Asia/Jakarta or UTC (looked in " + path + ")";
    return nullptr;
  }
  try {
    auto zone = std::make_unique<TimeZone>(std::string(name), data);
    const TimeZone* result = zone.get();
    zones.emplace(std::string(name), std::move(zone));
    return result;
  } catch (const std::exception& e) {
    *error = "time zone '" + std::string(name) + "' (" + path + ") cannot be read: " + e.what();
    return nullptr;
  }
}

}  // namespace waflow::core::time
