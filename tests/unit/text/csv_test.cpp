#include "text/csv.h"

#include <gtest/gtest.h>

#include <utility>
#include <vector>

namespace waflow::core::text {
namespace {

using Cases = std::vector<std::pair<std::string, std::string>>;  // input, expected cell

void expectCells(std::string (*cell)(std::string_view), const Cases& cases) {
  for (const auto& [input, expected] : cases) {
    EXPECT_EQ(cell(input), expected) << "input: " << input;
  }
}

TEST(CsvText, PlainTextIsWrittenAsIs) {
  // Only the first character makes a formula: "a=b" is plain text.
  expectCells(csvText,
              {{"Budi", "Budi"}, {"", ""}, {"harga 100rb", "harga 100rb"}, {"a=b", "a=b"}});
}

TEST(CsvText, Rfc4180QuotingForCommasQuotesAndLineBreaks) {
  expectCells(csvText, {{"a,b", "\"a,b\""},
                        {"say \"hi\"", "\"say \"\"hi\"\"\""},
                        {"two\nlines", "\"two\nlines\""},
                        {"cr\rhere", "\"cr\rhere\""}});
}

TEST(CsvText, CellsThatASpreadsheetWouldRunAsFormulasArePrefixedWithAQuote) {
  expectCells(csvText, {{"=HYPERLINK(\"http://evil\",\"klik\")",
                         "\"'=HYPERLINK(\"\"http://evil\"\",\"\"klik\"\")\""},
                        {"+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"},
                        {"-2+3", "'-2+3"},
                        {"@SUM(A1:A9)", "'@SUM(A1:A9)"},
                        {"\t=1", "'\t=1"},
                        {"\r=1", "\"'\r=1\""},
                        // Text that merely looks like a number is text from outside: neutralised.
                        {"-5", "'-5"}});
}

TEST(CsvNumber, NumbersTheWriterProducedStayNumbers) {
  expectCells(
      csvNumber,
      {{"-5", "-5"}, {"42", "42"}, {"-0.25", "-0.25"}, {"1e+21", "1e+21"}, {"-1.5E-7", "-1.5E-7"}});
}

TEST(CsvNumber, AnythingElseIsTreatedAsText) {
  expectCells(csvNumber,
              {{"-1+1", "'-1+1"}, {"-", "'-"}, {"=1", "'=1"}, {"1.", "1."}, {"-1,5", "\"'-1,5\""}});
}

}  // namespace
}  // namespace waflow::core::text
