#include "diag/render.h"

#include <algorithm>
#include <cstddef>

#include <nlohmann/json.hpp>

namespace waflow::core::diag {
namespace {

bool isUtf8Continuation(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

size_t codePoints(std::string_view text) {
  size_t n = 0;
  for (char c : text) {
    n += isUtf8Continuation(c) ? 0 : 1;
  }
  return n;
}

// Width of the '^~~' marker: the known token length, else a quoted string's extent on the
// line, else 1.
size_t markerWidth(const Diagnostic& d, std::string_view line, size_t offset) {
  if (d.length > 0) {
    return static_cast<size_t>(d.length);
  }
  if (offset < line.size() && (line[offset] == '"' || line[offset] == '\'')) {
    const char quote = line[offset];
    for (size_t i = offset + 1; i < line.size(); ++i) {
      if (line[i] == '\\' && quote == '"') {
        ++i;
        continue;
      }
      if (line[i] == quote) {
        return codePoints(line.substr(offset, i - offset + 1));
      }
    }
  }
  return 1;
}

// A source line with its secrets masked, and where each byte offset of the original line
// lands in it.
struct MaskedLine {
  std::string text;
  std::vector<text::Redactor::Span> spans;  // in the original line

  // The offset in `text` of original offset `offset`; inside a secret, its mask's first
  // (`end` false) or one-past-last (`end` true) byte.
  size_t map(size_t offset, bool end) const {
    std::ptrdiff_t shift = 0;
    for (const auto& span : spans) {
      if (offset <= span.begin) {
        break;
      }
      const size_t masked_begin = span.begin + shift;
      if (offset < span.end) {
        return end ? masked_begin + text::Redactor::kMask.size() : masked_begin;
      }
      shift += static_cast<std::ptrdiff_t>(text::Redactor::kMask.size()) -
               static_cast<std::ptrdiff_t>(span.end - span.begin);
    }
    return static_cast<size_t>(static_cast<std::ptrdiff_t>(offset) + shift);
  }
};

MaskedLine maskLine(std::string_view line, const text::Redactor* secrets) {
  MaskedLine masked;
  if (secrets != nullptr) {
    masked.spans = secrets->find(line);
  }
  size_t start = 0;
  for (const auto& span : masked.spans) {
    masked.text.append(line.substr(start, span.begin - start));
    masked.text.append(text::Redactor::kMask);
    start = span.end;
  }
  masked.text.append(line.substr(start));
  return masked;
}

// Byte offset `count` code points after `offset` in `line` (at most its end).
size_t advanceCodePoints(std::string_view line, size_t offset, size_t count) {
  size_t i = offset;
  while (i < line.size() && count > 0) {
    ++i;
    while (i < line.size() && isUtf8Continuation(line[i])) {
      ++i;
    }
    --count;
  }
  return i;
}

std::string hidden(const std::string& text, const text::Redactor* secrets) {
  return secrets != nullptr ? secrets->redacted(text) : text;
}

void renderOne(const Diagnostic& d, SourceCache& sources, const text::Redactor* secrets,
               std::string& out) {
  out += d.file;
  if (d.line > 0) {
    out += ':' + std::to_string(d.line);
    if (d.column > 0) {
      out += ':' + std::to_string(d.column);
    }
  }
  out += ": ";
  if (d.severity == Severity::kWarning) {
    out += "warning: ";
  }
  out += hidden(d.text(), secrets);
  out += " [" + d.kind + "]\n";

  if (d.line <= 0) {
    return;
  }
  std::optional<std::string_view> source = sources.line(d.file, d.line);
  if (!source) {
    return;
  }
  const MaskedLine masked = maskLine(*source, secrets);
  const std::string_view line = masked.text;
  const std::string number = std::to_string(d.line);
  const std::string gutter(number.size(), ' ');
  out += gutter + " |\n";
  out += number + " |";
  if (!line.empty()) {
    out += ' ';
    out += line;
  }
  out += '\n';
  if (d.column <= 0) {
    return;
  }
  // The marker's extent in the file's line, then in the masked line shown.
  const size_t source_offset = std::min(static_cast<size_t>(d.column - 1), source->size());
  const size_t source_end =
      advanceCodePoints(*source, source_offset, markerWidth(d, *source, source_offset));
  const size_t offset = masked.map(source_offset, false);
  const size_t width =
      std::max<size_t>(1, codePoints(line.substr(offset, masked.map(source_end, true) - offset)));
  // Columns count bytes; the caret line copies tabs and counts UTF-8 code points so it lines
  // up under the token in a terminal.
  std::string pad;
  for (size_t i = 0; i < offset; ++i) {
    const char c = line[i];
    if (isUtf8Continuation(c)) {
      continue;
    }
    pad += c == '\t' ? '\t' : ' ';
  }
  out += gutter + " | " + pad + '^' + std::string(width - 1, '~') + '\n';
}

}  // namespace

std::string renderText(const std::vector<Diagnostic>& diagnostics, SourceCache& sources,
                       const text::Redactor* secrets) {
  std::string out;
  for (const Diagnostic& d : diagnostics) {
    renderOne(d, sources, secrets, out);
  }
  return out;
}

std::string renderJson(const std::vector<Diagnostic>& diagnostics, SourceCache& sources,
                       const text::Redactor* secrets) {
  nlohmann::json array = nlohmann::json::array();
  for (const Diagnostic& d : diagnostics) {
    std::optional<std::string_view> line;
    if (d.line > 0) {
      line = sources.line(d.file, d.line);
    }
    array.push_back({{"file", d.file},
                     {"line", d.line},
                     {"column", d.column},
                     {"length", d.length},
                     {"severity", severityName(d.severity)},
                     {"kind", d.kind},
                     {"message", hidden(d.message, secrets)},
                     {"hint", hidden(d.hint, secrets)},
                     {"snippet", line ? maskLine(*line, secrets).text : std::string()}});
  }
  // Invalid UTF-8 in a user's file must not abort rendering: replace it.
  return array.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace waflow::core::diag
