#include "knowledge/sources.h"

#include "knowledge/chunker.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace waflow::core::knowledge {
namespace {

namespace fs = std::filesystem;

std::string nameFor(const fs::path& file, const fs::path& base) {
  if (!base.empty()) {
    std::error_code ec;
    fs::path relative = fs::proximate(file, base, ec);
    if (!ec && !relative.empty() && *relative.begin() != "..") {
      return relative.generic_string();
    }
  }
  return file.generic_string();
}

bool hidden(const fs::path& relative) {
  return std::any_of(relative.begin(), relative.end(), [](const fs::path& part) {
    std::string s = part.string();
    return s.size() > 1 && s[0] == '.' && s != "..";
  });
}

}  // namespace

SourceList listSources(const std::vector<std::string>& sources, const std::string& base_dir) {
  SourceList out;
  std::set<std::string> seen;
  const fs::path base = base_dir.empty() ? fs::current_path() : fs::path(base_dir);
  auto add = [&](const fs::path& file) {
    fs::path absolute = file.lexically_normal();
    if (seen.insert(absolute.string()).second) {
      out.files.push_back({absolute.string(), nameFor(absolute, base)});
    }
  };
  for (const std::string& source : sources) {
    fs::path path = fs::path(source).is_absolute() ? fs::path(source) : base / source;
    std::error_code ec;
    fs::file_status status = fs::status(path, ec);
    if (!fs::exists(status)) {
      out.errors.push_back("'" + source + "' does not exist");
      continue;
    }
    if (fs::is_directory(status)) {
      fs::recursive_directory_iterator it(path, fs::directory_options::skip_permission_denied, ec);
      if (ec) {
        out.errors.push_back("cannot read the folder '" + source + "': " + ec.message());
        continue;
      }
      for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (ec) {
          out.errors.push_back("cannot read the folder '" + source + "': " + ec.message());
          break;
        }
        const fs::path relative = it->path().lexically_relative(path);
        if (hidden(relative)) {
          if (it->is_directory(ec)) {
            it.disable_recursion_pending();
          }
          continue;
        }
        if (it->is_regular_file(ec) &&
            formatOf(it->path().string()) != SourceFormat::kUnsupported) {
          add(it->path());
        }
      }
      continue;
    }
    if (formatOf(path.string()) == SourceFormat::kUnsupported) {
      out.errors.push_back("'" + source +
                           "' is not a .md, .markdown, .txt or .csv file (or a folder of them)");
      continue;
    }
    add(path);
  }
  std::sort(out.files.begin(), out.files.end(),
            [](const SourceFile& a, const SourceFile& b) { return a.name < b.name; });
  return out;
}

std::string sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0x0F];
  }
  return out;
}

bool readFile(const std::string& path, std::string& contents, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot read '" + path + "': " + std::strerror(errno);
    return false;
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) {
    error = "cannot read '" + path + "': " + std::strerror(errno);
    return false;
  }
  contents = std::move(buffer).str();
  return true;
}

std::string formatPassages(const std::vector<Passage>& passages) {
  std::string out;
  for (std::size_t i = 0; i < passages.size(); ++i) {
    const Passage& p = passages[i];
    if (!out.empty()) {
      out += "\n\n";
    }
    out += "[" + std::to_string(i + 1) + "] " + p.path;
    if (!p.title.empty()) {
      out += ": " + p.title;
    }
    out += "\n" + p.text;
  }
  return out;
}

}  // namespace waflow::core::knowledge
