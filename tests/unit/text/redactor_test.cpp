#include "text/redactor.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace waflow::core::text {
namespace {

TEST(Redactor, ReplacesEveryOccurrenceOfEverySecret) {
  Redactor r;
  r.add("EAAG-token-1234");
  r.add("sk-live-9");
  EXPECT_EQ(r.redacted("a EAAG-token-1234 b sk-live-9 c EAAG-token-1234"), "a *** b *** c ***");
  std::string out = "untouched";
  EXPECT_FALSE(r.redact("nothing secret here", out));
  EXPECT_EQ(out, "untouched");
  EXPECT_EQ(r.redacted("nothing secret here"), "nothing secret here");
}

TEST(Redactor, ShortSecretsAreIgnored) {
  Redactor r;
  r.add("abc");
  r.add("");
  EXPECT_EQ(r.redacted("abc abcd"), "abc abcd");
}

TEST(Redactor, TheLongerOfTwoOverlappingSecretsWins) {
  Redactor r;
  r.add("inner-secret");
  r.add("outer-inner-secret-x");
  EXPECT_EQ(r.redacted("v=outer-inner-secret-x w=inner-secret"), "v=*** w=***");
  const std::vector<Redactor::Span> spans = r.find("outer-inner-secret-x inner-secret");
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(spans[0].begin, 0u);
  EXPECT_EQ(spans[0].end, 20u);
  EXPECT_EQ(spans[1].begin, 21u);
  EXPECT_EQ(spans[1].end, 33u);
}

TEST(Redactor, RedactorsAreIndependent) {
  Redactor a;
  Redactor b;
  a.add("only-in-a");
  EXPECT_EQ(a.redacted("only-in-a"), "***");
  EXPECT_EQ(b.redacted("only-in-a"), "only-in-a");
  b.add("only-in-b");
  EXPECT_EQ(a.redacted("only-in-b"), "only-in-b");
}

TEST(Redactor, SecretsAddedOnOneThreadAreSeenOnOthers) {
  Redactor r;
  std::string before;
  std::thread([&] { before = r.redacted("late-secret"); }).join();
  r.add("late-secret");
  std::vector<std::string> seen(4);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < seen.size(); ++i) {
    threads.emplace_back([&, i] {
      for (int k = 0; k < 1000; ++k) {
        seen[i] = r.redacted("x late-secret y");
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(before, "late-secret");
  for (const std::string& s : seen) {
    EXPECT_EQ(s, "x *** y");
  }
}

}  // namespace
}  // namespace waflow::core::text
