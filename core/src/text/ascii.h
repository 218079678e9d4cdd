// ASCII helpers for parsing what users write (keys, headings, model answers): lower-casing and
// trimming that leave every byte above 0x7F alone, so UTF-8 passes through unchanged.
//
// Thread-safety: pure functions.
#pragma once

#include <cctype>
#include <string>
#include <string_view>

namespace waflow::core::text {

inline std::string lowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

// `s` without leading and trailing spaces, tabs and line breaks.
inline std::string_view trimSpace(std::string_view s) {
  const std::size_t begin = s.find_first_not_of(" \t\r\n");
  if (begin == std::string_view::npos) {
    return {};
  }
  return s.substr(begin, s.find_last_not_of(" \t\r\n") - begin + 1);
}

}  // namespace waflow::core::text
