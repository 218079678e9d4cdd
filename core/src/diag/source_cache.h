// SourceCache: the text of the files that diagnostics point into, split into lines, so the
// renderer can print the offending line. Files are read lazily on first use; text can also
// be registered for a name (configs loaded from strings, tests, stdin).
// Not thread-safe: use one cache per rendering thread.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace waflow::core::diag {

class SourceCache {
 public:
  // Makes `file` resolve to `text` instead of the file system (replaces earlier text).
  void registerText(const std::string& file, std::string_view text);

  // Line `line` (1-based) of `file` without its line terminator, or nullopt when the file
  // cannot be read or has fewer lines.
  std::optional<std::string_view> line(const std::string& file, int line);

 private:
  const std::vector<std::string>* lines(const std::string& file);

  // nullopt caches a failed read so an unreadable file is tried once.
  std::map<std::string, std::optional<std::vector<std::string>>> files_;
};

// Splits text into lines on \n, dropping a \r before it.
std::vector<std::string> splitLines(std::string_view text);

}  // namespace waflow::core::diag
