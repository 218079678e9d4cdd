#include "knowledge/chunker.h"
#include "text/ascii.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <string>

namespace waflow::core::knowledge {
namespace {

using text::lowerAscii;
using text::trimSpace;

std::string_view skipBom(std::string_view s) {
  if (s.substr(0, 3) == "\xEF\xBB\xBF") {
    s.remove_prefix(3);
  }
  return s;
}

// The lines of `text`, without their line ends (\n or \r\n).
std::vector<std::string_view> lines(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    std::string_view line =
        text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    out.push_back(line);
    if (end == std::string_view::npos) {
      break;
    }
    start = end + 1;
  }
  return out;
}

// The largest cut <= limit that does not split a UTF-8 character.
std::size_t utf8Cut(std::string_view s, std::size_t limit) {
  std::size_t cut = std::min(limit, s.size());
  while (cut > 0 && cut < s.size() && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) {
    --cut;
  }
  return cut;
}

// Splits one piece that has no blank line: at the last sentence end, else the last space,
// else anywhere (a character boundary), before the limit.
void splitLong(std::string_view text, std::size_t limit, std::vector<std::string>& out) {
  while (text.size() > limit) {
    std::size_t cut = std::string_view::npos;
    std::string_view window = text.substr(0, utf8Cut(text, limit));
    for (std::size_t i = window.size(); i > limit / 3; --i) {
      char c = window[i - 1];
      if ((c == '.' || c == '!' || c == '?' || c == '\n') &&
          (i == window.size() || window[i] == ' ' || window[i] == '\n')) {
        cut = i;
        break;
      }
    }
    if (cut == std::string_view::npos) {
      std::size_t space = window.find_last_of(" \t\n");
      cut = space != std::string_view::npos && space > 0 ? space : window.size();
    }
    if (cut == 0) {
      cut = std::max<std::size_t>(1, window.size());
    }
    std::string_view piece = trimSpace(text.substr(0, cut));
    if (!piece.empty()) {
      out.emplace_back(piece);
    }
    text = trimSpace(text.substr(cut));
  }
  if (!trimSpace(text).empty()) {
    out.emplace_back(trimSpace(text));
  }
}

// Paragraphs: runs of non-blank lines.
std::vector<std::string> paragraphs(std::string_view text) {
  std::vector<std::string> out;
  std::string current;
  for (std::string_view line : lines(text)) {
    if (trimSpace(line).empty()) {
      if (!current.empty()) {
        out.push_back(std::move(current));
        current.clear();
      }
      continue;
    }
    if (!current.empty()) {
      current += '\n';
    }
    current += line;
  }
  if (!current.empty()) {
    out.push_back(std::move(current));
  }
  return out;
}

// ---- markdown ----------------------------------------------------------------------

// The level and text of an ATX heading ("## Returns" -> 2, "Returns"), else nullopt.
std::optional<std::pair<int, std::string>> atxHeading(std::string_view line) {
  std::size_t indent = line.find_first_not_of(' ');
  if (indent == std::string_view::npos || indent > 3) {
    return std::nullopt;
  }
  line.remove_prefix(indent);
  std::size_t level = line.find_first_not_of('#');
  if (level == 0 || level > 6) {
    return std::nullopt;
  }
  if (level == std::string_view::npos) {
    return std::pair<int, std::string>(static_cast<int>(line.size()), "");
  }
  if (line[level] != ' ' && line[level] != '\t') {
    return std::nullopt;  // "#hashtag" is text
  }
  std::string_view title = trimSpace(line.substr(level));
  // A closing sequence of #s is not part of the title.
  std::size_t closing = title.find_last_not_of('#');
  if (closing != std::string_view::npos && closing + 1 < title.size() &&
      (title[closing] == ' ' || title[closing] == '\t')) {
    title = trimSpace(title.substr(0, closing));
  }
  return std::pair<int, std::string>(static_cast<int>(level), std::string(title));
}

// "===" (level 1) or "---" (level 2) under a line of text makes that line a heading.
int setextLevel(std::string_view line) {
  std::string_view t = trimSpace(line);
  if (t.empty()) {
    return 0;
  }
  if (t.find_first_not_of('=') == std::string_view::npos) {
    return 1;
  }
  if (t.find_first_not_of('-') == std::string_view::npos && t.size() >= 2) {
    return 2;
  }
  return 0;
}

bool isFence(std::string_view line) {
  std::string_view t = trimSpace(line);
  return t.substr(0, 3) == "```" || t.substr(0, 3) == "~~~";
}

std::string headingPath(const std::vector<std::pair<int, std::string>>& stack) {
  std::string out;
  for (const auto& [level, title] : stack) {
    if (title.empty()) {
      continue;
    }
    if (!out.empty()) {
      out += " > ";
    }
    out += title;
  }
  return out;
}

void emitSection(const std::string& title, const std::string& body, std::size_t chunk_size,
                 std::vector<Chunk>& out) {
  for (std::string& piece : splitText(body, chunk_size)) {
    out.push_back({title, std::move(piece), ""});
  }
}

// ---- CSV ---------------------------------------------------------------------------

struct CsvRow {
  std::vector<std::string> fields;
  std::size_t line = 0;  // 1-based line where the row starts
};

// RFC 4180: fields separated by commas, optionally in double quotes; a quote inside a quoted
// field is written twice; quoted fields may span lines. Fails on an unclosed quote or text
// after a closing quote.
bool parseCsv(std::string_view text, std::vector<CsvRow>& rows, std::string& error) {
  std::size_t line = 1;
  std::size_t i = 0;
  while (i < text.size()) {
    CsvRow row;
    row.line = line;
    for (;;) {
      std::string field;
      if (i < text.size() && text[i] == '"') {
        std::size_t opened = line;
        ++i;
        for (;;) {
          if (i >= text.size()) {
            error = std::to_string(opened) + ": a quoted field is not closed (a '\"' is missing)";
            return false;
          }
          char c = text[i++];
          if (c == '"') {
            if (i < text.size() && text[i] == '"') {
              field += '"';
              ++i;
              continue;
            }
            break;
          }
          if (c == '\n') {
            ++line;
          }
          field += c;
        }
        while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) {
          ++i;
        }
        if (i < text.size() && text[i] != ',' && text[i] != '\n' && text[i] != '\r') {
          error = std::to_string(line) +
                  ": text after a closing quote; inside a quoted field write a quote as \"\"";
          return false;
        }
      } else {
        while (i < text.size() && text[i] != ',' && text[i] != '\n' && text[i] != '\r') {
          field += text[i++];
        }
      }
      row.fields.push_back(std::move(field));
      if (i < text.size() && text[i] == ',') {
        ++i;
        continue;
      }
      if (i < text.size() && text[i] == '\r') {
        ++i;
      }
      if (i < text.size() && text[i] == '\n') {
        ++i;
        ++line;
      }
      break;
    }
    bool blank = std::all_of(row.fields.begin(), row.fields.end(),
                             [](const std::string& f) { return trimSpace(f).empty(); });
    if (!blank) {
      rows.push_back(std::move(row));
    }
  }
  return true;
}

}  // namespace

SourceFormat formatOf(std::string_view path) {
  std::size_t dot = path.find_last_of('.');
  std::size_t slash = path.find_last_of('/');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash)) {
    return SourceFormat::kUnsupported;
  }
  std::string ext = lowerAscii(path.substr(dot + 1));
  if (ext == "md" || ext == "markdown") {
    return SourceFormat::kMarkdown;
  }
  if (ext == "txt") {
    return SourceFormat::kText;
  }
  if (ext == "csv") {
    return SourceFormat::kCsv;
  }
  return SourceFormat::kUnsupported;
}

std::vector<std::string> splitText(std::string_view text, std::size_t limit) {
  limit = std::max<std::size_t>(limit, 16);
  std::vector<std::string> out;
  std::string current;
  auto flush = [&] {
    if (!current.empty()) {
      out.push_back(std::move(current));
      current.clear();
    }
  };
  for (std::string& paragraph : paragraphs(text)) {
    if (paragraph.size() > limit) {
      flush();
      splitLong(paragraph, limit, out);
      continue;
    }
    if (!current.empty() && current.size() + 2 + paragraph.size() > limit) {
      flush();
    }
    if (!current.empty()) {
      current += "\n\n";
    }
    current += paragraph;
  }
  flush();
  return out;
}

std::vector<Chunk> chunkMarkdown(std::string_view text, std::size_t chunk_size) {
  std::vector<Chunk> out;
  std::vector<std::pair<int, std::string>> stack;  // the headings above the current line
  std::string title;
  std::string body;
  bool in_fence = false;
  std::vector<std::string_view> all = lines(skipBom(text));
  auto startSection = [&](int level, std::string heading) {
    emitSection(title, body, chunk_size, out);
    body.clear();
    while (!stack.empty() && stack.back().first >= level) {
      stack.pop_back();
    }
    stack.emplace_back(level, std::move(heading));
    title = headingPath(stack);
  };
  for (std::size_t n = 0; n < all.size(); ++n) {
    std::string_view line = all[n];
    if (isFence(line)) {
      in_fence = !in_fence;
    } else if (!in_fence) {
      if (auto heading = atxHeading(line)) {
        startSection(heading->first, std::move(heading->second));
        continue;
      }
      // Setext: a one-line paragraph underlined by === or ---.
      if (n + 1 < all.size() && !trimSpace(line).empty() && setextLevel(all[n + 1]) > 0 &&
          (n == 0 || trimSpace(all[n - 1]).empty() || isFence(all[n - 1]) ||
           atxHeading(all[n - 1]))) {
        startSection(setextLevel(all[n + 1]), std::string(trimSpace(line)));
        ++n;
        continue;
      }
    }
    body += line;
    body += '\n';
  }
  emitSection(title, body, chunk_size, out);
  return out;
}

std::vector<Chunk> chunkText(std::string_view text, std::size_t chunk_size) {
  std::vector<Chunk> out;
  for (std::string& piece : splitText(skipBom(text), chunk_size)) {
    out.push_back({"", std::move(piece), ""});
  }
  return out;
}

ChunkResult chunkCsvFaq(std::string_view text) {
  ChunkResult result;
  std::vector<CsvRow> rows;
  if (!parseCsv(skipBom(text), rows, result.error)) {
    return result;
  }
  if (rows.empty()) {
    return result;  // an empty file has no questions
  }
  int question = -1;
  int answer = -1;
  int tags = -1;
  const CsvRow& header = rows.front();
  for (std::size_t c = 0; c < header.fields.size(); ++c) {
    std::string name = lowerAscii(trimSpace(header.fields[c]));
    if (name == "question" || name == "pertanyaan") {
      question = static_cast<int>(c);
    } else if (name == "answer" || name == "jawaban") {
      answer = static_cast<int>(c);
    } else if (name == "tags" || name == "tag" || name == "kata_kunci") {
      tags = static_cast<int>(c);
    }
  }
  if (question < 0 || answer < 0) {
    std::string found;
    for (const std::string& f : header.fields) {
      found += (found.empty() ? "" : ", ") + std::string(trimSpace(f));
    }
    result.error = std::to_string(header.line) +
                   ": the first row must name the columns 'question' and 'answer' (optionally "
                   "'tags'); found: " +
                   found;
    return result;
  }
  auto field = [](const CsvRow& row, int column) -> std::string {
    if (column < 0 || static_cast<std::size_t>(column) >= row.fields.size()) {
      return {};
    }
    return std::string(trimSpace(row.fields[static_cast<std::size_t>(column)]));
  };
  for (std::size_t r = 1; r < rows.size(); ++r) {
    const CsvRow& row = rows[r];
    std::string q = field(row, question);
    std::string a = field(row, answer);
    if (q.empty() || a.empty()) {
      result.error =
          std::to_string(row.line) + ": " +
          (q.empty() ? std::string("the question is empty") : std::string("the answer is empty")) +
          "; every row needs both (check for a missing comma or a stray quote)";
      result.chunks.clear();
      return result;
    }
    result.chunks.push_back({std::move(q), std::move(a), field(row, tags)});
  }
  return result;
}

ChunkResult chunkFile(std::string_view path, std::string_view contents, std::size_t chunk_size) {
  switch (formatOf(path)) {
    case SourceFormat::kMarkdown:
      return {chunkMarkdown(contents, chunk_size), ""};
    case SourceFormat::kText:
      return {chunkText(contents, chunk_size), ""};
    case SourceFormat::kCsv:
      return chunkCsvFaq(contents);
    case SourceFormat::kUnsupported:
      break;
  }
  return {{}, "unsupported file type; knowledge sources are .md, .markdown, .txt and .csv files"};
}

}  // namespace waflow::core::knowledge
