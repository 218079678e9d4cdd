#include "text/normalize.h"

#include <array>

namespace waflow::core::text {

namespace {

// Accent folding for U+00C0..U+017F, by ranges of code points sharing a base letter.
// nullptr marks a symbol (U+00D7 multiplication, U+00F7 division): a separator.
struct Fold {
  char32_t first;
  char32_t last;
  const char* base;
};

constexpr std::array<Fold, 56> kFolds = {{
    {0xC0, 0xC5, "a"},     {0xC6, 0xC6, "ae"},   {0xC7, 0xC7, "c"},     {0xC8, 0xCB, "e"},
    {0xCC, 0xCF, "i"},     {0xD0, 0xD0, "d"},    {0xD1, 0xD1, "n"},     {0xD2, 0xD6, "o"},
    {0xD7, 0xD7, nullptr}, {0xD8, 0xD8, "o"},    {0xD9, 0xDC, "u"},     {0xDD, 0xDD, "y"},
    {0xDE, 0xDE, "th"},    {0xDF, 0xDF, "ss"},   {0xE0, 0xE5, "a"},     {0xE6, 0xE6, "ae"},
    {0xE7, 0xE7, "c"},     {0xE8, 0xEB, "e"},    {0xEC, 0xEF, "i"},     {0xF0, 0xF0, "d"},
    {0xF1, 0xF1, "n"},     {0xF2, 0xF6, "o"},    {0xF7, 0xF7, nullptr}, {0xF8, 0xF8, "o"},
    {0xF9, 0xFC, "u"},     {0xFD, 0xFD, "y"},    {0xFE, 0xFE, "th"},    {0xFF, 0xFF, "y"},
    {0x100, 0x105, "a"},   {0x106, 0x10D, "c"},  {0x10E, 0x111, "d"},   {0x112, 0x11B, "e"},
    {0x11C, 0x123, "g"},   {0x124, 0x127, "h"},  {0x128, 0x131, "i"},   {0x132, 0x133, "ij"},
    {0x134, 0x135, "j"},   {0x136, 0x138, "k"},  {0x139, 0x142, "l"},   {0x143, 0x14B, "n"},
    {0x14C, 0x151, "o"},   {0x152, 0x153, "oe"}, {0x154, 0x159, "r"},   {0x15A, 0x161, "s"},
    {0x162, 0x167, "t"},   {0x168, 0x173, "u"},  {0x174, 0x175, "w"},   {0x176, 0x178, "y"},
    {0x179, 0x17E, "z"},   {0x17F, 0x17F, "s"},  {0, 0, nullptr},       {0, 0, nullptr},
    {0, 0, nullptr},       {0, 0, nullptr},      {0, 0, nullptr},       {0, 0, nullptr},
}};

const Fold* findFold(char32_t cp) {
  for (const Fold& f : kFolds) {
    if (f.first == 0) {
      break;
    }
    if (cp >= f.first && cp <= f.last) {
      return &f;
    }
  }
  return nullptr;
}

// Decodes one UTF-8 sequence at s[i]; returns its length, or 0 when it is invalid.
size_t decode(std::string_view s, size_t i, char32_t& cp) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char b0 = byte(i);
  size_t len = 0;
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  }
  if ((b0 & 0xE0) == 0xC0) {
    len = 2;
    cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3;
    cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4;
    cp = b0 & 0x07;
  } else {
    return 0;
  }
  if (i + len > s.size()) {
    return 0;
  }
  for (size_t k = 1; k < len; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) {
      return 0;
    }
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  static constexpr char32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    return 0;
  }
  return len;
}

bool isSeparator(char32_t cp) {
  if (cp < 0x80) {
    return !((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9'));
  }
  return (cp >= 0x80 && cp <= 0xBF) || (cp >= 0x2000 && cp <= 0x206F) || cp == 0x3000 ||
         cp == 0xFEFF;
}

class Writer {
 public:
  explicit Writer(char* out) : out_(out) {}
  void separator() { pending_space_ = size_ > 0; }
  void letter(char c) {
    if (c == last_letter_ && !pending_space_) {
      return;
    }
    flushSpace();
    out_[size_++] = c;
    last_letter_ = c;
  }
  void other(std::string_view bytes) {
    flushSpace();
    for (char c : bytes) {
      out_[size_++] = c;
    }
    last_letter_ = 0;
  }
  size_t size() const { return size_; }

 private:
  void flushSpace() {
    if (pending_space_) {
      out_[size_++] = ' ';
      pending_space_ = false;
      last_letter_ = 0;
    }
  }
  char* out_;
  size_t size_ = 0;
  char last_letter_ = 0;
  bool pending_space_ = false;
};

bool withinOneEdit(std::string_view a, std::string_view b) {
  if (a.size() > b.size()) {
    std::swap(a, b);
  }
  if (b.size() - a.size() > 1) {
    return false;
  }
  size_t i = 0;
  while (i < a.size() && a[i] == b[i]) {
    ++i;
  }
  if (i == a.size()) {
    return true;  // equal, or b has one extra letter at the end
  }
  if (a.size() != b.size()) {
    return a.substr(i) == b.substr(i + 1);  // one insertion
  }
  if (a.substr(i + 1) == b.substr(i + 1)) {
    return true;  // one substitution
  }
  return i + 1 < a.size() && a[i] == b[i + 1] && a[i + 1] == b[i] &&
         a.substr(i + 2) == b.substr(i + 2);  // neighbours swapped
}

constexpr std::array<std::string_view, 6> kSuffixes = {"nya", "kah", "lah", "pun", "ku", "mu"};

bool lastWordMatches(std::string_view word, std::string_view keyword) {
  if (word == keyword) {
    return true;
  }
  if (word.size() <= keyword.size() || word.substr(0, keyword.size()) != keyword) {
    return false;
  }
  std::string_view rest = word.substr(keyword.size());
  for (std::string_view suffix : kSuffixes) {
    // Normalizing merged a doubled letter at the joint: "makan" + "nya" -> "makanya".
    if (rest == suffix || (keyword.back() == suffix.front() && rest == suffix.substr(1))) {
      return true;
    }
  }
  return false;
}

}  // namespace

size_t normalizeInto(std::string_view input, char* out) {
  Writer w(out);
  size_t i = 0;
  while (i < input.size()) {
    char32_t cp = 0;
    size_t len = decode(input, i, cp);
    if (len == 0) {
      w.separator();
      ++i;
      continue;
    }
    if (cp >= 'A' && cp <= 'Z') {
      w.letter(static_cast<char>(cp - 'A' + 'a'));
    } else if (cp >= 'a' && cp <= 'z') {
      w.letter(static_cast<char>(cp));
    } else if (cp >= '0' && cp <= '9') {
      w.other(input.substr(i, 1));
    } else if (cp >= 0x300 && cp <= 0x36F) {
      // A combining accent: dropped, the letter before it stays.
    } else if (const Fold* fold = (cp >= 0xC0 && cp <= 0x17F) ? findFold(cp) : nullptr) {
      if (fold->base == nullptr) {
        w.separator();
      } else {
        for (const char* c = fold->base; *c != '\0'; ++c) {
          w.letter(*c);
        }
      }
    } else if (isSeparator(cp)) {
      w.separator();
    } else {
      w.other(input.substr(i, len));
    }
    i += len;
  }
  return w.size();
}

std::string normalizeText(std::string_view input) {
  std::string out(normalizedCapacity(input.size()), '\0');
  out.resize(normalizeInto(input, out.data()));
  return out;
}

std::vector<std::string_view> splitWords(std::string_view normalized) {
  std::vector<std::string_view> words;
  size_t start = 0;
  while (start < normalized.size()) {
    size_t end = normalized.find(' ', start);
    if (end == std::string_view::npos) {
      end = normalized.size();
    }
    if (end > start) {
      words.push_back(normalized.substr(start, end - start));
    }
    start = end + 1;
  }
  return words;
}

KeywordMatcher::KeywordMatcher(const std::vector<std::string>& keywords) {
  normalized_.reserve(keywords.size());
  for (const std::string& keyword : keywords) {
    normalized_.push_back(normalizeText(keyword));
  }
  for (const std::string& normalized : normalized_) {
    std::vector<std::pair<size_t, size_t>> words;
    for (std::string_view word : splitWords(normalized)) {
      words.emplace_back(static_cast<size_t>(word.data() - normalized.data()), word.size());
    }
    words_.push_back(std::move(words));
  }
}

bool KeywordMatcher::matches(const std::vector<std::string_view>& text_words,
                             const std::vector<std::string_view>& keyword_words) {
  size_t k = keyword_words.size();
  if (k == 0 || text_words.size() < k) {
    return false;
  }
  for (size_t i = 0; i + k <= text_words.size(); ++i) {
    bool all = true;
    for (size_t j = 0; j + 1 < k && all; ++j) {
      all = text_words[i + j] == keyword_words[j];
    }
    if (all && lastWordMatches(text_words[i + k - 1], keyword_words[k - 1])) {
      return true;
    }
  }
  if (k == 1 && keyword_words[0].size() >= 6) {
    std::string_view keyword = keyword_words[0];
    for (std::string_view word : text_words) {
      if (word.size() >= 5 && word[0] == keyword[0] && withinOneEdit(word, keyword)) {
        return true;
      }
    }
  }
  return false;
}

NormalizedText::NormalizedText(std::string_view text)
    : normalized(normalizeText(text)), words(splitWords(normalized)) {}

std::optional<size_t> KeywordMatcher::match(std::string_view text) const {
  return match(NormalizedText(text));
}

std::optional<size_t> KeywordMatcher::match(const NormalizedText& text) const {
  const std::vector<std::string_view>& words = text.words;
  std::vector<std::string_view> keyword;
  for (size_t i = 0; i < words_.size(); ++i) {
    keyword.clear();
    for (auto [offset, length] : words_[i]) {
      keyword.push_back(std::string_view(normalized_[i]).substr(offset, length));
    }
    if (matches(words, keyword)) {
      return i;
    }
  }
  return std::nullopt;
}

}  // namespace waflow::core::text
