// The lexicon of the knowledge analyser (analyzer.cpp): the word lists and character tables it
// applies, and nothing else. The rules that use them (stemming order, the minimum root, nasal
// recoding of prefixes) stay in analyzer.cpp; the prefixes are part of those rules and are not
// listed here.
//
// Where the words came from: hand-written for Indonesian shop chat (informal spellings,
// particles, forms of address) and English, then tuned on the retrieval test
// (tests/unit/knowledge/analyzer_test.cpp); docs/knowledge.md shows the informal spellings to
// users. No outside word list was imported.
//
// To add a word: put it in the right table of lexicon.cpp (or below), lower-case ASCII without
// diacritics, since tables are looked up after folding. For an informal spelling, also add it to
// the "Informal spellings" table of docs/knowledge.md. Changing what the analyser produces
// changes the index, so bump KnowledgeBase::kIndexVersion (knowledge_base.h) to have stores
// re-index, and add a case to tests/unit/knowledge/analyzer_test.cpp.
//
// Thread-safety: immutable data; the tables are built once on first use (function-local
// statics), so reading them from any thread is safe.
#pragma once

#include <array>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

namespace waflow::core::knowledge::lexicon {

// ---- words ---------------------------------------------------------------------------

// Informal Indonesian (and chat) spellings -> the standard words, one or more. Replacing them
// before stop words and stemming means "brp ongkir" and "berapa ongkos kirim" analyse alike.
// docs/knowledge.md lists the same table.
const std::unordered_map<std::string_view, std::string_view>& slang();

// Words that carry no topic: Indonesian and English function words, question words that say
// how something is asked rather than what about ("berapa", "bagaimana", "how", "what"; kept:
// "kapan"/"when" and "kenapa"/"why", which do narrow the answer), greetings and forms of
// address. The retrieval test (tests/unit/knowledge) is what these choices were tuned on.
const std::unordered_set<std::string_view>& stopWords();

// ---- affixes (tried in the order listed; the first that fits is removed) -------------

// Indonesian particles, removed first.
inline constexpr std::array<std::string_view, 4> kParticles = {"lah", "kah", "tah", "pun"};

// Indonesian possessives, removed after the particles. -nya also marks the se-...-nya confix.
inline constexpr std::array<std::string_view, 3> kPossessives = {"nya", "ku", "mu"};

// Indonesian derivational suffixes (-in is informal), at most one, before a final -i.
inline constexpr std::array<std::string_view, 3> kDerivationalSuffixes = {"kan", "an", "in"};

// Endings that may be attached to an informal spelling ("ongkirnya").
inline constexpr std::array<std::string_view, 7> kSlangEndings = {"nya", "ny", "lah", "kah",
                                                                  "pun", "ku", "mu"};

// English plural endings that lose their "es" ("boxes" -> "box").
inline constexpr std::array<std::string_view, 5> kEnglishEsPlurals = {"sses", "shes", "ches", "xes",
                                                                      "zes"};

// ---- characters ----------------------------------------------------------------------

// U+00C0..U+00FF (Latin-1 letters) folded to lower-case ASCII; nullptr for the two symbols in
// the range (U+00D7 multiplication and U+00F7 division signs), which separate words.
inline constexpr std::array<const char*, 0x40> kLatin1Folds = {
    "a", "a", "a", "a", "a", "a", "ae", "c",     "e", "e", "i", "e", "i", "i", "i",  "i",
    "d", "n", "o", "o", "o", "o", "o",  nullptr, "o", "u", "u", "u", "u", "y", "th", "ss",
    "a", "a", "a", "a", "a", "a", "ae", "c",     "e", "e", "e", "e", "i", "i", "i",  "i",
    "d", "n", "o", "o", "o", "o", "o",  nullptr, "o", "u", "u", "u", "u", "y", "th", "y"};

// U+0100..U+017F (Latin Extended-A) without their diacritics, lower-case.
inline constexpr std::string_view kLatinExtendedA =
    "aaaaaaccccccccddddeeeeeeeeeegggggggghhhhiiiiiiiiiijjjjkkkllllllllllnnnnnnnnnoooooooorrrrrr"
    "sssssssstttttt"
    "uuuuuuuuuuuuwwyyyzzzzzzs";
static_assert(kLatinExtendedA.size() == 0x80);

}  // namespace waflow::core::knowledge::lexicon
