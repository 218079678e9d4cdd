#include "config/units.h"

#include <gtest/gtest.h>

namespace waflow::core::config {
namespace {

int64_t duration(std::string_view text) {
  ParsedQuantity parsed = parseDuration(text);
  EXPECT_TRUE(parsed.value.has_value()) << text << ": " << parsed.error;
  return parsed.value.value_or(-1);
}

int64_t size(std::string_view text) {
  ParsedQuantity parsed = parseSize(text);
  EXPECT_TRUE(parsed.value.has_value()) << text << ": " << parsed.error;
  return parsed.value.value_or(-1);
}

TEST(ParseDuration, AcceptsUnitsAndCombinations) {
  EXPECT_EQ(duration("250ms"), 250);
  EXPECT_EQ(duration("30s"), 30'000);
  EXPECT_EQ(duration("5m"), 300'000);
  EXPECT_EQ(duration("1h"), 3'600'000);
  EXPECT_EQ(duration("1h30m"), 5'400'000);
  EXPECT_EQ(duration("1h 30m"), 5'400'000);
  EXPECT_EQ(duration("2d"), 172'800'000);
  EXPECT_EQ(duration("1s500ms"), 1'500);
  EXPECT_EQ(duration("1.5h"), 5'400'000);
  EXPECT_EQ(duration("10 s"), 10'000);
  EXPECT_EQ(duration("0"), 0);
}

TEST(ParseDuration, RejectsWithReasonAndHint) {
  ParsedQuantity no_unit = parseDuration("30");
  EXPECT_FALSE(no_unit.value);
  EXPECT_EQ(no_unit.error, "'30' has no unit");
  EXPECT_EQ(no_unit.hint, "write a number with a unit: 250ms, 30s, 5m, 1h, 1h30m or 2d");
  EXPECT_EQ(parseDuration("10 seconds").error, "'10 seconds' has an unknown unit 'seconds'");
  EXPECT_EQ(parseDuration("5x").error, "'5x' has an unknown unit 'x'");
  EXPECT_EQ(parseDuration("soon").error, "'soon' is not a duration");
  EXPECT_EQ(parseDuration("-5s").error, "'-5s' is not a duration");
  EXPECT_EQ(parseDuration("").error, "the duration is empty");
  EXPECT_FALSE(parseDuration("99999999999999d").value);
}

TEST(ParseSize, AcceptsDecimalAndBinaryUnitsCaseInsensitively) {
  EXPECT_EQ(size("512"), 512);
  EXPECT_EQ(size("512B"), 512);
  EXPECT_EQ(size("64KB"), 64'000);
  EXPECT_EQ(size("64KiB"), 65'536);
  EXPECT_EQ(size("1MB"), 1'000'000);
  EXPECT_EQ(size("1MiB"), 1'048'576);
  EXPECT_EQ(size("1mib"), 1'048'576);
  EXPECT_EQ(size("2GB"), 2'000'000'000);
  EXPECT_EQ(size("1GiB"), 1'073'741'824);
  EXPECT_EQ(size("1.5KB"), 1'500);
  EXPECT_EQ(size("10 MB"), 10'000'000);
}

TEST(ParseSize, RejectsAmbiguousAndUnknownUnits) {
  ParsedQuantity ambiguous = parseSize("1M");
  EXPECT_FALSE(ambiguous.value);
  EXPECT_EQ(ambiguous.error, "'1M' has an ambiguous unit 'M'");
  EXPECT_EQ(ambiguous.hint, "write KB/MB/GB for powers of 1000, KiB/MiB/GiB for powers of 1024");
  EXPECT_EQ(parseSize("1 m").error, "'1 m' has an ambiguous unit 'm'");
  EXPECT_EQ(parseSize("5XB").error, "'5XB' has an unknown unit 'XB'");
  EXPECT_EQ(parseSize("big").error, "'big' is not a size");
  EXPECT_EQ(parseSize("0.5B").error, "'0.5B' is not a whole number of bytes");
}

TEST(FormatUnits, PrintsShortestExactSpelling) {
  EXPECT_EQ(formatDuration(5'400'000), "1h30m");
  EXPECT_EQ(formatDuration(1'500), "1s500ms");
  EXPECT_EQ(formatDuration(0), "0s");
  EXPECT_EQ(formatDuration(86'400'000), "1d");
  EXPECT_EQ(formatSize(1'048'576), "1MiB");
  EXPECT_EQ(formatSize(64'000), "64KB");
  EXPECT_EQ(formatSize(1024), "1KiB");
  EXPECT_EQ(formatSize(7), "7B");
}

}  // namespace
}  // namespace waflow::core::config
