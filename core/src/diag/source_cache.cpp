#include "diag/source_cache.h"

#include <fstream>
#include <sstream>

namespace waflow::core::diag {

std::vector<std::string> splitLines(std::string_view text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) {
      if (start < text.size()) {
        out.emplace_back(text.substr(start));
      }
      break;
    }
    std::string_view piece = text.substr(start, end - start);
    if (!piece.empty() && piece.back() == '\r') {
      piece.remove_suffix(1);
    }
    out.emplace_back(piece);
    start = end + 1;
  }
  return out;
}

void SourceCache::registerText(const std::string& file, std::string_view text) {
  files_[file] = splitLines(text);
}

const std::vector<std::string>* SourceCache::lines(const std::string& file) {
  auto it = files_.find(file);
  if (it == files_.end()) {
    std::ifstream in(file, std::ios::binary);
    std::optional<std::vector<std::string>> loaded;
    if (in) {
      std::ostringstream buffer;
      buffer << in.rdbuf();
      loaded = splitLines(buffer.str());
    }
    it = files_.emplace(file, std::move(loaded)).first;
  }
  return it->second ? &*it->second : nullptr;
}

std::optional<std::string_view> SourceCache::line(const std::string& file, int line) {
  const std::vector<std::string>* all = lines(file);
  if (all == nullptr || line < 1 || static_cast<size_t>(line) > all->size()) {
    return std::nullopt;
  }
  return std::string_view((*all)[static_cast<size_t>(line - 1)]);
}

}  // namespace waflow::core::diag
