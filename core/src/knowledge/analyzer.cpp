#include "knowledge/analyzer.h"
#include "text/utf8.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace waflow::core::knowledge {
namespace {

// Informal Indonesian (and chat) spellings -> the standard words, one or more. Replacing them
// before stop words and stemming means "brp ongkir" and "berapa ongkos kirim" analyse alike.
// docs/knowledge.md lists the same table.
const std::unordered_map<std::string_view, std::string_view>& slang() {
  static const std::unordered_map<std::string_view, std::string_view> table = {
      // negation
      {"gak", "tidak"},
      {"ga", "tidak"},
      {"gk", "tidak"},
      {"nggak", "tidak"},
      {"ngga", "tidak"},
      {"nggk", "tidak"},
      {"enggak", "tidak"},
      {"engga", "tidak"},
      {"kagak", "tidak"},
      {"ndak", "tidak"},
      {"tdk", "tidak"},
      {"tak", "tidak"},
      // question words
      {"brp", "berapa"},
      {"brapa", "berapa"},
      {"gimana", "bagaimana"},
      {"gmn", "bagaimana"},
      {"gmna", "bagaimana"},
      {"bgmn", "bagaimana"},
      {"gmana", "bagaimana"},
      {"dimana", "di mana"},
      {"dmn", "di mana"},
      {"knp", "kenapa"},
      {"kpn", "kapan"},
      // shop words
      {"ongkir", "ongkos kirim"},
      {"tf", "transfer"},
      {"trf", "transfer"},
      {"trsf", "transfer"},
      {"hrg", "harga"},
      {"brg", "barang"},
      {"rek", "rekening"},
      {"norek", "nomor rekening"},
      {"pesen", "pesan"},
      {"tgl", "tanggal"},
      {"wa", "whatsapp"},
      {"pake", "pakai"},
      {"nyampe", "sampai"},
      {"nyampai", "sampai"},
      {"sampe", "sampai"},
      {"nunggu", "tunggu"},
      {"duit", "uang"},
      {"byr", "bayar"},
      {"krm", "kirim"},
      {"alamt", "alamat"},
      // function words
      {"sy", "saya"},
      {"gw", "saya"},
      {"gue", "saya"},
      {"gua", "saya"},
      {"aku", "saya"},
      {"kalo", "kalau"},
      {"klo", "kalau"},
      {"kl", "kalau"},
      {"bs", "bisa"},
      {"bsa", "bisa"},
      {"udh", "sudah"},
      {"udah", "sudah"},
      {"sdh", "sudah"},
      {"dah", "sudah"},
      {"blm", "belum"},
      {"blum", "belum"},
      {"yg", "yang"},
      {"dgn", "dengan"},
      {"dg", "dengan"},
      {"utk", "untuk"},
      {"untk", "untuk"},
      {"tp", "tapi"},
      {"tpi", "tapi"},
      {"jg", "juga"},
      {"krn", "karena"},
      {"karna", "karena"},
      {"pengen", "ingin"},
      {"pgn", "ingin"},
      {"pingin", "ingin"},
      {"mo", "mau"},
      {"lg", "lagi"},
      {"aja", "saja"},
      {"bgt", "banget"},
      {"makasih", "terima kasih"},
      {"makasi", "terima kasih"},
      {"mksh", "terima kasih"},
      {"trims", "terima kasih"},
      {"terimakasih", "terima kasih"},
      {"thx", "thanks"},
      {"pls", "please"},
      {"plz", "please"},
  };
  return table;
}

// Words that carry no topic: Indonesian and English function words, question words that say
// how something is asked rather than what about ("berapa", "bagaimana", "how", "what"; kept:
// "kapan"/"when" and "kenapa"/"why", which do narrow the answer), greetings and forms of
// address. The retrieval test (tests/unit/knowledge) is what these choices were tuned on.
const std::unordered_set<std::string_view>& stopWords() {
  static const std::unordered_set<std::string_view> words = {
      // Indonesian
      "yang",
      "dan",
      "di",
      "ke",
      "dari",
      "untuk",
      "dengan",
      "ini",
      "itu",
      "ada",
      "adalah",
      "akan",
      "atau",
      "juga",
      "saya",
      "kamu",
      "anda",
      "kami",
      "kita",
      "mereka",
      "dia",
      "ia",
      "nya",
      "ya",
      "iya",
      "yah",
      "tidak",
      "bukan",
      "apa",
      "apakah",
      "bagaimana",
      "berapa",
      "siapa",
      "mana",
      "bisa",
      "dapat",
      "boleh",
      "mau",
      "ingin",
      "sudah",
      "belum",
      "masih",
      "lagi",
      "saja",
      "sangat",
      "sekali",
      "banget",
      "kalau",
      "jika",
      "bila",
      "apabila",
      "agar",
      "supaya",
      "karena",
      "tapi",
      "tetapi",
      "namun",
      "oleh",
      "pada",
      "dalam",
      "sebagai",
      "para",
      "tersebut",
      "bahwa",
      "seperti",
      "harus",
      "telah",
      "sedang",
      "cuma",
      "hanya",
      "pun",
      "dong",
      "deh",
      "sih",
      "nih",
      "kok",
      "lah",
      "kah",
      "kan",
      "nah",
      "gitu",
      "begitu",
      "gini",
      "begini",
      "dll",
      "dsb",
      "ok",
      "oke",
      "sip",
      "halo",
      "hai",
      "hallo",
      "permisi",
      "tolong",
      "mohon",
      "terima",
      "kasih",
      "kak",
      "ka",
      "kk",
      "kakak",
      "min",
      "mimin",
      "gan",
      "agan",
      "sis",
      "sist",
      "bang",
      "bro",
      "mas",
      "mbak",
      "mba",
      "bu",
      "ibu",
      "pak",
      "bapak",
      "om",
      "tante",
      "bos",
      "boss",
      // English
      "a",
      "an",
      "the",
      "is",
      "are",
      "was",
      "were",
      "be",
      "been",
      "being",
      "am",
      "do",
      "does",
      "did",
      "doing",
      "i",
      "me",
      "my",
      "mine",
      "you",
      "your",
      "yours",
      "we",
      "us",
      "our",
      "they",
      "them",
      "their",
      "he",
      "him",
      "his",
      "she",
      "her",
      "it",
      "its",
      "this",
      "that",
      "these",
      "those",
      "there",
      "here",
      "of",
      "to",
      "in",
      "on",
      "at",
      "for",
      "with",
      "and",
      "or",
      "but",
      "if",
      "then",
      "than",
      "so",
      "not",
      "no",
      "can",
      "could",
      "will",
      "would",
      "shall",
      "should",
      "may",
      "might",
      "must",
      "have",
      "has",
      "had",
      "how",
      "what",
      "which",
      "who",
      "whom",
      "whose",
      "where",
      "please",
      "hi",
      "hello",
      "hey",
      "thanks",
      "thank",
      "about",
      "from",
      "by",
      "as",
      "into",
      "any",
      "some",
      "just",
      "also",
      "too",
      "very",
      "get",
      "s",
      "t",
      "m",
      "d",
      "ll",
      "re",
      "ve",
  };
  return words;
}

// ---- characters ----------------------------------------------------------------------

// U+0100..U+017F (Latin Extended-A) without their diacritics, lower-case.
constexpr std::string_view kLatinExtendedA =
    "aaaaaaccccccccddddeeeeeeeeeegggggggghhhhiiiiiiiiiijjjjkkkllllllllllnnnnnnnnnoooooooorrrrrr"
    "sssssssstttttt"
    "uuuuuuuuuuuuwwyyyzzzzzzs";
static_assert(kLatinExtendedA.size() == 0x80);

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
  static constexpr std::array<const char*, 0x40> kTable = {
      "a", "a", "a", "a", "a", "a", "ae", "c",     "e", "e", "i", "e", "i", "i", "i",  "i",
      "d", "n", "o", "o", "o", "o", "o",  nullptr, "o", "u", "u", "u", "u", "y", "th", "ss",
      "a", "a", "a", "a", "a", "a", "ae", "c",     "e", "e", "e", "e", "i", "i", "i",  "i",
      "d", "n", "o", "o", "o", "o", "o",  nullptr, "o", "u", "u", "u", "u", "y", "th", "y"};
  return kTable[cp - 0xC0];
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
  for (std::string_view particle : {"lah", "kah", "tah", "pun"}) {
    if (endsWith(word, particle) &&
        rootAfterSuffix(std::string_view(word).substr(0, word.size() - particle.size()))) {
      word.resize(word.size() - particle.size());
      break;
    }
  }
  for (std::string_view possessive : {"nya", "ku", "mu"}) {
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
  for (std::string_view suffix : {"kan", "an", "in"}) {
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
  auto one = [&](std::string root) -> std::vector<std::string> {
    if (rootAfterPrefix(root)) {
      return {std::move(root)};
    }
    return {};
  };
  // Nasal recoding with two candidate roots (no dictionary to choose between them).
  auto two = [&](std::string a, std::string b) -> std::vector<std::string> {
    std::vector<std::string> out;
    for (std::string* root : {&a, &b}) {
      if (rootAfterPrefix(*root)) {
        out.push_back(std::move(*root));
      }
    }
    return out;
  };
  auto after = [&](std::size_t n) { return n < w.size() ? w[n] : '\0'; };

  for (std::string_view nasal : {"me", "pe"}) {
    if (!startsWith(w, nasal)) {
      continue;
    }
    *pe_or_ke = nasal == "pe";
    std::string_view m = w.substr(2);
    if (startsWith(m, "ny") && isVowel(after(4))) {
      return one("s" + rest(4));  // menyimpan -> simpan
    }
    if (startsWith(m, "ng")) {
      if (isVowel(after(4))) {
        return two("k" + rest(4), rest(4));  // mengirim -> kirim, mengambil -> ambil
      }
      return one(rest(4));  // menghubungi -> hubungi, mengganti -> ganti
    }
    if (startsWith(m, "m")) {
      char c = after(3);
      if (c == 'b' || c == 'f' || c == 'p' || c == 'v') {
        return one(rest(3));  // membayar -> bayar, memproses -> proses
      }
      if (isVowel(c)) {
        return two("p" + rest(3), "m" + rest(3));  // memesan -> pesan, memasak -> masak
      }
    }
    if (startsWith(m, "n")) {
      char c = after(3);
      if (c == 'c' || c == 'd' || c == 'j' || c == 's' || c == 't' || c == 'z') {
        return one(rest(3));  // menjual -> jual, mencari -> cari
      }
      if (isVowel(c)) {
        return two("t" + rest(3), "n" + rest(3));  // menanya -> tanya, menikah -> nikah
      }
    }
    if (nasal == "me") {
      char c = after(2);
      if (c == 'l' || c == 'm' || c == 'n' || c == 'r' || c == 'w' || c == 'y') {
        return one(rest(2));  // melihat -> lihat, merusak -> rusak
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
  if (startsWith(w, "di")) {
    return one(rest(2));  // dikirim -> kirim
  }
  if (startsWith(w, "ter") || startsWith(w, "ber")) {
    return one(rest(3));  // terkirim -> kirim, berlaku -> laku
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
    return one(rest(3));
  }
  if (startsWith(w, "ng") && isVowel(after(2))) {
    return two("k" + rest(2), rest(2));
  }
  if (startsWith(w, "ny") && isVowel(after(2))) {
    return two("s" + rest(2), "c" + rest(2));
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
  for (std::string_view es : {"sses", "shes", "ches", "xes", "zes"}) {
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
  const auto& table = slang();
  if (auto it = table.find(word); it != table.end()) {
    return &it->second;
  }
  for (std::string_view suffix : {"nya", "ny", "lah", "kah", "pun", "ku", "mu"}) {
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
  if (stopWords().contains(word)) {
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
      word += kLatinExtendedA[cp - 0x100];
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
