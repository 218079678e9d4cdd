// ASCII helpers for parsing what users write (keys, headings, model answers, config values,
// flow files): lower-casing and trimming that leave every byte above 0x7F alone, so UTF-8 passes
// through unchanged. These are the core's one lowerAscii and one trim; prefer them to
// std::tolower / std::isspace loops.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace waflow::core::text {

// 'A'..'Z' to 'a'..'z'; every other byte unchanged. The same as std::tolower in the "C" locale,
// which the daemon never leaves, but independent of it.
inline char lowerAscii(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

inline std::string lowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = lowerAscii(c);
  }
  return out;
}

// What trimSpace removes by default: spaces, tabs and line breaks.
inline constexpr std::string_view kSpaceChars = " \t\r\n";
// All ASCII white space: what std::isspace accepts in the "C" locale (adds \v and \f).
inline constexpr std::string_view kWhitespaceChars = " \t\n\v\f\r";

// `s` without the leading and trailing characters that are in `blanks`.
inline std::string_view trimSpace(std::string_view s, std::string_view blanks = kSpaceChars) {
  const std::size_t begin = s.find_first_not_of(blanks);
  if (begin == std::string_view::npos) {
    return {};
  }
  return s.substr(begin, s.find_last_not_of(blanks) - begin + 1);
}

}  // namespace waflow::core::text
