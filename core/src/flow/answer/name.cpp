// The `name` answer: 1-4 words of letters in any script, with the greetings, introductions and
// politeness around a name removed ("Halo kak, nama saya rina ya" -> "Rina"), each word
// capitalised.
//
// Thread-safety: pure functions.
#include "flow/answer/characters.h"
#include "flow/answer/checks.h"
#include "text/utf8.h"

#include <array>
#include <optional>
#include <string>
#include <vector>

namespace waflow::core::flow::answer {
namespace {

using text::appendUtf8;
using text::decodeAt;
using text::previousStart;
using text::Utf8Char;

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

}  // namespace

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

}  // namespace waflow::core::flow::answer
