// The text analyser of knowledge retrieval: turns Indonesian or English text into the terms that
// are indexed and searched (storage's FTS5 index and the in-memory BM25 ranker both see only
// these terms, so a question and a passage match when they analyse to the same terms).
//
// Steps, per word:
//   1. lower-case, Latin diacritics removed ("Café" -> "cafe"); words are runs of letters and
//      digits (any non-ASCII letter counts as a letter; punctuation, symbols and emoji split);
//   2. informal Indonesian spellings replaced by the standard word (slang() in lexicon.cpp:
//      "gak" -> "tidak", "brp" -> "berapa", "ongkir" -> "ongkos kirim", "tf" -> "transfer"...),
//      also when a particle or possessive is attached ("ongkirnya");
//   3. stop words dropped (Indonesian and English function words, question words that do not
//      say what is asked about, and forms of address such as "kak" and "min");
//   4. Indonesian light stemming without a dictionary: particles (-lah -kah -tah -pun),
//      possessives (-ku -mu -nya), one derivational suffix (-kan -an -i, informal -in), then up
//      to two prefixes (di- ke- se- ber- ter- per- pe- me-) with nasal recoding. Where the
//      recoding is ambiguous without a dictionary ("mengirim" is meng+kirim, "mengambil" is
//      meng+ambil) both candidates are emitted, so either spelling of the root matches. A strip
//      happens only when at least two vowels remain, so short roots stay whole ("makan",
//      "pesan");
//   5. for words the Indonesian rules left alone, English light stemming: plural -s/-es/-ies,
//      -ing, -ed (with the doubled consonant undone: "shipped" -> "ship").
//
// Thread-safety: stateless functions over immutable tables; safe from any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace waflow::core::knowledge {

// The terms of `text`, in order, repeats kept (term frequency matters to BM25).
std::vector<std::string> analyze(std::string_view text);

// The terms of a question for a search: analyze() without repeats, in first-seen order, at most
// `max_terms` of them.
std::vector<std::string> queryTerms(std::string_view question, std::size_t max_terms = 32);

// The stem(s) of one lower-case, diacritic-free word that is not a stop word: one term, or two
// when the nasal recoding is ambiguous. Exposed for tests.
std::vector<std::string> stemWord(std::string_view word);

// Lower-cased, diacritics removed, split into words; no slang, stop words or stemming. Exposed
// for tests and for callers that need plain tokens.
std::vector<std::string> tokenize(std::string_view text);

// Terms joined by single spaces: the form storage indexes.
std::string joinTerms(const std::vector<std::string>& terms);

}  // namespace waflow::core::knowledge
