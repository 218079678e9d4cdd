#include "text/csv.h"

namespace waflow::core::text {
namespace {

bool startsLikeFormula(std::string_view value) {
  if (value.empty()) {
    return false;
  }
  switch (value.front()) {
    case '=':
    case '+':
    case '-':
    case '@':
    case '\t':
    case '\r':
      return true;
    default:
      return false;
  }
}

std::size_t skipDigits(std::string_view text, std::size_t i) {
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    ++i;
  }
  return i;
}

// -?digits(.digits)?([eE][+-]?digits)? — what a JSON number formats to. "-1+1" is not one:
// a spreadsheet would compute it.
bool isNumberText(std::string_view text) {
  std::size_t i = !text.empty() && text[0] == '-' ? 1 : 0;
  std::size_t end = skipDigits(text, i);
  if (end == i) {
    return false;
  }
  i = end;
  if (i < text.size() && text[i] == '.') {
    end = skipDigits(text, i + 1);
    if (end == i + 1) {
      return false;
    }
    i = end;
  }
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
      ++i;
    }
    end = skipDigits(text, i);
    if (end == i) {
      return false;
    }
    i = end;
  }
  return i == text.size();
}

}  // namespace

std::string csvText(std::string_view value) {
  std::string cell;
  cell.reserve(value.size() + 1);
  if (startsLikeFormula(value)) {
    cell += '\'';
  }
  cell += value;
  if (cell.find_first_of(",\"\r\n") == std::string::npos) {
    return cell;
  }
  std::string quoted = "\"";
  for (char c : cell) {
    quoted += c;
    if (c == '"') {
      quoted += '"';
    }
  }
  return quoted + '"';
}

std::string csvNumber(std::string_view number) {
  return isNumberText(number) ? std::string(number) : csvText(number);
}

}  // namespace waflow::core::text
