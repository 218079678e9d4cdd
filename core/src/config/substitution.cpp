#include "config/substitution.h"

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace waflow::core::config {
namespace {

bool isValidEnvName(std::string_view name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) {
    return false;
  }
  for (char c : name) {
    const bool ok =
        (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) {
      return false;
    }
  }
  return true;
}

// ${file:} names a secret or token, never anything large: a bigger file is a mistake (a wrong
// path), and a device or pipe (/dev/zero, /dev/stdin, a FIFO) would never end or never answer.
constexpr std::uintmax_t kMaxSubstitutedFileBytes = 1024 * 1024;

// Reads a ${file:} target; on failure returns nullopt and sets `error` to the reason.
std::optional<std::string> readWholeFile(const std::filesystem::path& path, std::string& error) {
  std::error_code ec;
  std::filesystem::file_status status = std::filesystem::status(path, ec);
  if (std::filesystem::is_directory(status)) {
    error = "it is a directory";
    return std::nullopt;
  }
  if (std::filesystem::exists(status) && !std::filesystem::is_regular_file(status)) {
    error = "it is not a regular file (a device, pipe or socket)";
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = std::strerror(errno);
    return std::nullopt;
  }
  // Read one byte past the limit so that a file which grew after status() is still caught.
  std::string content(kMaxSubstitutedFileBytes + 1, '\0');
  in.read(content.data(), static_cast<std::streamsize>(content.size()));
  content.resize(static_cast<std::size_t>(in.gcount()));
  if (content.size() > kMaxSubstitutedFileBytes) {
    error = "it is larger than 1 MiB (a ${file:} holds a secret or a token)";
    return std::nullopt;
  }
  // Editors end files with a newline; a token file's content is the line before it.
  if (!content.empty() && content.back() == '\n') {
    content.pop_back();
    if (!content.empty() && content.back() == '\r') {
      content.pop_back();
    }
  }
  return content;
}

}  // namespace

std::optional<std::string> processEnv(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) {
    return std::nullopt;
  }
  return std::string(value);
}

// One pass over the text: ${VAR}, ${VAR:-default}, ${file:...} and the $${ escape share the
// position and the column the errors report, so the scanner stays one loop.
SubstitutionResult substitute(std::string_view text, const SubstitutionContext& context) {
  SubstitutionResult result;
  size_t i = 0;
  while (i < text.size()) {
    if (text.compare(i, 3, "$${") == 0) {
      result.value += "${";
      i += 3;
      continue;
    }
    if (text.compare(i, 2, "${") != 0) {
      result.value += text[i];
      ++i;
      continue;
    }
    const size_t close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      result.errors.push_back(
          {"env", "'${' is not closed by '}'", "write $${ for a literal ${", i, text.size() - i});
      result.value += text.substr(i);
      break;
    }
    const std::string_view expression = text.substr(i, close - i + 1);
    const std::string_view inner = text.substr(i + 2, close - i - 2);
    std::optional<std::string> replacement;
    const bool from_file = inner.rfind("file:", 0) == 0;
    if (from_file) {
      const std::string path_text(inner.substr(5));
      if (path_text.empty()) {
        result.errors.push_back({"file", "'" + std::string(expression) + "' names no file",
                                 "write ${file:path/to/file}", i, expression.size()});
      } else {
        std::filesystem::path path(path_text);
        if (path.is_relative() && !context.base_dir.empty()) {
          path = std::filesystem::path(context.base_dir) / path;
        }
        std::string reason;
        replacement = readWholeFile(path, reason);
        if (!replacement) {
          std::string message = "cannot read file '" + path_text + "'";
          if (path.string() != path_text) {
            message += " (" + path.string() + ")";
          }
          message += ": " + reason;
          result.errors.push_back({"file", message,
                                   "relative paths start at the config file's directory", i,
                                   expression.size()});
        }
      }
    } else {
      const size_t separator = inner.find(":-");
      const std::string name(inner.substr(0, separator));
      if (!isValidEnvName(name)) {
        result.errors.push_back(
            {"env", "'" + std::string(expression) + "' is not a valid substitution",
             "write ${NAME}, ${NAME:-default} or ${file:path}; NAME may use letters, digits "
             "and '_'; write $${ for a literal ${",
             i, expression.size()});
      } else {
        std::optional<std::string> value = context.env ? context.env(name) : std::nullopt;
        if (separator != std::string_view::npos) {
          // Like the shell's ${NAME:-default}: the default also replaces an empty value.
          if (!value || value->empty()) {
            value = std::string(inner.substr(separator + 2));
          }
        }
        if (!value) {
          result.errors.push_back({"env", "environment variable " + name + " is not set",
                                   "export it or use ${" + name + ":-default}", i,
                                   expression.size()});
        }
        replacement = std::move(value);
      }
    }
    if (replacement) {
      result.substituted = true;
      if (!replacement->empty()) {
        result.inserted.push_back(*replacement);
        if (from_file) {
          result.from_files.push_back(*replacement);
        }
      }
      result.value += *replacement;
    } else {
      result.value += expression;
    }
    i = close + 1;
  }
  return result;
}

}  // namespace waflow::core::config
