#include "flow/template_text.h"

#include <gtest/gtest.h>

namespace waflow::core::flow {
namespace {

TEST(TemplateTextTest, FindsExpressionsWithTheirOffsets) {
  const TemplateScan scan = scanTemplate("{Halo|Hai} {{ contact.name }}, total {{x}}!");
  ASSERT_TRUE(scan.errors.empty());
  ASSERT_EQ(scan.expressions.size(), 2u);
  EXPECT_EQ(scan.expressions[0].code, "contact.name");
  EXPECT_EQ(scan.expressions[0].open, 11u);
  EXPECT_EQ(scan.expressions[0].offset, 14u);
  EXPECT_EQ(scan.expressions[1].code, "x");
  EXPECT_EQ(scan.expressions[1].offset, 39u);
}

TEST(TemplateTextTest, ReportsUnclosedAndEmptyExpressions) {
  TemplateScan scan = scanTemplate("a {{ }} b {{ c");
  ASSERT_EQ(scan.errors.size(), 2u);
  EXPECT_EQ(scan.errors[0].offset, 2u);
  EXPECT_NE(scan.errors[0].message.find("empty"), std::string::npos);
  EXPECT_EQ(scan.errors[1].offset, 10u);
  EXPECT_NE(scan.errors[1].message.find("not closed"), std::string::npos);
  EXPECT_TRUE(scanTemplate("no templates, {spin|tax} only").expressions.empty());
}

TEST(TemplateTextTest, FindsStepReferencesOutsideStringsAndComments) {
  const std::vector<StepReference> refs = stepReferences(
      "steps.ask_name.output.answer .. steps [ 'quote' ] .. 'steps.in_string' -- steps.c\n"
      "or mysteps.x or steps . spaced");
  ASSERT_EQ(refs.size(), 3u);
  EXPECT_EQ(refs[0].step, "ask_name");
  EXPECT_EQ(refs[0].offset, 0u);
  EXPECT_EQ(refs[0].length, 14u);
  EXPECT_EQ(refs[1].step, "quote");
  EXPECT_EQ(refs[2].step, "spaced");
}

}  // namespace
}  // namespace waflow::core::flow
