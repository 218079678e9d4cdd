// UTF-8 in both directions, for code that looks at characters rather than bytes (answer
// checks, the knowledge analyser): strict decoding (overlong forms and surrogates are not
// characters) and encoding.
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace waflow::core::text {

struct Utf8Char {
  char32_t cp = 0;
  std::size_t len = 0;  // 0: not valid UTF-8 at this position
};

inline Utf8Char decodeAt(std::string_view s, std::size_t pos) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char b0 = byte(pos);
  if (b0 < 0x80) {
    return {b0, 1};
  }
  std::size_t len = 0;
  char32_t cp = 0;
  char32_t min = 0;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2, cp = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, cp = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    return {};
  }
  if (pos + len > s.size()) {
    return {};
  }
  for (std::size_t i = 1; i < len; ++i) {
    if ((byte(pos + i) & 0xC0) != 0x80) {
      return {};
    }
    cp = (cp << 6) | (byte(pos + i) & 0x3F);
  }
  // Overlong forms, surrogates and values past U+10FFFF are not characters.
  if (cp < min || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
    return {};
  }
  return {cp, len};
}

// The start of the character that ends at `end` (exclusive).
inline std::size_t previousStart(std::string_view s, std::size_t end) {
  std::size_t pos = end - 1;
  while (pos > 0 && end - pos < 4 && (static_cast<unsigned char>(s[pos]) & 0xC0) == 0x80) {
    --pos;
  }
  return pos;
}

// The first `max_chars` characters of `s`, cut on a character boundary. A character is a byte
// that does not continue one (0b10xxxxxx) with the bytes that continue it, so a stray byte of
// invalid UTF-8 counts as one and a valid sequence is never split.
inline std::string_view firstChars(std::string_view s, std::size_t max_chars) {
  std::size_t chars = 0;
  for (std::size_t pos = 0; pos < s.size(); ++pos) {
    if ((static_cast<unsigned char>(s[pos]) & 0xC0) != 0x80 && chars++ == max_chars) {
      return s.substr(0, pos);
    }
  }
  return s;
}

// The byte offset of the first byte that does not start a valid UTF-8 character in `s`, or
// std::string_view::npos when all of `s` is valid UTF-8.
inline std::size_t firstInvalidUtf8(std::string_view s) {
  for (std::size_t pos = 0; pos < s.size();) {
    const Utf8Char c = decodeAt(s, pos);
    if (c.len == 0) {
      return pos;
    }
    pos += c.len;
  }
  return std::string_view::npos;
}

inline void appendUtf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

}  // namespace waflow::core::text
