#include "diag/text_encoding.h"

#include <cstdio>

#include "text/utf8.h"

namespace waflow::core::diag {

std::optional<Diagnostic> checkUtf8(std::string_view text, const std::string& file,
                                    const std::string& kind) {
  const std::size_t bad = text::firstInvalidUtf8(text);
  if (bad == std::string_view::npos) {
    return std::nullopt;
  }
  Diagnostic d;
  d.file = file;
  d.line = 1;
  std::size_t line_start = 0;
  for (std::size_t i = 0; i < bad; ++i) {
    if (text[i] == '\n') {
      ++d.line;
      line_start = i + 1;
    }
  }
  d.column = static_cast<int>(bad - line_start) + 1;
  d.length = 1;
  d.kind = kind;
  char byte[8];
  std::snprintf(byte, sizeof byte, "0x%02X", static_cast<unsigned char>(text[bad]));
  d.message = std::string("the file is not UTF-8: byte ") + byte + " here is not a character";
  d.hint =
      "save the file as UTF-8 (an editor set to Windows-1252 or Latin-1 writes letters such as "
      "'é' this way)";
  return d;
}

}  // namespace waflow::core::diag
