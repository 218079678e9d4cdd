// parseBounded: depth and size limits with the byte offset of the problem.
#include "json/bounded_parse.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace waflow::core::json_input {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string nested(std::size_t depth, char open = '[', char close = ']') {
  return std::string(depth, open) + std::string(depth, close);
}

TEST(BoundedParse, ParsesOrdinaryDocuments) {
  BoundedJson r = parseBounded(R"({"event":"paid","data":{"items":[1,[2,[3]]]}})");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.value["data"]["items"][1][1][0], 3);
}

TEST(BoundedParse, AcceptsExactlyTheMaximumDepth) {
  EXPECT_TRUE(parseBounded(nested(64)).ok());
  EXPECT_TRUE(parseBounded(nested(3), JsonLimits{.max_depth = 3}).ok());
}

TEST(BoundedParse, RefusesOneLevelTooManyAtItsByte) {
  BoundedJson r = parseBounded(nested(65));
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(r.value.is_discarded());
  EXPECT_EQ(r.offset, 64u);
  EXPECT_EQ(r.error, "JSON nested deeper than 64 levels at byte 64");

  r = parseBounded(R"({"a": {"b": [1]}})", JsonLimits{.max_depth = 2});
  EXPECT_EQ(r.offset, 12u);  // the '['
  EXPECT_THAT(r.error, HasSubstr("deeper than 2 levels"));
}

TEST(BoundedParse, ThreeHundredThousandLevelsAreRefusedWithoutRecursion) {
  BoundedJson r = parseBounded("{\"data\":" + nested(300000) + "}");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.offset, 8u + 63u);
  r = parseBounded(nested(300000, '{', '}'));  // not even valid JSON: depth is found first
  EXPECT_FALSE(r.ok());
}

// nlohmann throws out_of_range, not parse_error, for a number a double cannot hold; it must
// come back as a refusal like any other, never as an exception (found by storage_describe_fuzz,
// reproducer tests/fuzz/storage/regressions/number_too_large_for_a_double).
TEST(BoundedParse, ANumberTooLargeForADoubleIsRefusedNotThrown) {
  for (const char* text : {"1e999", "[1, -4e400]", "{\"protocol\": 0.4e24420}", "0.4e24420{"}) {
    BoundedJson j;
    ASSERT_NO_THROW(j = parseBounded(text)) << text;
    EXPECT_FALSE(j.ok()) << text;
    EXPECT_TRUE(j.value.is_discarded()) << text;
    EXPECT_THAT(j.error, ::testing::HasSubstr("not valid JSON at byte")) << text;
    EXPECT_THAT(j.error, ::testing::HasSubstr("number overflow")) << text;
    EXPECT_TRUE(parseOrDiscarded(text).is_discarded()) << text;
  }
}

TEST(BoundedParse, SyntaxErrorsNameTheirByte) {
  BoundedJson r = parseBounded(R"({"a": tru})");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.offset, 9u);
  EXPECT_THAT(r.error, HasSubstr("not valid JSON at byte 9"));
  EXPECT_THAT(r.error, Not(HasSubstr("json.exception")));
}

TEST(BoundedParse, RefusesTextOverTheSizeLimit) {
  BoundedJson r = parseBounded("[1,2,3]", JsonLimits{.max_bytes = 4});
  EXPECT_FALSE(r.ok());
  EXPECT_THAT(r.error, HasSubstr("7 bytes is larger than the limit of 4 bytes"));
}

TEST(BoundedParse, ParseOrDiscardedIsADropInForNonThrowingParse) {
  EXPECT_TRUE(parseOrDiscarded("{").is_discarded());
  EXPECT_TRUE(parseOrDiscarded(nested(100)).is_discarded());
  EXPECT_FALSE(parseOrDiscarded(nested(100)).is_array());
  EXPECT_EQ(parseOrDiscarded(R"({"x":1})")["x"], 1);
}

}  // namespace
}  // namespace waflow::core::json_input
