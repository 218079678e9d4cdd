#include "operation_support.h"

namespace waflow::storage_sqlite {

// ---- output ---------------------------------------------------------------------
//
// The hot operations write their small outputs as text instead of building a
// DOM only to serialise it.

void appendString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      out += "\\u00";
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    } else {
      out += c;
    }
  }
  out += '"';
}

void appendFlags(std::string& out, const char* key, const std::vector<bool>& flags) {
  out += '"';
  out += key;
  out += "\":[";
  for (std::size_t i = 0; i < flags.size(); ++i) {
    if (i > 0) {
      out += ',';
    }
    out += flags[i] ? "true" : "false";
  }
  out += ']';
}

Json parseStored(const std::optional<std::string>& text) {
  if (!text) {
    return nullptr;
  }
  Json v = Json::parse(*text, nullptr, false);
  return v.is_discarded() ? Json(*text) : v;
}

}  // namespace waflow::storage_sqlite
