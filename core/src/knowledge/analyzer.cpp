#include "knowledge/analyzer.h"
#include "knowledge/lexicon.h"
#include "text/utf8.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace waflow::core::knowledge {
namespace {

// ---- characters ----------------------------------------------------------------------

// Decodes one UTF-8 code point at s[i], advancing i; invalid bytes decode as U+FFFD.
char32_t decode(std::string_view s, std::size_t& i) {
  const text::Utf8Char c = text::decodeAt(s, i);
  if (c.len == 0) {
    ++i;
    return 0xFFFD;
  }
  i += c.len;
  return c.cp;
}

using text::appendUtf8;

// What a code point contributes to a word: its folded ASCII letters, itself (other scripts),
// "" for a combining mark (dropped without splitting the word), or nullptr for a separator.
const char* foldLatin1(char32_t cp) {
  return lexicon::kLatin1Folds[cp - 0xC0];
}

bool isSeparator(char32_t cp) {
  return cp == 0xFFFD || (cp >= 0x80 && cp < 0xC0) || (cp >= 0x2000 && cp <= 0x2BFF) ||
         (cp >= 0x3000 && cp <= 0x303F) || (cp >= 0xFE00 && cp <= 0xFE0F) ||
         (cp >= 0xFF00 && cp <= 0xFF0F) || (cp >= 0x1F000 && cp <= 0x1FAFF) || cp >= 0xE0000;
}

// ---- stemming ------------------------------------------------------------------------

bool isVowel(char c) {
  return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u';
}

int vowels(std::string_view s) {
  return static_cast<int>(std::count_if(s.begin(), s.end(), isVowel));
}

bool endsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool startsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// A suffix may go when a real root is left: three letters and two syllables at least, so
// "makan", "pesan" and "jalan" keep their endings.
bool rootAfterSuffix(std::string_view rest) {
  return rest.size() >= 3 && vowels(rest) >= 2;
}

// A prefix whose form marks it clearly (di-, ter-, ber-, me-/pe- with nasals) may leave a
// one-syllable root ("dicek" -> "cek").
bool rootAfterPrefix(std::string_view rest) {
  return rest.size() >= 3 && vowels(rest) >= 1;
}

// Particles, then possessives. `had_nya` reports -nya (se-...-nya is a confix).
std::string stripInflection(std::string word, bool* had_nya) {
  for (std::string_view particle : lexicon::kParticles) {
    if (endsWith(word, particle) &&
        rootAfterSuffix(std::string_view(word).substr(0, word.size() - particle.size()))) {
      word.resize(word.size() - particle.size());
      break;
    }
  }
  for (std::string_view possessive : lexicon::kPossessives) {
    if (endsWith(word, possessive) &&
        rootAfterSuffix(std::string_view(word).substr(0, word.size() - possessive.size()))) {
      word.resize(word.size() - possessive.size());
      *had_nya = possessive == "nya";
      break;
    }
  }
  return word;
}

// One derivational suffix (-kan, -an, informal -in), then -i. Bare words lose a final -i under
// the same rule, so "kembali" and "pengembalian" meet at "kembal". After pe- or ke- the suffix
// can only be -an (they form the confixes pe-an and ke-an; there is no pe-kan), which keeps the
// k of roots like "rusak" in "kerusakan" and "tolak" in "penolakan".
std::string stripSuffix(std::string root, bool only_an) {
  for (std::string_view suffix : lexicon::kDerivationalSuffixes) {
    if (only_an && suffix != "an") {
      continue;
    }
    if (endsWith(root, suffix) &&
        rootAfterSuffix(std::string_view(root).substr(0, root.size() - suffix.size()))) {
      root.resize(root.size() - suffix.size());
      break;
    }
  }
  if (endsWith(root, "i") && rootAfterSuffix(std::string_view(root).substr(0, root.size() - 1))) {
    root.pop_back();
  }
  return root;
}

// The root of a ke-an or pe-an confix is what remains without -an; it must be a real root.
bool confixRoot(std::string_view rest) {
  return endsWith(rest, "an") && rootAfterSuffix(rest.substr(0, rest.size() - 2));
}

// `root` as the only candidate, if it is long enough to be one.
std::vector<std::string> oneRoot(std::string root) {
  if (rootAfterPrefix(root)) {
    return {std::move(root)};
  }
  return {};
}

// Nasal recoding with two candidate roots (no dictionary to choose between them).
std::vector<std::string> twoRoots(std::string a, std::string b) {
  std::vector<std::string> out;
  for (std::string* root : {&a, &b}) {
    if (rootAfterPrefix(*root)) {
      out.push_back(std::move(*root));
    }
  }
  return out;
}

// The letter at `n` of `w`, or '\0' past its end.
char letterAt(std::string_view w, std::size_t n) {
  return n < w.size() ? w[n] : '\0';
}

// The roots of `w` without its nasal prefix `nasal` ("me" or "pe", which `w` starts with).
// `pe_or_ke` reports a pe- prefix that was removed.
std::vector<std::string> removeNasalPrefix(std::string_view w, std::string_view nasal,
                                           bool* pe_or_ke) {
  auto rest = [&](std::size_t n) { return std::string(w.substr(n)); };
  auto after = [&](std::size_t n) { return letterAt(w, n); };
  *pe_or_ke = nasal == "pe";
  std::string_view m = w.substr(2);
  if (startsWith(m, "ny") && isVowel(after(4))) {
    return oneRoot("s" + rest(4));  // menyimpan -> simpan
  }
  if (startsWith(m, "ng")) {
    if (isVowel(after(4))) {
      return twoRoots("k" + rest(4), rest(4));  // mengirim -> kirim, mengambil -> ambil
    }
    return oneRoot(rest(4));  // menghubungi -> hubungi, mengganti -> ganti
  }
  if (startsWith(m, "m")) {
    char c = after(3);
    if (c == 'b' || c == 'f' || c == 'p' || c == 'v') {
      return oneRoot(rest(3));  // membayar -> bayar, memproses -> proses
    }
    if (isVowel(c)) {
      return twoRoots("p" + rest(3), "m" + rest(3));  // memesan -> pesan, memasak -> masak
    }
  }
  if (startsWith(m, "n")) {
    char c = after(3);
    if (c == 'c' || c == 'd' || c == 'j' || c == 's' || c == 't' || c == 'z') {
      return oneRoot(rest(3));  // menjual -> jual, mencari -> cari
    }
    if (isVowel(c)) {
      return twoRoots("t" + rest(3), "n" + rest(3));  // menanya -> tanya, menikah -> nikah
    }
  }
  if (nasal == "me") {
    char c = after(2);
    if (c == 'l' || c == 'm' || c == 'n' || c == 'r' || c == 'w' || c == 'y') {
      return oneRoot(rest(2));  // melihat -> lihat, merusak -> rusak
    }
    return {};
  }
  // pe-
  if (startsWith(w, "per") && rootAfterSuffix(rest(3))) {
    return {rest(3)};  // perbaikan -> baikan
  }
  if (!isVowel(after(2)) && confixRoot(w.substr(2))) {
    return {rest(2)};  // pekerjaan -> kerjaan, pelayanan -> layanan; not pesanan
  }
  *pe_or_ke = false;
  return {};
}

// The roots a word may have once one prefix is removed; empty when no prefix applies.
// `first`: the outer prefix (the inner one, after it, can only be per-, ber- or ter-:
// "diperbaiki", "keterlambatan"); `had_nya`: the word ended in -nya (se-...-nya).
// `pe_or_ke` reports a pe- or ke- prefix (then the suffix can only be -an).
std::vector<std::string> removePrefix(std::string_view w, bool first, bool had_nya,
                                      bool* pe_or_ke) {
  if (!first) {
    if ((startsWith(w, "per") || startsWith(w, "ber") || startsWith(w, "ter")) &&
        rootAfterPrefix(w.substr(3))) {
      return {std::string(w.substr(3))};
    }
    return {};
  }
  auto rest = [&](std::size_t n) { return std::string(w.substr(n)); };
  auto after = [&](std::size_t n) { return letterAt(w, n); };
  for (std::string_view nasal : {"me", "pe"}) {
    if (startsWith(w, nasal)) {
      return removeNasalPrefix(w, nasal, pe_or_ke);
    }
  }
  if (startsWith(w, "di")) {
    return oneRoot(rest(2));  // dikirim -> kirim
  }
  if (startsWith(w, "ter") || startsWith(w, "ber")) {
    return oneRoot(rest(3));  // terkirim -> kirim, berlaku -> laku
  }
  if (startsWith(w, "bekerja")) {
    return {rest(2)};
  }
  if (startsWith(w, "ke") && confixRoot(w.substr(2))) {
    *pe_or_ke = true;
    return {rest(2)};  // kerusakan -> rusakan; not kembali, kemasan
  }
  if (startsWith(w, "se") && had_nya && rootAfterSuffix(rest(2))) {
    return {rest(2)};  // secepatnya -> cepat
  }
  // Informal Jakartan: ngirim, ngambil, ngecek, nyari.
  if (startsWith(w, "nge") && !isVowel(after(3))) {
    return oneRoot(rest(3));
  }
  if (startsWith(w, "ng") && isVowel(after(2))) {
    return twoRoots("k" + rest(2), rest(2));
  }
  if (startsWith(w, "ny") && isVowel(after(2))) {
    return twoRoots("s" + rest(2), "c" + rest(2));
  }
  return {};
}

// Up to two prefixes, then the suffix. A root whose suffix would leave too little is taken
// without that prefix instead ("pesanan" is pesan+an, not pe+san+an).
std::vector<std::string> stemIndonesian(const std::string& word, bool had_nya) {
  bool pe_or_ke = false;
  std::vector<std::string> roots;
  for (std::string& first : removePrefix(word, true, had_nya, &pe_or_ke)) {
    bool unused = false;
    std::vector<std::string> second = removePrefix(first, false, false, &unused);
    if (second.empty()) {
      roots.push_back(std::move(first));
    } else {
      for (std::string& root : second) {
        roots.push_back(std::move(root));
      }
    }
  }
  std::vector<std::string> out;
  for (const std::string& root : roots) {
    std::string stem = stripSuffix(root, pe_or_ke);
    if (stem.size() >= 3 && std::find(out.begin(), out.end(), stem) == out.end()) {
      out.push_back(std::move(stem));
    }
  }
  if (out.empty()) {
    out.push_back(stripSuffix(word, false));
  }
  return out;
}

// English plural and verb endings, for words the Indonesian rules left alone.
std::string stemEnglish(std::string w) {
  auto undouble = [](std::string& s) {
    std::size_t n = s.size();
    if (n >= 2 && s[n - 1] == s[n - 2] && !isVowel(s[n - 1]) && s[n - 1] != 'l' &&
        s[n - 1] != 's' && s[n - 1] != 'z') {
      s.pop_back();
    }
  };
  if (endsWith(w, "ies") && w.size() >= 5) {
    w.replace(w.size() - 3, 3, "y");
    return w;
  }
  if (endsWith(w, "ing") && w.size() >= 6 &&
      vowels(std::string_view(w).substr(0, w.size() - 3)) >= 1) {
    w.resize(w.size() - 3);
    undouble(w);
    return w;
  }
  if (endsWith(w, "ed") && w.size() >= 5 &&
      vowels(std::string_view(w).substr(0, w.size() - 2)) >= 1) {
    w.resize(w.size() - 2);
    undouble(w);
    return w;
  }
  for (std::string_view es : lexicon::kEnglishEsPlurals) {
    if (endsWith(w, es)) {
      w.resize(w.size() - 2);
      return w;
    }
  }
  if (w.size() >= 4 && w.back() == 's') {
    char before = w[w.size() - 2];
    if (before != 's' && before != 'u' && before != 'i') {
      w.pop_back();
    }
  }
  return w;
}

bool hasDigit(std::string_view w) {
  return std::any_of(w.begin(), w.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool isAscii(std::string_view w) {
  return std::all_of(w.begin(), w.end(), [](char c) { return (c & 0x80) == 0; });
}

// The standard words for `word` when it is an informal spelling (also with -nya and other
// endings attached: "ongkirnya"), else nullptr.
const std::string_view* slangFor(const std::string& word) {
  const auto& table = lexicon::slang();
  if (auto it = table.find(word); it != table.end()) {
    return &it->second;
  }
  for (std::string_view suffix : lexicon::kSlangEndings) {
    if (endsWith(word, suffix) && word.size() > suffix.size() + 1) {
      auto it = table.find(std::string_view(word).substr(0, word.size() - suffix.size()));
      if (it != table.end()) {
        return &it->second;
      }
    }
  }
  return nullptr;
}

void addWord(const std::string& word, std::vector<std::string>& out) {
  if (lexicon::stopWords().contains(word)) {
    return;
  }
  if (word.size() == 1 && !hasDigit(word)) {
    return;
  }
  for (std::string& term : stemWord(word)) {
    out.push_back(std::move(term));
  }
}

}  // namespace

std::vector<std::string> tokenize(std::string_view text) {
  std::vector<std::string> words;
  std::string word;
  auto flush = [&] {
    if (!word.empty()) {
      words.push_back(std::move(word));
      word.clear();
    }
  };
  std::size_t i = 0;
  while (i < text.size()) {
    char32_t cp = decode(text, i);
    if (cp < 0x80) {
      char c = static_cast<char>(cp);
      if (c >= 'A' && c <= 'Z') {
        word += static_cast<char>(c - 'A' + 'a');
      } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
        word += c;
      } else {
        flush();
      }
    } else if (cp >= 0x300 && cp <= 0x36F) {
      // A combining accent (decomposed text): dropped, the word goes on.
    } else if (cp >= 0xC0 && cp <= 0xFF) {
      const char* folded = foldLatin1(cp);
      if (folded == nullptr) {
        flush();
      } else {
        word += folded;
      }
    } else if (cp >= 0x100 && cp <= 0x17F) {
      word += lexicon::kLatinExtendedA[cp - 0x100];
    } else if (isSeparator(cp)) {
      flush();
    } else {
      appendUtf8(word, cp);
    }
  }
  flush();
  return words;
}

std::vector<std::string> stemWord(std::string_view word_view) {
  std::string word(word_view);
  if (hasDigit(word) || !isAscii(word)) {
    return {word};
  }
  bool had_nya = false;
  std::string base = stripInflection(word, &had_nya);
  std::vector<std::string> stems = stemIndonesian(base, had_nya);
  if (stems.size() == 1 && stems.front() == base && base == word) {
    return {stemEnglish(std::move(word))};
  }
  return stems;
}

std::vector<std::string> analyze(std::string_view text) {
  std::vector<std::string> terms;
  for (const std::string& word : tokenize(text)) {
    if (const std::string_view* standard = slangFor(word)) {
      // The replacement may be several words ("ongkos kirim"); each is analysed as usual.
      for (const std::string& part : tokenize(*standard)) {
        addWord(part, terms);
      }
      continue;
    }
    addWord(word, terms);
  }
  return terms;
}

std::vector<std::string> queryTerms(std::string_view question, std::size_t max_terms) {
  std::vector<std::string> out;
  std::unordered_set<std::string> seen;
  for (std::string& term : analyze(question)) {
    if (out.size() >= max_terms) {
      break;
    }
    if (seen.insert(term).second) {
      out.push_back(std::move(term));
    }
  }
  return out;
}

std::string joinTerms(const std::vector<std::string>& terms) {
  std::string out;
  for (const std::string& term : terms) {
    if (!out.empty()) {
      out += ' ';
    }
    out += term;
  }
  return out;
}

}  // namespace waflow::core::knowledge
