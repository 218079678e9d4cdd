#include "flow/answer.h"
#include "regex/user_regex.h"
#include "text/utf8.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace waflow::core::flow {
namespace {

using text::appendUtf8;
using text::decodeAt;
using text::previousStart;
using text::Utf8Char;

// `text` with each byte that is not part of valid UTF-8 replaced by U+FFFD, so values always
// serialise as JSON (a message cut in the middle of a character would not).
std::string validUtf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    const Utf8Char c = decodeAt(text, pos);
    if (c.len == 0) {
      out += "\xEF\xBF\xBD";
      ++pos;
    } else {
      out.append(text.substr(pos, c.len));
      pos += c.len;
    }
  }
  return out;
}

bool isAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

bool isAsciiDigit(char c) {
  return c >= '0' && c <= '9';
}

bool isAsciiLetter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

char lowerAscii(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lowerAscii(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](char c) { return lowerAscii(c); });
  return out;
}

// Spaces phones put around a message: ASCII white space, no-break and narrow spaces, zero-width
// characters and the byte-order mark.
bool isBlank(char32_t cp) {
  return (cp < 0x80 && isAsciiSpace(static_cast<char>(cp))) || cp == 0xA0 || cp == 0x202F ||
         cp == 0x3000 || (cp >= 0x200B && cp <= 0x200D) || cp == 0x2060 || cp == 0xFEFF;
}

std::string_view trimAnswer(std::string_view text) {
  while (!text.empty()) {
    const Utf8Char c = decodeAt(text, 0);
    if (c.len == 0 || !isBlank(c.cp)) {
      break;
    }
    text.remove_prefix(c.len);
  }
  while (!text.empty()) {
    const size_t start = previousStart(text, text.size());
    const Utf8Char c = decodeAt(text, start);
    if (c.len == 0 || start + c.len != text.size() || !isBlank(c.cp)) {
      break;
    }
    text.remove_suffix(c.len);
  }
  return text;
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

// Numbers in messages: whole numbers without a decimal point, others with up to 10 digits.
std::string formatNumber(double value) {
  if (std::floor(value) == value && std::fabs(value) < 1e15) {
    return std::to_string(static_cast<int64_t>(value));
  }
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.10g", value);
  return buffer;
}

AnswerCheck accept(nlohmann::json value) {
  return AnswerCheck{true, std::move(value), {}};
}

AnswerCheck reject(std::string_view expected, std::string_view detail = {}) {
  std::string problem = "expected ";
  problem += expected;
  if (!detail.empty()) {
    problem += " (";
    problem += detail;
    problem += ")";
  }
  return AnswerCheck{false, nullptr, std::move(problem)};
}

// ---- name ------------------------------------------------------------------------------------

constexpr std::string_view kExpectedName = "a name of 1 to 4 words";
constexpr size_t kMaxNameBytes = 60;
constexpr size_t kMaxNameWords = 4;

// Punctuation and emoji people put before or after their name: "Rina 😊", "Rina!".
bool isEdgeNoise(char32_t cp) {
  if (cp < 0x80) {
    return std::string_view("!?,;:~.*_\"").find(static_cast<char>(cp)) != std::string_view::npos;
  }
  return !isLetter(cp) && !isOtherDigit(cp) && !isApostrophe(cp) && !isHyphen(cp) &&
         !isCombiningMark(cp);
}

std::string_view stripEdgeNoise(std::string_view text) {
  while (!text.empty()) {
    const Utf8Char c = decodeAt(text, 0);
    if (c.len == 0 || !(isEdgeNoise(c.cp) || isBlank(c.cp))) {
      break;
    }
    text.remove_prefix(c.len);
  }
  while (!text.empty()) {
    const size_t start = previousStart(text, text.size());
    const Utf8Char c = decodeAt(text, start);
    if (c.len == 0 || start + c.len != text.size() || !(isEdgeNoise(c.cp) || isBlank(c.cp))) {
      break;
    }
    text.remove_suffix(c.len);
  }
  return text;
}

// If `text` starts with one of `prefixes` (compared case-insensitively, as a whole word),
// returns what follows it, without the separators after it; otherwise nullopt.
std::optional<std::string_view> afterPrefix(std::string_view text,
                                            const std::vector<std::string_view>& prefixes) {
  const std::string lower = lowerAscii(text);
  for (std::string_view prefix : prefixes) {
    if (lower.size() <= prefix.size() || lower.compare(0, prefix.size(), prefix) != 0) {
      continue;
    }
    const char next = lower[prefix.size()];
    if (!isAsciiSpace(next) && next != ':' && next != ',' && next != '-' && next != '!' &&
        next != '.') {
      continue;
    }
    size_t pos = prefix.size();
    while (pos < text.size() && (isAsciiSpace(text[pos]) || text[pos] == ':' || text[pos] == ',' ||
                                 text[pos] == '-' || text[pos] == '!' || text[pos] == '.')) {
      ++pos;
    }
    if (pos < text.size()) {
      return text.substr(pos);
    }
  }
  return std::nullopt;
}

// Greetings and introductions before a name. Longest first, so "nama saya" is removed whole
// rather than just "nama".
// clang-format off
const std::vector<std::string_view>& nameGreetings() {
  static const std::vector<std::string_view> kWords = {
      "assalamualaikum", "selamat pagi", "selamat siang", "selamat sore", "selamat malam",
      "hallo", "halo", "hello", "helo", "hai", "hey", "hi"};
  return kWords;
}

const std::vector<std::string_view>& nameIntroductions() {
  static const std::vector<std::string_view> kWords = {
      "nama lengkap saya adalah", "nama lengkap saya", "nama lengkap aku", "nama lengkapku",
      "nama lengkap", "nama saya adalah", "nama saya", "nama sy", "nama aku", "namaku",
      "nama ku", "nama gue", "nama gw", "nama", "saya adalah", "saya", "sy", "aku", "gue", "gw",
      "panggil saja", "panggil aja", "panggil saya", "panggil aku", "my full name is",
      "my name is", "my name's", "my name\u2019s", "my name", "name is", "name", "i am", "i'm",
      "i\u2019m", "im", "this is", "it's", "it\u2019s", "it is", "call me"};
  return kWords;
}
// clang-format on

// "Halo kak, nama saya Rina ya" -> "Rina".
std::string_view stripNameIntroduction(std::string_view text) {
  static const std::vector<std::string_view> kHonorifics = {"kakak", "kak", "ka",
                                                            "min",   "gan", "sis"};
  static const std::vector<std::string_view> kTrailing = {"kakak", "kak", "ka",  "ya",  "yaa",
                                                          "yah",   "gan", "sis", "dong"};
  const std::vector<std::string_view>& kGreetings = nameGreetings();
  const std::vector<std::string_view>& kIntroductions = nameIntroductions();
  if (std::optional<std::string_view> rest = afterPrefix(text, kGreetings)) {
    text = *rest;
    if (std::optional<std::string_view> after = afterPrefix(text, kHonorifics)) {
      text = *after;
    }
  }
  if (std::optional<std::string_view> rest = afterPrefix(text, kIntroductions)) {
    text = *rest;
  }
  // Politeness after the name: "Rina kak", "Rina, ya".
  std::vector<std::string_view> words = splitOnSpaces(text);
  if (words.size() >= 2) {
    const std::string last = lowerAscii(words.back());
    if (std::find(kTrailing.begin(), kTrailing.end(), last) != kTrailing.end()) {
      std::string_view kept =
          text.substr(0, static_cast<size_t>(words.back().data() - text.data()));
      while (!kept.empty() && (isAsciiSpace(kept.back()) || kept.back() == ',')) {
        kept.remove_suffix(1);
      }
      text = kept;
    }
  }
  return text;
}

bool looksLikeWebAddress(std::string_view word) {
  if (word.find('@') != std::string_view::npos) {
    return false;  // an email address, reported as a character a name does not have
  }
  const std::string lower = lowerAscii(word);
  if (lower.find("://") != std::string::npos || lower.rfind("www.", 0) == 0 ||
      lower.rfind("http", 0) == 0) {
    return lower.find('.') != std::string::npos || lower.find(':') != std::string::npos;
  }
  static const std::array<std::string_view, 11> kDomains = {
      ".com", ".id", ".net", ".org", ".co", ".io", ".me", ".info", ".biz", ".xyz", ".app"};
  for (std::string_view domain : kDomains) {
    if (lower.size() > domain.size() + 1 &&
        lower.compare(lower.size() - domain.size(), domain.size(), domain) == 0) {
      return true;
    }
  }
  return false;
}

// "rina" and "RINA" -> "Rina", "anne-marie" -> "Anne-Marie"; a word written in mixed case
// ("McDonald") keeps its case except for the first letter.
std::string capitaliseWord(std::string_view word) {
  std::vector<char32_t> chars;
  for (size_t pos = 0; pos < word.size();) {
    const Utf8Char c = decodeAt(word, pos);
    chars.push_back(c.cp);
    pos += c.len;
  }
  bool has_upper = false;
  bool has_lower = false;
  for (char32_t cp : chars) {
    has_upper = has_upper || toLower(cp) != cp;
    has_lower = has_lower || toUpper(cp) != cp;
  }
  const bool single_case = !(has_upper && has_lower);
  std::string out;
  out.reserve(word.size());
  bool start = true;
  for (char32_t cp : chars) {
    if (isLetter(cp)) {
      appendUtf8(out, start ? toUpper(cp) : (single_case ? toLower(cp) : cp));
      start = false;
    } else {
      appendUtf8(out, cp);
      if (isHyphen(cp) || cp == '.') {
        start = true;
      }
    }
  }
  return out;
}

AnswerCheck checkName(std::string_view text) {
  const std::string_view name = stripEdgeNoise(stripNameIntroduction(stripEdgeNoise(text)));
  if (name.empty()) {
    return reject(kExpectedName, "there are no letters in the answer");
  }
  // "Nama saya", "My name is", "Halo": an introduction or a greeting without a name after it.
  for (std::string_view whole : {stripEdgeNoise(text), name}) {
    const std::string lower = lowerAscii(whole);
    for (const auto* list : {&nameIntroductions(), &nameGreetings()}) {
      if (std::find(list->begin(), list->end(), lower) != list->end()) {
        return reject(kExpectedName, "there is no name in the answer");
      }
    }
  }
  const std::vector<std::string_view> words = splitOnSpaces(name);
  for (std::string_view word : words) {
    if (looksLikeWebAddress(word)) {
      return reject(kExpectedName, "the answer is a web address");
    }
  }
  if (words.size() > kMaxNameWords || name.size() > kMaxNameBytes) {
    return reject(kExpectedName, "the answer is too long for a name");
  }
  std::string value;
  for (std::string_view word : words) {
    bool has_letter = false;
    bool after_letter = false;
    for (size_t pos = 0; pos < word.size();) {
      const Utf8Char c = decodeAt(word, pos);
      pos += c.len;
      if (c.cp < 0x80 && isAsciiDigit(static_cast<char>(c.cp))) {
        return reject(kExpectedName, "a name has no digits");
      }
      if (isOtherDigit(c.cp)) {
        return reject(kExpectedName, "a name has no digits");
      }
      if (isLetter(c.cp)) {
        has_letter = after_letter = true;
      } else if (isCombiningMark(c.cp) && after_letter) {
        // an accent typed as a separate character, part of the letter before it
      } else if (isApostrophe(c.cp) || isHyphen(c.cp) || c.cp == '.') {
        after_letter = false;
      } else {
        std::string shown;
        appendUtf8(shown, c.cp);
        return reject(kExpectedName, "a name has only letters, not '" + shown + "'");
      }
    }
    if (!has_letter) {
      return reject(kExpectedName, "'" + std::string(word) + "' is not a word");
    }
    if (!value.empty()) {
      value += ' ';
    }
    value += capitaliseWord(word);
  }
  return accept(value);
}

// ---- number ----------------------------------------------------------------------------------

std::string expectedNumber(const AnswerRules& rules) {
  if (rules.min && rules.max) {
    return "a number from " + formatNumber(*rules.min) + " to " + formatNumber(*rules.max);
  }
  if (rules.min) {
    return "a number of at least " + formatNumber(*rules.min);
  }
  if (rules.max) {
    return "a number of at most " + formatNumber(*rules.max);
  }
  return "a number";
}

struct NumberRead {
  enum class State { kNone, kFound, kUnclear } state = State::kNone;
  double value = 0;
  std::string text;  // what was read, for messages
};

// "1.500" -> 1500, "1,5" -> 1.5, "2.5" -> 2.5, "1.500.000" -> 1500000, "1.500,50" -> 1500.5,
// "1,500.50" -> 1500.5. A separator followed by exactly three digits after a first group of
// one to three digits (not "0") is a thousands separator, as Indonesians and English speakers
// both write them; otherwise it is the decimal separator.
std::optional<std::string> plainDecimal(std::string_view token) {
  std::vector<std::string_view> groups;
  std::vector<char> separators;
  size_t start = 0;
  for (size_t i = 0; i < token.size(); ++i) {
    if (token[i] == '.' || token[i] == ',') {
      groups.push_back(token.substr(start, i - start));
      separators.push_back(token[i]);
      start = i + 1;
    }
  }
  groups.push_back(token.substr(start));
  if (separators.empty()) {
    return std::string(token);
  }
  const bool first_can_group = groups[0].size() <= 3 && groups[0][0] != '0';
  const auto thousands = [&](size_t from, size_t to) {
    if (!first_can_group) {
      return false;
    }
    for (size_t i = from; i < to; ++i) {
      if (groups[i].size() != 3) {
        return false;
      }
    }
    return true;
  };
  const auto join = [&](size_t to) {
    std::string out;
    for (size_t i = 0; i < to; ++i) {
      out += groups[i];
    }
    return out;
  };
  const char last = separators.back();
  const bool mixed = std::any_of(separators.begin(), separators.end(),
                                 [&](char c) { return c != separators.front(); });
  if (!mixed) {
    if (thousands(1, groups.size())) {
      return join(groups.size());
    }
    if (separators.size() == 1) {
      return std::string(groups[0]) + "." + std::string(groups[1]);
    }
    return std::nullopt;  // "1.2.3"
  }
  // Both kinds: the last one is the decimal separator and must appear once.
  if (std::count(separators.begin(), separators.end(), last) != 1 ||
      !thousands(1, groups.size() - 1)) {
    return std::nullopt;
  }
  return join(groups.size() - 1) + "." + std::string(groups.back());
}

// Words after a number that multiply it: "2 juta", "150rb", "5k".
double multiplierAfter(std::string_view text, size_t pos) {
  while (pos < text.size() && isAsciiSpace(text[pos])) {
    ++pos;
  }
  const size_t start = pos;
  while (pos < text.size() && isAsciiLetter(text[pos])) {
    ++pos;
  }
  const std::string word = lowerAscii(text.substr(start, pos - start));
  if (word == "rb" || word == "ribu" || word == "rebu" || word == "k" || word == "thousand") {
    return 1e3;
  }
  if (word == "jt" || word == "juta" || word == "million") {
    return 1e6;
  }
  return 1;
}

NumberRead readDigits(std::string_view text) {
  NumberRead read;
  size_t start = 0;
  while (start < text.size() && !isAsciiDigit(text[start])) {
    ++start;
  }
  if (start == text.size()) {
    return read;
  }
  size_t end = start;
  while (end < text.size()) {
    if (isAsciiDigit(text[end])) {
      ++end;
    } else if ((text[end] == '.' || text[end] == ',') && end + 1 < text.size() &&
               isAsciiDigit(text[end + 1])) {
      ++end;
    } else {
      break;
    }
  }
  // A sign directly before the digits, not inside a word or a range ("10-20").
  bool negative = false;
  if (start > 0 && (text[start - 1] == '-' || text[start - 1] == '+') &&
      (start == 1 || !std::isalnum(static_cast<unsigned char>(text[start - 2])))) {
    negative = text[start - 1] == '-';
    --start;
  }
  const size_t digits_start =
      negative || (start < text.size() && text[start] == '+') ? start + 1 : start;
  read.text = std::string(text.substr(start, end - start));
  const std::optional<std::string> plain =
      plainDecimal(text.substr(digits_start, end - digits_start));
  if (!plain) {
    read.state = NumberRead::State::kUnclear;
    return read;
  }
  double value = 0;
  const auto [ptr, ec] = std::from_chars(plain->data(), plain->data() + plain->size(), value);
  if (ec != std::errc() || ptr != plain->data() + plain->size() || !std::isfinite(value)) {
    read.state = NumberRead::State::kUnclear;
    return read;
  }
  value *= multiplierAfter(text, end);
  read.value = negative ? -value : value;
  read.state = NumberRead::State::kFound;
  return read;
}

// Number words, Indonesian and English: "dua ratus lima puluh", "seribu", "twenty-one",
// "two hundred and five". Reads the first run of number words in the text.
NumberRead readNumberWords(std::string_view text) {
  enum class Kind {
    kUnit,
    kTens,
    kBelas,
    kPuluh,
    kHundred,
    kSeratus,
    kThousand,
    kSeribu,
    kMillion,
    kAnd
  };
  struct Word {
    std::string_view text;
    Kind kind;
    int value;
  };
  // clang-format off
  static const Word kWords[] = {
      {"nol", Kind::kUnit, 0}, {"satu", Kind::kUnit, 1}, {"dua", Kind::kUnit, 2},
      {"tiga", Kind::kUnit, 3}, {"empat", Kind::kUnit, 4}, {"lima", Kind::kUnit, 5},
      {"enam", Kind::kUnit, 6}, {"tujuh", Kind::kUnit, 7}, {"delapan", Kind::kUnit, 8},
      {"sembilan", Kind::kUnit, 9}, {"sepuluh", Kind::kUnit, 10}, {"sebelas", Kind::kUnit, 11},
      {"belas", Kind::kBelas, 10}, {"puluh", Kind::kPuluh, 10}, {"ratus", Kind::kHundred, 100},
      {"seratus", Kind::kSeratus, 100}, {"ribu", Kind::kThousand, 0},
      {"seribu", Kind::kSeribu, 1000}, {"sejuta", Kind::kSeribu, 1000000},
      {"juta", Kind::kMillion, 0}, {"zero", Kind::kUnit, 0}, {"one", Kind::kUnit, 1},
      {"two", Kind::kUnit, 2}, {"three", Kind::kUnit, 3}, {"four", Kind::kUnit, 4},
      {"five", Kind::kUnit, 5}, {"six", Kind::kUnit, 6}, {"seven", Kind::kUnit, 7},
      {"eight", Kind::kUnit, 8}, {"nine", Kind::kUnit, 9}, {"ten", Kind::kUnit, 10},
      {"eleven", Kind::kUnit, 11}, {"twelve", Kind::kUnit, 12}, {"thirteen", Kind::kUnit, 13},
      {"fourteen", Kind::kUnit, 14}, {"fifteen", Kind::kUnit, 15}, {"sixteen", Kind::kUnit, 16},
      {"seventeen", Kind::kUnit, 17}, {"eighteen", Kind::kUnit, 18}, {"nineteen", Kind::kUnit, 19},
      {"twenty", Kind::kTens, 20}, {"thirty", Kind::kTens, 30}, {"forty", Kind::kTens, 40},
      {"fifty", Kind::kTens, 50}, {"sixty", Kind::kTens, 60}, {"seventy", Kind::kTens, 70},
      {"eighty", Kind::kTens, 80}, {"ninety", Kind::kTens, 90}, {"hundred", Kind::kHundred, 100},
      {"thousand", Kind::kThousand, 0}, {"million", Kind::kMillion, 0}, {"and", Kind::kAnd, 0},
  };
  // clang-format on
  NumberRead read;
  double total = 0;  // thousands and millions already complete
  int group = 0;     // below a thousand
  int unit = -1;     // a unit waiting for what follows ("dua" before "puluh"), -1 = none
  bool started = false;
  size_t first = std::string_view::npos;
  size_t last_end = 0;
  const std::string lower = lowerAscii(text);
  size_t pos = 0;
  while (pos < lower.size()) {
    while (pos < lower.size() && !isAsciiLetter(lower[pos])) {
      ++pos;
    }
    const size_t start = pos;
    while (pos < lower.size() && isAsciiLetter(lower[pos])) {
      ++pos;
    }
    if (pos == start) {
      break;
    }
    const std::string_view token = std::string_view(lower).substr(start, pos - start);
    const auto found = std::find_if(std::begin(kWords), std::end(kWords),
                                    [&](const Word& w) { return w.text == token; });
    if (found == std::end(kWords) || (!started && found->kind == Kind::kAnd)) {
      if (started) {
        break;
      }
      continue;
    }
    bool fits = true;
    switch (found->kind) {
      case Kind::kUnit:
        fits = unit < 0 && (group % 100 == 0 || (group % 10 == 0 && found->value < 10));
        if (fits) {
          unit = found->value;
        }
        break;
      case Kind::kTens:
        fits = unit < 0 && group % 100 == 0;
        if (fits) {
          group += found->value;
        }
        break;
      case Kind::kBelas:
        fits = unit >= 1 && unit <= 9;
        if (fits) {
          unit += 10;
        }
        break;
      case Kind::kPuluh:
        fits = unit >= 1 && unit <= 9 && group % 100 == 0;
        if (fits) {
          group += unit * 10;
          unit = -1;
        }
        break;
      case Kind::kHundred:
        fits = unit >= 1 && unit <= 9 && group == 0;
        if (fits) {
          group = unit * 100;
          unit = -1;
        }
        break;
      case Kind::kSeratus:
        fits = unit < 0 && group == 0;
        if (fits) {
          group = 100;
        }
        break;
      case Kind::kThousand:
      case Kind::kMillion: {
        const int amount = group + std::max(unit, 0);
        fits = amount > 0;
        if (fits) {
          total += amount * (found->kind == Kind::kThousand ? 1e3 : 1e6);
          group = 0;
          unit = -1;
        }
        break;
      }
      case Kind::kSeribu:
        fits = unit < 0 && group == 0;
        if (fits) {
          total += found->value;
        }
        break;
      case Kind::kAnd:
        break;
    }
    if (!fits) {
      break;
    }
    if (!started) {
      first = start;
    }
    started = true;
    last_end = pos;
  }
  if (!started) {
    return read;
  }
  read.state = NumberRead::State::kFound;
  read.value = total + group + std::max(unit, 0);
  read.text = std::string(text.substr(first, last_end - first));
  return read;
}

AnswerCheck checkNumber(const AnswerRules& rules, std::string_view text) {
  const std::string expected = expectedNumber(rules);
  NumberRead read = readDigits(text);
  if (read.state == NumberRead::State::kUnclear) {
    return reject(expected, "'" + read.text + "' is not a clear number");
  }
  if (read.state == NumberRead::State::kNone) {
    read = readNumberWords(text);
  }
  if (read.state == NumberRead::State::kNone) {
    return reject(expected, "there is no number in the answer");
  }
  const double value = read.value;
  if (rules.min && value < *rules.min) {
    return reject(expected, formatNumber(value) + " is too small");
  }
  if (rules.max && value > *rules.max) {
    return reject(expected, formatNumber(value) + " is too large");
  }
  // Whole numbers that a double holds exactly become JSON integers.
  if (std::floor(value) == value && std::fabs(value) <= 9007199254740992.0) {
    return accept(static_cast<int64_t>(value));
  }
  return accept(value);
}

// ---- date ------------------------------------------------------------------------------------

constexpr std::string_view kExpectedDate = "a date such as 17/08/2025 or 17 Agustus 2025";

struct DateToken {
  enum class Kind { kNumber, kWord, kSeparator } kind = Kind::kNumber;
  int number = 0;
  size_t digits = 0;
  std::string word;  // lower case
  char separator = 0;
};

std::vector<DateToken> dateTokens(std::string_view text) {
  std::vector<DateToken> tokens;
  size_t pos = 0;
  while (pos < text.size()) {
    const char c = text[pos];
    if (isAsciiDigit(c)) {
      DateToken token;
      while (pos < text.size() && isAsciiDigit(text[pos])) {
        token.number = std::min(token.number * 10 + (text[pos] - '0'), 100000);
        ++token.digits;
        ++pos;
      }
      // Ordinals: "17th", "1st".
      if (pos + 2 <= text.size()) {
        const std::string suffix = lowerAscii(text.substr(pos, 2));
        const bool ends = pos + 2 == text.size() || !isAsciiLetter(text[pos + 2]);
        if (ends && (suffix == "st" || suffix == "nd" || suffix == "rd" || suffix == "th")) {
          pos += 2;
        }
      }
      tokens.push_back(token);
    } else if (isAsciiLetter(c)) {
      DateToken token;
      token.kind = DateToken::Kind::kWord;
      while (pos < text.size() && isAsciiLetter(text[pos])) {
        token.word += lowerAscii(text[pos]);
        ++pos;
      }
      tokens.push_back(token);
    } else if (isAsciiSpace(c)) {
      ++pos;
    } else {
      DateToken token;
      token.kind = DateToken::Kind::kSeparator;
      token.separator = (c == '/' || c == '-' || c == '.' || c == ',') ? c : '?';
      tokens.push_back(token);
      ++pos;
    }
  }
  return tokens;
}

// 1..12 for month names and their common abbreviations, Indonesian and English; 0 otherwise.
int monthNumber(std::string_view word) {
  static const std::array<std::vector<std::string_view>, 12> kNames = {{
      {"januari", "january", "jan"},
      {"februari", "february", "pebruari", "feb", "peb"},
      {"maret", "march", "mar"},
      {"april", "apr"},
      {"mei", "may"},
      {"juni", "june", "jun"},
      {"juli", "july", "jul"},
      {"agustus", "august", "agu", "agt", "ags", "aug"},
      {"september", "sep", "sept"},
      {"oktober", "october", "okt", "oct"},
      {"november", "nopember", "nov", "nop"},
      {"desember", "december", "des", "dec"},
  }};
  for (size_t m = 0; m < kNames.size(); ++m) {
    if (std::find(kNames[m].begin(), kNames[m].end(), word) != kNames[m].end()) {
      return static_cast<int>(m) + 1;
    }
  }
  return 0;
}

struct DateParts {
  int day = 0;
  int month = 0;
  int year = 0;                // 0 = not written
  bool numeric_month = false;  // day/month in digits, which may be written month/day
  bool short_year = false;     // written with two digits: 25 -> 2025
};

// Finds the first date written in the tokens.
std::optional<DateParts> findDate(const std::vector<DateToken>& t) {
  using Kind = DateToken::Kind;
  const auto number = [&](size_t i, size_t min_digits, size_t max_digits) {
    return i < t.size() && t[i].kind == Kind::kNumber && t[i].digits >= min_digits &&
           t[i].digits <= max_digits;
  };
  const auto separator = [&](size_t i, std::string_view allowed) {
    return i < t.size() && t[i].kind == Kind::kSeparator &&
           allowed.find(t[i].separator) != std::string_view::npos;
  };
  const auto month = [&](size_t i) {
    return i < t.size() && t[i].kind == Kind::kWord ? monthNumber(t[i].word) : 0;
  };
  for (size_t i = 0; i < t.size(); ++i) {
    // 17/08/2025, 17-08-25, 17.08.2025
    if (number(i, 1, 2) && separator(i + 1, "/-.") && number(i + 2, 1, 2) &&
        separator(i + 3, std::string_view(&t[i + 1].separator, 1)) &&
        (number(i + 4, 4, 4) || number(i + 4, 2, 2))) {
      return DateParts{t[i].number, t[i + 2].number, t[i + 4].number, true, t[i + 4].digits == 2};
    }
    // 2025-08-17, 2025/08/17
    if (number(i, 4, 4) && separator(i + 1, "/-.") && number(i + 2, 1, 2) &&
        separator(i + 3, std::string_view(&t[i + 1].separator, 1)) && number(i + 4, 1, 2)) {
      return DateParts{t[i + 4].number, t[i + 2].number, t[i].number, false};
    }
    // 17/8 (not 10.30, which is a time)
    if (number(i, 1, 2) && separator(i + 1, "/-") && number(i + 2, 1, 2) &&
        !(separator(i + 3, "/-.") && number(i + 4, 1, 4))) {
      return DateParts{t[i].number, t[i + 2].number, 0, true};
    }
    // 17 Agustus 2025, 17-Aug-25, 17 agu
    if (number(i, 1, 2)) {
      const size_t m = separator(i + 1, "-.") ? i + 2 : i + 1;
      if (const int month_number = month(m)) {
        DateParts parts{t[i].number, month_number, 0, false};
        size_t y = m + 1;
        if (separator(y, ".")) {
          ++y;  // "17 Agu. 2025"
        }
        if (separator(y, "-/,") && number(y + 1, 2, 4)) {
          parts.year = t[y + 1].number;
          parts.short_year = t[y + 1].digits == 2;
        } else if (number(y, 4, 4)) {
          parts.year = t[y].number;
        }
        return parts;
      }
    }
    // August 17, 2025; Aug. 17 2025
    if (const int month_number = month(i)) {
      const size_t d = separator(i + 1, ".") ? i + 2 : i + 1;
      if (number(d, 1, 2) && !(separator(d + 1, "/-.") && number(d + 2, 1, 4))) {
        DateParts parts{t[d].number, month_number, 0, false};
        const size_t y = separator(d + 1, ",") ? d + 2 : d + 1;
        if (number(y, 4, 4)) {
          parts.year = t[y].number;
        }
        return parts;
      }
    }
  }
  return std::nullopt;
}

// Days after today that relative words mean ("besok" = 1), if the text has them.
std::optional<int> relativeDay(const std::vector<DateToken>& t) {
  const auto word = [&](size_t i, std::string_view w) {
    return i < t.size() && t[i].kind == DateToken::Kind::kWord && t[i].word == w;
  };
  std::optional<int> found;
  for (size_t i = 0; i < t.size() && !found; ++i) {
    if (word(i, "lusa") || (word(i, "day") && word(i + 1, "after") && word(i + 2, "tomorrow"))) {
      found = 2;
    } else if (word(i, "besok") || word(i, "besuk") || word(i, "bsk") || word(i, "esok") ||
               word(i, "tomorrow")) {
      // "besok lusa" is the day after tomorrow.
      found = word(i + 1, "lusa") ? 2 : 1;
    } else if (((word(i, "hari") || word(i, "hr") || word(i, "malam")) && word(i + 1, "ini")) ||
               word(i, "today") || word(i, "tonight") || word(i, "sekarang")) {
      found = 0;
    }
  }
  return found;
}

std::string monthName(int month) {
  static const std::array<const char*, 12> kNames = {
      "January", "February", "March",     "April",   "May",      "June",
      "July",    "August",   "September", "October", "November", "December"};
  return kNames[static_cast<size_t>(month - 1)];
}

std::string formatDate(std::chrono::year_month_day date) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02u", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()));
  return buffer;
}

AnswerCheck checkDate(std::string_view text, std::chrono::year_month_day today) {
  using namespace std::chrono;
  const std::vector<DateToken> tokens = dateTokens(text);
  std::optional<DateParts> parts = findDate(tokens);
  if (!parts) {
    if (const std::optional<int> offset = relativeDay(tokens)) {
      return accept(formatDate(year_month_day{sys_days(today) + std::chrono::days(*offset)}));
    }
    return reject(kExpectedDate, "there is no date in the answer");
  }
  // Two-digit years are this century's, unless that is more than 20 years ahead ("17/08/95").
  if (parts->short_year) {
    parts->year += 2000;
    if (parts->year > static_cast<int>(today.year()) + 20) {
      parts->year -= 100;
    }
  }
  // 08/17/2025 can only be month/day/year.
  if (parts->numeric_month && parts->month > 12 && parts->day <= 12) {
    std::swap(parts->day, parts->month);
  }
  if (parts->month < 1 || parts->month > 12) {
    return reject(kExpectedDate, "there is no month " + std::to_string(parts->month));
  }
  const month m{static_cast<unsigned>(parts->month)};
  const day d{static_cast<unsigned>(parts->day)};
  // Why the day does not exist, in `in_year` (0 = in any year).
  const auto no_such_day = [&](int in_year) {
    std::string detail =
        "there is no " + std::to_string(parts->day) + " " + monthName(parts->month);
    if (in_year == 0) {
      // The longest the month can be (2024 is a leap year).
      const unsigned longest = static_cast<unsigned>((year{2024} / m / last).day());
      return reject(kExpectedDate, detail + ": " + monthName(parts->month) + " has " +
                                       std::to_string(longest) + " days");
    }
    const std::string year_text = std::to_string(in_year);
    detail += " " + year_text + ": ";
    if (parts->month == 2 && parts->day == 29) {
      detail += year_text + " is not a leap year";
    } else {
      const unsigned days = static_cast<unsigned>((year{in_year} / m / last).day());
      detail +=
          monthName(parts->month) + " " + year_text + " has " + std::to_string(days) + " days";
    }
    return reject(kExpectedDate, detail);
  };
  if (parts->year != 0) {
    if (parts->year < 1900 || parts->year > 2199) {
      return reject(kExpectedDate, "the year " + std::to_string(parts->year) + " is unlikely");
    }
    const year_month_day date{year{parts->year}, m, d};
    if (!date.ok()) {
      return no_such_day(parts->year);
    }
    return accept(formatDate(date));
  }
  // No year: the next such date on or after today. 29 February may be up to 8 years away.
  for (int y = static_cast<int>(today.year()); y <= static_cast<int>(today.year()) + 8; ++y) {
    const year_month_day date{year{y}, m, d};
    if (date.ok() && sys_days(date) >= sys_days(today)) {
      return accept(formatDate(date));
    }
  }
  return no_such_day(0);
}

// ---- email -----------------------------------------------------------------------------------

constexpr std::string_view kExpectedEmail = "an email address such as name@example.com";

bool validLocalPart(std::string_view local) {
  if (local.empty() || local.size() > 64 || local.front() == '.' || local.back() == '.' ||
      local.find("..") != std::string_view::npos) {
    return false;
  }
  static constexpr std::string_view kAllowed = "!#$%&'*+/=?^_`{|}~.-";
  return std::all_of(local.begin(), local.end(), [](char c) {
    return static_cast<unsigned char>(c) >= 0x80 || isAsciiLetter(c) || isAsciiDigit(c) ||
           kAllowed.find(c) != std::string_view::npos;
  });
}

bool validDomain(std::string_view domain) {
  if (domain.empty() || domain.size() > 253) {
    return false;
  }
  std::vector<std::string_view> labels;
  size_t start = 0;
  for (size_t i = 0; i <= domain.size(); ++i) {
    if (i == domain.size() || domain[i] == '.') {
      labels.push_back(domain.substr(start, i - start));
      start = i + 1;
    }
  }
  if (labels.size() < 2) {
    return false;
  }
  for (std::string_view label : labels) {
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      if (!(static_cast<unsigned char>(c) >= 0x80 || isAsciiLetter(c) || isAsciiDigit(c) ||
            c == '-')) {
        return false;
      }
    }
  }
  // The top-level domain is letters ("com", "id"), or an internationalised one ("xn--p1ai").
  const std::string tld = lowerAscii(labels.back());
  if (tld.rfind("xn--", 0) == 0) {
    return tld.size() > 4;
  }
  return tld.size() >= 2 &&
         std::none_of(tld.begin(), tld.end(), [](char c) { return isAsciiDigit(c) || c == '-'; });
}

AnswerCheck checkEmail(std::string_view text) {
  // Forgiving about words around the address ("email saya rina@gmail.com ya"), not about the
  // address itself.
  std::optional<std::string_view> candidate;
  for (std::string_view word : splitOnSpaces(text)) {
    if (word.find('@') == std::string_view::npos) {
      continue;
    }
    if (candidate) {
      return reject(kExpectedEmail, "the answer has more than one '@'");
    }
    candidate = word;
  }
  if (!candidate) {
    return reject(kExpectedEmail, "there is no '@' in the answer");
  }
  std::string_view address = *candidate;
  static constexpr std::string_view kAround = "<>()[]\"',;:.!?";
  while (!address.empty() && kAround.find(address.front()) != std::string_view::npos) {
    address.remove_prefix(1);
  }
  while (!address.empty() && kAround.find(address.back()) != std::string_view::npos) {
    address.remove_suffix(1);
  }
  if (lowerAscii(address.substr(0, 7)) == "mailto:") {
    address.remove_prefix(7);
  }
  const size_t at = address.find('@');
  if (address.find('@', at + 1) != std::string_view::npos) {
    return reject(kExpectedEmail, "the answer has more than one '@'");
  }
  const std::string_view local = address.substr(0, at);
  const std::string_view domain = address.substr(at + 1);
  if (!validLocalPart(local)) {
    return reject(kExpectedEmail, "the part before '@' is not valid");
  }
  if (!validDomain(domain)) {
    return reject(kExpectedEmail, "'" + std::string(domain) + "' is not a valid domain");
  }
  return accept(std::string(local) + "@" + lowerAscii(domain));
}

// ---- phone -----------------------------------------------------------------------------------

constexpr std::string_view kExpectedPhone =
    "a phone number such as 0812-3456-7890 or +62 812 3456 7890";

AnswerCheck checkPhone(const AnswerRules& rules, std::string_view text) {
  // The number runs from the first '+' or digit to the last digit; words around it ("WA:",
  // "(whatsapp)") are ignored, but nothing else may be inside it.
  const size_t first = text.find_first_of("+0123456789");
  const size_t last = text.find_last_of("0123456789");
  if (first == std::string_view::npos || last == std::string_view::npos || last < first) {
    return reject(kExpectedPhone, "there are no digits in the answer");
  }
  std::string number(text.substr(first, last - first + 1));
  const bool plus = number.front() == '+';
  if (plus) {
    // "+44 (0)20 ..." : the (0) is only dialled inside the country.
    for (size_t pos; (pos = number.find("(0)")) != std::string::npos;) {
      number.erase(pos, 3);
    }
  }
  std::string digits;
  for (size_t i = 0; i < number.size(); ++i) {
    const char c = number[i];
    if (isAsciiDigit(c)) {
      digits += c;
    } else if (c == '+' && i == 0) {
      // the international prefix
    } else if (!(c == ' ' || c == '-' || c == '(' || c == ')' || c == '.')) {
      return reject(kExpectedPhone, "'" + std::string(1, c) + "' is not part of a phone number");
    }
  }
  const std::string& code = rules.country_code;
  if (!plus && digits.rfind("00", 0) == 0) {
    digits.erase(0, 2);  // the international prefix dialled as 00
  } else if (!plus && digits.rfind("0", 0) == 0) {
    digits = code + digits.substr(1);
  } else if (!plus && code == "62" && digits.rfind("8", 0) == 0 && digits.size() >= 9 &&
             digits.size() <= 12) {
    digits = code + digits;  // an Indonesian mobile number written without its 0
  }
  // "+62 0812...": the national 0 written after the country code.
  if (!code.empty() && digits.size() > code.size() && digits.rfind(code, 0) == 0 &&
      digits[code.size()] == '0') {
    digits.erase(code.size(), 1);
  }
  if (digits.size() < 8 || digits.size() > 15) {
    return reject(kExpectedPhone,
                  "a phone number has 8 to 15 digits, this has " + std::to_string(digits.size()));
  }
  return accept(digits);
}

// ---- regex -----------------------------------------------------------------------------------

// Compiled patterns, shared by all threads: flows use a handful of patterns, so the cache is
// simply emptied if it ever grows large.
std::shared_ptr<const regex::UserRegex> compiledPattern(const std::string& pattern,
                                                        std::string* error) {
  static std::mutex mutex;
  static std::unordered_map<std::string, std::shared_ptr<const regex::UserRegex>> cache;
  constexpr size_t kMaxCached = 256;
  {
    std::lock_guard<std::mutex> lock(mutex);
    const auto found = cache.find(pattern);
    if (found != cache.end()) {
      return found->second;
    }
  }
  regex::RegexError why;
  std::shared_ptr<const regex::UserRegex> compiled =
      regex::UserRegex::compile(pattern, regex::Case::kInsensitive, &why);
  if (!compiled) {
    *error = why.message;
    return nullptr;
  }
  std::lock_guard<std::mutex> lock(mutex);
  if (cache.size() >= kMaxCached) {
    cache.clear();
  }
  cache.emplace(pattern, compiled);
  return compiled;
}

AnswerCheck checkRegex(const AnswerRules& rules, std::string_view text) {
  const std::string expected = "an answer matching '" + rules.pattern + "'";
  std::string error;
  const std::shared_ptr<const regex::UserRegex> regex = compiledPattern(rules.pattern, &error);
  if (!regex) {
    return reject(expected, "the pattern is not a valid regular expression: " + error);
  }
  if (!regex->search(text)) {
    return reject(expected, "the pattern is not found in the answer");
  }
  return accept(std::string(text));
}

std::string_view expectedFor(const AnswerRules& rules) {
  switch (rules.kind) {
    case AnswerKind::kName:
      return kExpectedName;
    case AnswerKind::kDate:
      return kExpectedDate;
    case AnswerKind::kEmail:
      return kExpectedEmail;
    case AnswerKind::kPhone:
      return kExpectedPhone;
    default:
      return "an answer";
  }
}

}  // namespace

AnswerRules AnswerRules::fromStep(const AskStep& step) {
  AnswerRules rules;
  rules.kind = step.validate;
  rules.min = step.min;
  rules.max = step.max;
  rules.pattern = step.pattern;
  return rules;
}

AnswerCheck checkAnswer(const AnswerRules& rules, std::string_view text,
                        std::chrono::year_month_day today) {
  const std::string valid = validUtf8(text);
  const std::string_view trimmed = trimAnswer(valid);
  if (rules.kind == AnswerKind::kLua) {
    return accept(std::string(trimmed));
  }
  if (trimmed.empty()) {
    const std::string expected = rules.kind == AnswerKind::kNumber ? expectedNumber(rules)
                                 : rules.kind == AnswerKind::kRegex
                                     ? "an answer matching '" + rules.pattern + "'"
                                     : std::string(expectedFor(rules));
    return reject(expected, "the message is empty");
  }
  switch (rules.kind) {
    case AnswerKind::kText:
      return accept(std::string(trimmed));
    case AnswerKind::kName:
      return checkName(trimmed);
    case AnswerKind::kNumber:
      return checkNumber(rules, trimmed);
    case AnswerKind::kDate:
      return checkDate(trimmed, today);
    case AnswerKind::kEmail:
      return checkEmail(trimmed);
    case AnswerKind::kPhone:
      return checkPhone(rules, trimmed);
    case AnswerKind::kRegex:
      return checkRegex(rules, trimmed);
    case AnswerKind::kLua:
      break;
  }
  return accept(std::string(trimmed));
}

}  // namespace waflow::core::flow
