#include "diag/diagnostic.h"

#include <gtest/gtest.h>

namespace waflow::core::diag {
namespace {

TEST(Diagnostic, TextAppendsHintInParentheses) {
  Diagnostic d;
  d.message = "unknown key 'chanels'";
  EXPECT_EQ(d.text(), "unknown key 'chanels'");
  d.hint = "did you mean 'channels'?";
  EXPECT_EQ(d.text(), "unknown key 'chanels' (did you mean 'channels'?)");
}

TEST(DiagnosticList, CountsErrorsAndWarnings) {
  DiagnosticList list;
  EXPECT_FALSE(list.hasErrors());
  list.add("a.yaml", 1, 1, "k", "warn", "", Severity::kWarning);
  EXPECT_FALSE(list.hasErrors());
  EXPECT_EQ(list.warningCount(), 1u);
  list.add("a.yaml", 2, 1, "k", "err");
  EXPECT_TRUE(list.hasErrors());
  EXPECT_EQ(list.errorCount(), 1u);
  EXPECT_EQ(list.size(), 2u);
}

TEST(DiagnosticList, SortsByFileLineColumnKeepingInsertionOrderForTies) {
  DiagnosticList list;
  list.add("b.yaml", 1, 1, "k", "b1");
  list.add("a.yaml", 12, 5, "k", "a12-5");
  list.add("a.yaml", 3, 9, "k", "a3-9");
  list.add("a.yaml", 3, 2, "k", "a3-2 first");
  list.add("a.yaml", 3, 2, "k", "a3-2 second");
  list.add("a.yaml", 0, 0, "k", "a0");
  std::vector<std::string> order;
  for (const Diagnostic& d : list.sorted()) {
    order.push_back(d.message);
  }
  EXPECT_EQ(order,
            (std::vector<std::string>{"a0", "a3-2 first", "a3-2 second", "a3-9", "a12-5", "b1"}));
  // items() keeps insertion order; takeSorted() empties the list.
  EXPECT_EQ(list.items().front().message, "b1");
  EXPECT_EQ(list.takeSorted().size(), 6u);
  EXPECT_TRUE(list.empty());
}

}  // namespace
}  // namespace waflow::core::diag
