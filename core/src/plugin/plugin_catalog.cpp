#include "plugin/plugin_catalog.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <set>

#include <fmt/format.h>

namespace waflow::core::plugin {
namespace {

bool looksLikePlugin(const std::filesystem::path& p) {
  std::string name = p.filename().string();
  return name.starts_with("waflow-plugin-") && p.extension() == ".so";
}

}  // namespace

void PluginCatalog::scan(const std::vector<std::filesystem::path>& directories) {
  std::set<std::filesystem::path> seen;
  for (const auto& dir : directories) {
    std::error_code ec;
    auto canonical = std::filesystem::weakly_canonical(dir, ec);
    if (ec || !seen.insert(canonical).second) {
      continue;
    }
    searched_.push_back(canonical);
    if (!std::filesystem::is_directory(canonical, ec)) {
      continue;
    }
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(canonical, ec)) {
      if (looksLikePlugin(entry.path())) {
        files.push_back(entry.path());
      }
    }
    std::sort(files.begin(), files.end());  // deterministic order within a directory
    for (const auto& file : files) {
      add(file);
    }
  }
}

bool PluginCatalog::add(const std::filesystem::path& file) {
  std::string reason;
  auto lib = PluginLibrary::open(file, host_, &reason);
  if (!lib) {
    failures_.push_back({file, reason});
    return false;
  }
  if (auto existing = find(lib->name())) {
    failures_.push_back({file, fmt::format("plugin '{}' is shadowed by {}, found earlier in the "
                                           "search path",
                                           lib->name(), existing->path().string())});
    return false;
  }
  plugins_.push_back(std::move(lib));
  return true;
}

std::shared_ptr<PluginLibrary> PluginCatalog::find(std::string_view name) const {
  for (const auto& p : plugins_) {
    if (p->name() == name) {
      return p;
    }
  }
  return nullptr;
}

std::vector<std::string> PluginCatalog::names() const {
  std::vector<std::string> out;
  for (const auto& p : plugins_) {
    out.push_back(p->name());
  }
  return out;
}

std::vector<std::filesystem::path> defaultPluginDirectories() {
  std::vector<std::filesystem::path> dirs;
  if (const char* env = std::getenv("WAFLOW_PLUGIN_PATH")) {
    std::string_view rest = env;
    while (!rest.empty()) {
      auto colon = rest.find(':');
      if (colon != 0) {
        dirs.emplace_back(std::string(rest.substr(0, colon)));
      }
      if (colon == std::string_view::npos) {
        break;
      }
      rest.remove_prefix(colon + 1);
    }
  }
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    dirs.push_back(exe.parent_path().parent_path() / "lib" / "waflow" / "plugins");
  }
  dirs.emplace_back("/usr/local/lib/waflow/plugins");
  dirs.emplace_back("/usr/lib/waflow/plugins");
  return dirs;
}

}  // namespace waflow::core::plugin
