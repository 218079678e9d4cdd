#include "config/units.h"

#include "text/ascii.h"

#include <array>
#include <cctype>
#include <cmath>
#include <utility>

namespace waflow::core::config {
namespace {

using text::lowerAscii;

// ASCII white space around a value, as std::isspace sees it.
std::string_view trim(std::string_view text) {
  return text::trimSpace(text, text::kWhitespaceChars);
}

constexpr std::string_view kDurationHint =
    "write a number with a unit: 250ms, 30s, 5m, 1h, 1h30m or 2d";
constexpr std::string_view kSizeHint =
    "write a number of bytes, optionally with a unit: 512, 64KB, 64KiB, 1MB, 1MiB, 2GB";
// Larger values cannot be represented exactly in a double, and nobody needs them.
constexpr double kMaxQuantity = 9.0e15;

bool isDigit(char c) {
  return c >= '0' && c <= '9';
}

// Reads digits with an optional fraction at `pos`; returns false if there is no digit.
bool readNumber(std::string_view text, size_t& pos, double& number) {
  const size_t start = pos;
  while (pos < text.size() && isDigit(text[pos])) {
    ++pos;
  }
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    while (pos < text.size() && isDigit(text[pos])) {
      ++pos;
    }
  }
  const std::string digits(text.substr(start, pos - start));
  if (digits.empty() || digits == "." || !isDigit(digits[0])) {
    pos = start;
    return false;
  }
  number = std::strtod(digits.c_str(), nullptr);
  return true;
}

ParsedQuantity fail(std::string error, std::string_view hint) {
  ParsedQuantity out;
  out.error = std::move(error);
  out.hint = std::string(hint);
  return out;
}

}  // namespace

ParsedQuantity parseDuration(std::string_view raw) {
  const std::string_view text = trim(raw);
  const std::string quoted = "'" + std::string(raw) + "'";
  if (text.empty()) {
    return fail("the duration is empty", kDurationHint);
  }
  if (text == "0") {
    return ParsedQuantity{0, {}, {}};
  }
  double total = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    double number = 0;
    if (!readNumber(text, pos, number)) {
      return fail(quoted + " is not a duration", kDurationHint);
    }
    // "10 s" and "1h 30m" read fine too.
    while (pos < text.size() && text[pos] == ' ') {
      ++pos;
    }
    const size_t unit_start = pos;
    while (pos < text.size() && std::isalpha(static_cast<unsigned char>(text[pos]))) {
      ++pos;
    }
    const std::string unit = lowerAscii(text.substr(unit_start, pos - unit_start));
    double scale = 0;
    if (unit == "ms") {
      scale = 1;
    } else if (unit == "s") {
      scale = 1000;
    } else if (unit == "m") {
      scale = 60'000;
    } else if (unit == "h") {
      scale = 3'600'000;
    } else if (unit == "d") {
      scale = 86'400'000;
    } else if (unit.empty()) {
      return fail(quoted + " has no unit", kDurationHint);
    } else {
      return fail(quoted + " has an unknown unit '" + unit + "'", kDurationHint);
    }
    total += number * scale;
    while (pos < text.size() && text[pos] == ' ') {
      ++pos;
    }
  }
  if (total > kMaxQuantity) {
    return fail(quoted + " is too long", kDurationHint);
  }
  return ParsedQuantity{std::llround(total), {}, {}};
}

ParsedQuantity parseSize(std::string_view raw) {
  const std::string_view text = trim(raw);
  const std::string quoted = "'" + std::string(raw) + "'";
  if (text.empty()) {
    return fail("the size is empty", kSizeHint);
  }
  size_t pos = 0;
  double number = 0;
  if (!readNumber(text, pos, number)) {
    return fail(quoted + " is not a size", kSizeHint);
  }
  const std::string unit = lowerAscii(trim(text.substr(pos)));
  static const std::array<std::pair<std::string_view, double>, 10> kUnits = {{
      {"", 1},
      {"b", 1},
      {"kb", 1e3},
      {"mb", 1e6},
      {"gb", 1e9},
      {"tb", 1e12},
      {"kib", 1024.0},
      {"mib", 1024.0 * 1024},
      {"gib", 1024.0 * 1024 * 1024},
      {"tib", 1024.0 * 1024 * 1024 * 1024},
  }};
  double scale = 0;
  for (const auto& [name, factor] : kUnits) {
    if (unit == name) {
      scale = factor;
    }
  }
  if (scale == 0) {
    if (unit == "k" || unit == "m" || unit == "g" || unit == "t") {
      return fail(quoted + " has an ambiguous unit '" + std::string(trim(text.substr(pos))) + "'",
                  "write KB/MB/GB for powers of 1000, KiB/MiB/GiB for powers of 1024");
    }
    return fail(quoted + " has an unknown unit '" + std::string(trim(text.substr(pos))) + "'",
                kSizeHint);
  }
  const double bytes = number * scale;
  if (bytes > kMaxQuantity) {
    return fail(quoted + " is too large", kSizeHint);
  }
  if (bytes != std::floor(bytes)) {
    return fail(quoted + " is not a whole number of bytes", kSizeHint);
  }
  return ParsedQuantity{static_cast<int64_t>(bytes), {}, {}};
}

std::string formatDuration(int64_t milliseconds) {
  if (milliseconds == 0) {
    return "0s";
  }
  std::string out;
  if (milliseconds < 0) {
    out = "-";
    milliseconds = -milliseconds;
  }
  static const std::array<std::pair<int64_t, std::string_view>, 5> kParts = {{
      {86'400'000, "d"},
      {3'600'000, "h"},
      {60'000, "m"},
      {1000, "s"},
      {1, "ms"},
  }};
  for (const auto& [scale, unit] : kParts) {
    if (milliseconds >= scale) {
      out += std::to_string(milliseconds / scale);
      out += unit;
      milliseconds %= scale;
    }
  }
  return out;
}

std::string formatSize(int64_t bytes) {
  static const std::array<std::pair<int64_t, std::string_view>, 8> kUnits = {{
      {int64_t{1} << 40, "TiB"},
      {1'000'000'000'000, "TB"},
      {int64_t{1} << 30, "GiB"},
      {1'000'000'000, "GB"},
      {int64_t{1} << 20, "MiB"},
      {1'000'000, "MB"},
      {1024, "KiB"},
      {1000, "KB"},
  }};
  if (bytes != 0) {
    for (const auto& [scale, unit] : kUnits) {
      if (bytes % scale == 0) {
        return std::to_string(bytes / scale) + std::string(unit);
      }
    }
  }
  return std::to_string(bytes) + "B";
}

}  // namespace waflow::core::config
