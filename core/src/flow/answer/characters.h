// What kind of character a customer typed, for the answer checks of flow/answer/: ASCII classes,
// the blanks phones put around a message, and, without a Unicode database, an approximation of
// "is a letter" and the simple case mapping of Latin, Greek and Cyrillic that names need. Also
// splitting a message into words at ASCII white space.
//
// Internal to flow/answer/. Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "text/ascii.h"

namespace waflow::core::flow::answer {

inline bool isAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

inline bool isAsciiDigit(char c) {
  return c >= '0' && c <= '9';
}

inline bool isAsciiLetter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

using text::lowerAscii;

// Spaces phones put around a message: ASCII white space, no-break and narrow spaces, zero-width

// Spaces phones put around a message: ASCII white space, no-break and narrow spaces, zero-width
// characters and the byte-order mark.
bool isBlank(char32_t cp);
// Decimal digits of other scripts (Arabic-Indic, Devanagari, Thai, ...) and full-width digits.
bool isOtherDigit(char32_t cp);
bool isCombiningMark(char32_t cp);
// Letters are what is left after excluding the blocks of punctuation, symbols, emoji and
// digits: good enough to tell a name from digits, links and emoji in any script.
bool isLetter(char32_t cp);
bool isApostrophe(char32_t cp);
bool isHyphen(char32_t cp);
// Simple case mapping for the scripts with case most names use: Latin, Greek, Cyrillic.
char32_t toUpper(char32_t cp);
char32_t toLower(char32_t cp);

// The words of `text`, split at ASCII white space.
std::vector<std::string_view> splitOnSpaces(std::string_view text);

}  // namespace waflow::core::flow::answer
