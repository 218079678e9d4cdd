// PluginCatalog — every plugin found in the search directories.
//
// scan() looks for files named waflow-plugin-*.so in each directory, in order,
// and opens each one. The first library providing a plugin name wins; a later
// one with the same name is reported as shadowed rather than silently ignored.
// Files that fail to load are kept as failures (file + reason) so `waflow
// plugins` and `waflow validate` can show them.
//
// Thread-safety: scan() before sharing; const methods are safe concurrently.
#pragma once

#include "plugin/plugin_library.h"

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace waflow::core::plugin {

struct LoadFailure {
  std::filesystem::path file;
  std::string reason;
};

class PluginCatalog {
 public:
  explicit PluginCatalog(AbiVersion host = {}) : host_(host) {}

  // Scans the directories in order; missing directories are skipped.
  void scan(const std::vector<std::filesystem::path>& directories);
  // Opens one file directly (used for explicit paths and by tests).
  bool add(const std::filesystem::path& file);

  std::shared_ptr<PluginLibrary> find(std::string_view name) const;
  const std::vector<std::shared_ptr<PluginLibrary>>& plugins() const { return plugins_; }
  const std::vector<LoadFailure>& failures() const { return failures_; }
  const std::vector<std::filesystem::path>& searched() const { return searched_; }
  // Names of loaded plugins of one kind, for "did you mean" and listings.
  std::vector<std::string> names() const;

 private:
  AbiVersion host_;
  std::vector<std::shared_ptr<PluginLibrary>> plugins_;
  std::vector<LoadFailure> failures_;
  std::vector<std::filesystem::path> searched_;
};

// The default search path: WAFLOW_PLUGIN_PATH (colon-separated), then
// <dir of the executable>/../lib/waflow/plugins (build tree and install
// prefix alike), then /usr/local/lib/waflow/plugins and /usr/lib/waflow/plugins.
std::vector<std::filesystem::path> defaultPluginDirectories();

}  // namespace waflow::core::plugin
