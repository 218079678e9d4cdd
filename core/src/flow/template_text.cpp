#include "flow/template_text.h"

#include <cctype>

namespace waflow::core::flow {
namespace {

bool isIdentStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_';
}

bool isIdent(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

size_t skipSpaces(std::string_view text, size_t i) {
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) {
    ++i;
  }
  return i;
}

}  // namespace

TemplateScan scanTemplate(std::string_view text) {
  TemplateScan scan;
  size_t i = 0;
  while (true) {
    const size_t open = text.find("{{", i);
    if (open == std::string_view::npos) {
      break;
    }
    const size_t close = text.find("}}", open + 2);
    if (close == std::string_view::npos) {
      scan.errors.push_back(
          {open, 2, "'{{' is not closed", "end the expression with '}}', e.g. {{ contact.name }}"});
      break;
    }
    const size_t begin = skipSpaces(text, open + 2);
    size_t end = close;
    while (end > begin && std::isspace(static_cast<unsigned char>(text[end - 1]))) {
      --end;
    }
    if (end <= begin) {
      scan.errors.push_back({open, close + 2 - open, "empty expression '{{ }}'",
                             "write what to insert, e.g. {{ contact.name }}, or remove it"});
    } else {
      scan.expressions.push_back({open, begin, std::string(text.substr(begin, end - begin))});
    }
    i = close + 2;
  }
  return scan;
}

std::vector<StepReference> stepReferences(std::string_view code) {
  std::vector<StepReference> refs;
  size_t i = 0;
  while (i < code.size()) {
    const char c = code[i];
    // Skip comments and string literals: "steps.x" in a message text is not a reference.
    if (c == '-' && i + 1 < code.size() && code[i + 1] == '-') {
      const size_t nl = code.find('\n', i);
      i = nl == std::string_view::npos ? code.size() : nl + 1;
      continue;
    }
    if (c == '"' || c == '\'') {
      ++i;
      while (i < code.size() && code[i] != c) {
        i += code[i] == '\\' ? 2 : 1;
      }
      ++i;
      continue;
    }
    if (!isIdentStart(c) || (i > 0 && (isIdent(code[i - 1]) || code[i - 1] == '.'))) {
      ++i;
      continue;
    }
    size_t end = i;
    while (end < code.size() && isIdent(code[end])) {
      ++end;
    }
    if (code.substr(i, end - i) != "steps") {
      i = end;
      continue;
    }
    size_t j = skipSpaces(code, end);
    if (j < code.size() && code[j] == '.') {
      j = skipSpaces(code, j + 1);
      size_t k = j;
      while (k < code.size() && isIdent(code[k])) {
        ++k;
      }
      if (k > j && isIdentStart(code[j])) {
        refs.push_back({std::string(code.substr(j, k - j)), i, k - i});
      }
      i = k;
      continue;
    }
    if (j < code.size() && code[j] == '[') {
      j = skipSpaces(code, j + 1);
      if (j < code.size() && (code[j] == '"' || code[j] == '\'')) {
        const char quote = code[j];
        const size_t close = code.find(quote, j + 1);
        if (close != std::string_view::npos) {
          refs.push_back({std::string(code.substr(j + 1, close - j - 1)), i, close + 1 - i});
          i = close + 1;
          continue;
        }
      }
    }
    i = end;
  }
  return refs;
}

}  // namespace waflow::core::flow
