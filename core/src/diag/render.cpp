#include "diag/render.h"

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

void renderOne(const Diagnostic& d, SourceCache& sources, std::string& out) {
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
  out += d.text();
  out += " [" + d.kind + "]\n";

  if (d.line <= 0) {
    return;
  }
  std::optional<std::string_view> line = sources.line(d.file, d.line);
  if (!line) {
    return;
  }
  const std::string number = std::to_string(d.line);
  const std::string gutter(number.size(), ' ');
  out += gutter + " |\n";
  out += number + " |";
  if (!line->empty()) {
    out += ' ';
    out += *line;
  }
  out += '\n';
  if (d.column <= 0) {
    return;
  }
  // Columns count bytes; the caret line copies tabs and counts UTF-8 code points so it lines
  // up under the token in a terminal.
  const size_t offset = std::min(static_cast<size_t>(d.column - 1), line->size());
  std::string pad;
  for (size_t i = 0; i < offset; ++i) {
    const char c = (*line)[i];
    if (isUtf8Continuation(c)) {
      continue;
    }
    pad += c == '\t' ? '\t' : ' ';
  }
  out += gutter + " | " + pad + '^' + std::string(markerWidth(d, *line, offset) - 1, '~') + '\n';
}

}  // namespace

std::string renderText(const std::vector<Diagnostic>& diagnostics, SourceCache& sources) {
  std::string out;
  for (const Diagnostic& d : diagnostics) {
    renderOne(d, sources, out);
  }
  return out;
}

std::string renderJson(const std::vector<Diagnostic>& diagnostics, SourceCache& sources) {
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
                     {"message", d.message},
                     {"hint", d.hint},
                     {"snippet", line ? std::string(*line) : std::string()}});
  }
  // Invalid UTF-8 in a user's file must not abort rendering: replace it.
  return array.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace waflow::core::diag
