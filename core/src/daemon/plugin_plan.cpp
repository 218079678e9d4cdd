#include "daemon/plugin_plan.h"

#include "diag/closest_match.h"

#include <fmt/format.h>

namespace waflow::core::daemon {
namespace {

waflow_plugin_kind kindOfSection(const std::string& section) {
  if (section == "channels") {
    return WAFLOW_KIND_CHANNEL;
  }
  if (section == "ai") {
    return WAFLOW_KIND_AI;
  }
  if (section == "storage") {
    return WAFLOW_KIND_STORAGE;
  }
  return WAFLOW_KIND_INTEGRATION;
}

diag::Diagnostic at(const config::InstanceConfig& e, std::string message, std::string hint = "") {
  diag::Diagnostic d;
  d.file = e.file;
  d.line = e.line;
  d.column = e.column;
  d.kind = "config-plugin";
  d.message = std::move(message);
  d.hint = std::move(hint);
  return d;
}

}  // namespace

bool InstancePlan::ok() const {
  for (const auto& d : diagnostics) {
    if (d.severity == diag::Severity::kError) {
      return false;
    }
  }
  return true;
}

InstancePlan planInstances(const config::Config& config, const plugin::PluginCatalog& catalog) {
  InstancePlan plan;
  // Storage first: it is created before and stopped after everything that uses it.
  std::vector<const config::InstanceConfig*> entries;
  if (!config.storage.plugin.empty()) {
    entries.push_back(&config.storage);
  }
  for (const auto* section : {&config.channels, &config.ai, &config.integrations}) {
    for (const auto& entry : *section) {
      entries.push_back(&entry);
    }
  }
  {
    for (const config::InstanceConfig* entry_ptr : entries) {
      const config::InstanceConfig& entry = *entry_ptr;
      const std::string label =
          entry.section == "storage" ? entry.section : entry.section + "." + entry.id;
      auto library = catalog.find(entry.plugin);
      if (!library) {
        std::string hint;
        for (const auto& failure : catalog.failures()) {
          if (failure.file.filename().string() == "waflow-plugin-" + entry.plugin + ".so") {
            hint = fmt::format("{} exists but did not load: {}", failure.file.string(),
                               failure.reason);
          }
        }
        if (hint.empty()) {
          std::string close = diag::closestMatch(entry.plugin, catalog.names());
          hint = close.empty()
                     ? "run `waflow plugins` to see what is installed, or add its directory to "
                       "plugins.paths"
                     : fmt::format("did you mean '{}'?", close);
        }
        plan.diagnostics.push_back(
            at(entry, fmt::format("{}: plugin '{}' not found", label, entry.plugin), hint));
        continue;
      }
      if (library->kind() != kindOfSection(entry.section)) {
        plan.diagnostics.push_back(
            at(entry,
               fmt::format("{}.{}: plugin '{}' (kind: {}) cannot be used under '{}'", entry.section,
                           entry.id, entry.plugin, library->kindName(), entry.section),
               fmt::format("move it under '{}'", library->kind() == WAFLOW_KIND_CHANNEL ? "channels"
                                                 : library->kind() == WAFLOW_KIND_AI
                                                     ? "ai"
                                                     : "integrations")));
        continue;
      }
      auto result = config::validateInstanceConfig(config, entry, library->configSchema());
      plan.diagnostics.insert(plan.diagnostics.end(), result.diagnostics.begin(),
                              result.diagnostics.end());
      plan.secrets.insert(plan.secrets.end(), result.secrets.begin(), result.secrets.end());
      if (result.ok()) {
        plan.instances.push_back({&entry, library, std::move(result.value)});
      }
    }
  }
  return plan;
}

std::vector<std::filesystem::path> pluginSearchPath(const std::vector<std::string>& cli_dirs,
                                                    const config::Config& config) {
  std::vector<std::filesystem::path> dirs(cli_dirs.begin(), cli_dirs.end());
  dirs.insert(dirs.end(), config.plugin_paths.begin(), config.plugin_paths.end());
  auto defaults = plugin::defaultPluginDirectories();
  dirs.insert(dirs.end(), defaults.begin(), defaults.end());
  return dirs;
}

}  // namespace waflow::core::daemon
