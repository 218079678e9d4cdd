// Character classes for the answer checks; see characters.h.
//
// Thread-safety: pure functions.
#include "flow/answer/characters.h"

namespace waflow::core::flow::answer {

bool isBlank(char32_t cp) {
  return (cp < 0x80 && isAsciiSpace(static_cast<char>(cp))) || cp == 0xA0 || cp == 0x202F ||
         cp == 0x3000 || (cp >= 0x200B && cp <= 0x200D) || cp == 0x2060 || cp == 0xFEFF;
}

bool isOtherDigit(char32_t cp) {
  // Decimal digits of the scripts customers are likely to use, and full-width digits.
  return (cp >= 0x660 && cp <= 0x669) || (cp >= 0x6F0 && cp <= 0x6F9) ||
         (cp >= 0x966 && cp <= 0x96F) || (cp >= 0x9E6 && cp <= 0x9EF) ||
         (cp >= 0xE50 && cp <= 0xE59) || (cp >= 0xFF10 && cp <= 0xFF19);
}

bool isCombiningMark(char32_t cp) {
  return (cp >= 0x300 && cp <= 0x36F) || (cp >= 0x1AB0 && cp <= 0x1AFF) ||
         (cp >= 0x1DC0 && cp <= 0x1DFF) || (cp >= 0x20D0 && cp <= 0x20FF) ||
         (cp >= 0xFE20 && cp <= 0xFE2F);
}

// An approximation of "is a letter" without a Unicode database: letters are what is left after
// excluding the blocks of punctuation, symbols, emoji and digits. Good enough to tell a name
// from digits, links and emoji in any script.
bool isLetter(char32_t cp) {
  if (cp < 0x80) {
    return isAsciiLetter(static_cast<char>(cp));
  }
  if (isOtherDigit(cp) || isCombiningMark(cp)) {
    return false;
  }
  if (cp < 0xC0 || cp == 0xD7 || cp == 0xF7) {
    return false;
  }
  if (cp < 0x2B0) {
    return true;  // Latin-1 letters, Latin Extended A and B, IPA
  }
  if (cp < 0x370) {
    return false;  // spacing modifier letters (quotes, accents written alone)
  }
  if (cp < 0x2000) {
    return true;  // Greek, Cyrillic, Hebrew, Arabic, Indic, Thai, Georgian, Hangul Jamo, ...
  }
  if (cp < 0x2C00) {
    return false;  // punctuation, symbols, arrows, mathematics, dingbats
  }
  if (cp < 0x2E00) {
    return true;
  }
  if (cp < 0x2E80) {
    return false;
  }
  if (cp >= 0x3000 && cp <= 0x303F) {
    return false;  // CJK punctuation
  }
  if (cp < 0xD800) {
    return true;  // CJK, kana, Hangul
  }
  if (cp >= 0xF900 && cp <= 0xFDFF) {
    return true;
  }
  if (cp >= 0xFE70 && cp <= 0xFEFE) {
    return true;
  }
  if ((cp >= 0xFF21 && cp <= 0xFF3A) || (cp >= 0xFF41 && cp <= 0xFF5A) ||
      (cp >= 0xFF66 && cp <= 0xFFDC)) {
    return true;
  }
  if (cp >= 0x10000 && cp < 0x1D000) {
    return true;  // historic scripts
  }
  if (cp >= 0x20000 && cp < 0x40000) {
    return true;  // CJK extensions
  }
  return false;
}

bool isApostrophe(char32_t cp) {
  return cp == '\'' || cp == '`' || cp == 0x2018 || cp == 0x2019 || cp == 0x2BC;
}

bool isHyphen(char32_t cp) {
  return cp == '-' || cp == 0x2010 || cp == 0x2011;
}

// Simple case mapping for the scripts with case most names use: Latin, Greek, Cyrillic.
char32_t toUpper(char32_t cp) {
  if (cp >= 'a' && cp <= 'z') {
    return cp - 'a' + 'A';
  }
  if (cp >= 0xE0 && cp <= 0xFE && cp != 0xF7) {
    return cp - 0x20;
  }
  if (cp == 0xFF) {
    return 0x178;
  }
  if (((cp >= 0x100 && cp <= 0x137) || (cp >= 0x14A && cp <= 0x177)) && cp % 2 == 1) {
    return cp - 1;
  }
  if (((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17E)) && cp % 2 == 0) {
    return cp - 1;
  }
  if (cp >= 0x3B1 && cp <= 0x3C9 && cp != 0x3C2) {
    return cp - 0x20;
  }
  if (cp >= 0x430 && cp <= 0x44F) {
    return cp - 0x20;
  }
  if (cp >= 0x450 && cp <= 0x45F) {
    return cp - 0x50;
  }
  return cp;
}

char32_t toLower(char32_t cp) {
  if (cp >= 'A' && cp <= 'Z') {
    return cp - 'A' + 'a';
  }
  if (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7) {
    return cp + 0x20;
  }
  if (cp == 0x178) {
    return 0xFF;
  }
  if (((cp >= 0x100 && cp <= 0x137) || (cp >= 0x14A && cp <= 0x177)) && cp % 2 == 0) {
    return cp + 1;
  }
  if (((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17E)) && cp % 2 == 1) {
    return cp + 1;
  }
  if (cp >= 0x391 && cp <= 0x3A9 && cp != 0x3A2) {
    return cp + 0x20;
  }
  if (cp >= 0x410 && cp <= 0x42F) {
    return cp + 0x20;
  }
  if (cp >= 0x400 && cp <= 0x40F) {
    return cp + 0x50;
  }
  return cp;
}

std::vector<std::string_view> splitOnSpaces(std::string_view text) {
  std::vector<std::string_view> words;
  size_t pos = 0;
  while (pos < text.size()) {
    while (pos < text.size() && isAsciiSpace(text[pos])) {
      ++pos;
    }
    const size_t start = pos;
    while (pos < text.size() && !isAsciiSpace(text[pos])) {
      ++pos;
    }
    if (pos > start) {
      words.push_back(text.substr(start, pos - start));
    }
  }
  return words;
}

}  // namespace waflow::core::flow::answer
