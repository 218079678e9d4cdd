#include "diag/closest_match.h"

#include <gtest/gtest.h>

namespace waflow::core::diag {
namespace {

TEST(EditDistance, CountsInsertionsDeletionsSubstitutions) {
  EXPECT_EQ(editDistance("", ""), 0u);
  EXPECT_EQ(editDistance("abc", ""), 3u);
  EXPECT_EQ(editDistance("kitten", "sitting"), 3u);
  EXPECT_EQ(editDistance("chanels", "channels"), 1u);
}

TEST(EditDistance, AdjacentTranspositionCostsOne) {
  EXPECT_EQ(editDistance("levle", "level"), 1u);
  EXPECT_EQ(editDistance("ab", "ba"), 1u);
}

TEST(EditDistance, IgnoresAsciiCase) {
  EXPECT_EQ(editDistance("Server", "sERVER"), 0u);
}

TEST(ClosestMatch, SuggestsMisspeltKeys) {
  const std::vector<std::string> keys = {"server",   "log", "bus",          "plugins",   "data_dir",
                                         "channels", "ai",  "integrations", "auto_reply"};
  EXPECT_EQ(closestMatch("chanels", keys), "channels");
  EXPECT_EQ(closestMatch("sevrer", keys), "server");
  EXPECT_EQ(closestMatch("datadir", keys), "data_dir");
  EXPECT_EQ(closestMatch("auto-reply", keys), "auto_reply");
  EXPECT_EQ(closestMatch("intergrations", keys), "integrations");
  EXPECT_EQ(closestMatch("LOG", keys), "log");
}

TEST(ClosestMatch, ReturnsEmptyWhenNothingIsClose) {
  const std::vector<std::string> keys = {"server", "log", "bus"};
  EXPECT_EQ(closestMatch("database", keys), "");
  EXPECT_EQ(closestMatch("x", {"ai"}), "");
  EXPECT_EQ(closestMatch("anything", {}), "");
}

TEST(ClosestMatch, ThresholdGrowsWithLength) {
  // Two edits are too many for a 3-letter word but fine for a 9-letter one.
  EXPECT_EQ(closestMatch("lgo", {"bus"}), "");
  EXPECT_EQ(closestMatch("lgx", {"log"}), "");
  EXPECT_EQ(closestMatch("pluginsxx", {"plugins"}), "plugins");
}

TEST(ClosestMatch, PrefersSmallestDistanceThenEarlierCandidate) {
  EXPECT_EQ(closestMatch("wran", {"warn", "wrap"}), "warn");  // both at distance 1: first wins
  EXPECT_EQ(closestMatch("wran", {"wrap", "warn"}), "wrap");
  EXPECT_EQ(closestMatch("infoo", {"inf", "info"}), "info");
  EXPECT_EQ(closestMatch("cat", {"bat", "cab"}), "bat");
}

}  // namespace
}  // namespace waflow::core::diag
