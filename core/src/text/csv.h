// CSV cells for files people open in a spreadsheet: RFC 4180 quoting, and OWASP's rule
// against CSV injection — a text cell starting with '=', '+', '-', '@', a tab or a carriage
// return is prefixed with a single quote, so Excel, LibreOffice and Google Sheets show it as
// text instead of running it as a formula (a customer can write "=HYPERLINK(...)" into any
// answer a flow records).
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace waflow::core::text {

// `value` as one CSV cell: neutralised as above, then quoted when it holds a comma, a quote or
// a line break (quotes doubled). Use it for every text, even one that looks like a number:
// "-5" typed by a customer is written '-5.
std::string csvText(std::string_view value);

// A number the writer itself produced from a numeric type (never from text), written as is, so
// a negative number stays a number in the spreadsheet. `number` must be what a JSON or C++
// number formats to (digits, sign, '.', exponent); anything else is treated as text.
std::string csvNumber(std::string_view number);

}  // namespace waflow::core::text
