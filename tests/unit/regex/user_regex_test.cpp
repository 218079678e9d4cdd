// UserRegex: RE2 for the patterns users write — linear time on any text, errors in RE2's words
// with the part of the pattern they are about.
#include "regex/user_regex.h"

#include <gtest/gtest.h>

#include <string>

namespace waflow::core::regex {
namespace {

std::shared_ptr<const UserRegex> compiled(const std::string& pattern,
                                          Case letter_case = Case::kInsensitive) {
  RegexError error;
  auto re = UserRegex::compile(pattern, letter_case, &error);
  EXPECT_TRUE(re) << pattern << ": " << error.message;
  return re;
}

RegexError refused(const std::string& pattern) {
  RegexError error;
  EXPECT_FALSE(UserRegex::compile(pattern, Case::kInsensitive, &error)) << pattern;
  return error;
}

// std::regex overflowed the stack on these (SIGSEGV from 30,000-40,000 characters on).
TEST(UserRegexTest, RepeatsOverA40000CharacterTextNeitherCrashNorStall) {
  const std::string digits(40000, '5');
  const struct {
    const char* pattern;
    bool found;
  } kCases[] = {{"\\d+", true},    {".*", true},        {"^(\\d|x)*$", true},
                {"(.*)*y", false}, {"(a|aa)+$", false}, {"(\\d+\\d+)+x", false}};
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.pattern);
    const auto re = compiled(c.pattern);
    ASSERT_TRUE(re);
    EXPECT_EQ(re->search(digits), c.found);
  }
}

TEST(UserRegexTest, SearchesAnywhereAndFollowsTheCaseOption) {
  const auto price = compiled("harga|price");
  EXPECT_TRUE(price->search("Berapa HARGA nya kak?"));
  EXPECT_FALSE(price->search("berapa ongkirnya"));
  EXPECT_FALSE(compiled("^harga$")->search("harga kue"));
  const auto exact = compiled("^[a-z]+$", Case::kSensitive);
  EXPECT_TRUE(exact->search("abc"));
  EXPECT_FALSE(exact->search("ABC"));
  EXPECT_TRUE(compiled("^.{3}$")->search("🍰é!"));  // characters, not bytes
  EXPECT_EQ(compiled("\\d+")->pattern(), "\\d+");
}

TEST(UserRegexTest, RefusedPatternsSayWhyWhereAndWhatToDo) {
  RegexError backreference = refused("(\\w+) \\1");
  EXPECT_EQ(backreference.message, "invalid escape sequence: \\1");
  EXPECT_EQ(backreference.fragment, "\\1");
  EXPECT_EQ(backreference.offset, 6u);
  EXPECT_EQ(backreference.hint, kSyntaxHint);

  RegexError lookahead = refused("^pesan(?!.*batal)");
  EXPECT_EQ(lookahead.message, "invalid perl operator: (?!");
  EXPECT_EQ(lookahead.offset, 6u);

  EXPECT_EQ(refused("\\d{1,5000}").hint, "a counted repeat such as {2,5} goes up to 1000");
  RegexError huge = refused("\\pL{1000}\\pL{1000}");
  EXPECT_EQ(huge.message, "pattern too large - compile failed");
  EXPECT_EQ(huge.offset, 0u);
  EXPECT_NE(huge.hint.find("2 MiB"), std::string::npos);
}

}  // namespace
}  // namespace waflow::core::regex
