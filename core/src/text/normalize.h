// Text helpers for matching what customers type: normalizeText() folds case, accents,
// punctuation and stretched letters ("HARGAA??" -> "harga"), and KeywordMatcher finds
// keywords in a message with the tolerance chat input needs. Used by the Lua `text` table and
// by flow keyword triggers and conditions.
//
// Thread-safety: pure functions; a KeywordMatcher is immutable after construction and safe to
// share between threads.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace waflow::core::text {

// The largest output normalizeInto() can write for `input_size` bytes of input.
constexpr size_t normalizedCapacity(size_t input_size) {
  return input_size * 2 + 1;
}

// Normalizes UTF-8 `input` into `out` (at least normalizedCapacity(input.size()) bytes) and
// returns the number of bytes written. Allocates nothing. Rules:
//   - ASCII letters are lower-cased; accented Latin letters (U+00C0..U+017F, and combining
//     marks U+0300..U+036F) lose their accents: "Ñ" -> "n", "é" -> "e", "ß" -> "ss";
//   - a run of the same letter becomes one letter: "hargaaa" -> "harga", "maaf" -> "maf"
//     (both sides of a comparison are normalized, so keywords still match);
//   - punctuation, symbols from ASCII and Latin-1, general punctuation (U+2000..U+206F) and
//     whitespace separate words; runs of separators become one space, none at either end;
//   - digits and every other character (other scripts, emoji) are kept as they are.
size_t normalizeInto(std::string_view input, char* out);
std::string normalizeText(std::string_view input);

// A text normalized once and split into words, for matching many keyword lists against the
// same message. Not copyable (the words point into `normalized`).
struct NormalizedText {
  explicit NormalizedText(std::string_view text);
  NormalizedText(const NormalizedText&) = delete;
  NormalizedText& operator=(const NormalizedText&) = delete;

  std::string normalized;
  std::vector<std::string_view> words;
};

// Finds the first of a list of keywords in a text. A keyword (one or more words) matches
// when, after normalizing both, its words appear consecutively as whole words of the text,
// where the last word may also carry a common Indonesian suffix (-nya, -kah, -lah, -pun,
// -ku, -mu: "harganya" matches "harga"), and a single word of six or more letters may differ
// by one typo (one letter inserted, deleted, replaced, or two neighbours swapped) as long as
// the first letter is right ("pricelsit" matches "pricelist").
class KeywordMatcher {
 public:
  explicit KeywordMatcher(const std::vector<std::string>& keywords);

  // Index of the first keyword (in construction order) found in `text`, if any.
  std::optional<size_t> match(std::string_view text) const;
  std::optional<size_t> match(const NormalizedText& text) const;
  // The same test for one keyword, both already split into normalized words.
  static bool matches(const std::vector<std::string_view>& text_words,
                      const std::vector<std::string_view>& keyword_words);

 private:
  std::vector<std::string> normalized_;  // one per keyword
  // Each keyword's words as (offset, length) in normalized_, so copies stay valid.
  std::vector<std::vector<std::pair<size_t, size_t>>> words_;
};

// Splits normalized text at its spaces.
std::vector<std::string_view> splitWords(std::string_view normalized);

}  // namespace waflow::core::text
