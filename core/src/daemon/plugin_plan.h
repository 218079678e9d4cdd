// Plans the plugin instances of a config: for each `channels:`, `ai:` and
// `integrations:` entry, finds its plugin in the catalog, checks the plugin is
// of the section's kind, and validates the entry's `config:` block against the
// plugin's schema. Every problem becomes a diagnostic at the entry's line and
// column, so `waflow validate` and `waflow run` report the same errors.
//
// Thread-safety: a pure function of its arguments.
#pragma once

#include "config/config.h"
#include "diag/diagnostic.h"
#include "plugin/plugin_catalog.h"

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

namespace waflow::core::daemon {

struct PlannedInstance {
  const config::InstanceConfig* entry = nullptr;
  std::shared_ptr<plugin::PluginLibrary> library;
  nlohmann::json config;  // validated, defaults filled, ${...} substituted
};

struct InstancePlan {
  std::vector<PlannedInstance> instances;  // storage, channels, ai, integrations
  std::vector<diag::Diagnostic> diagnostics;
  std::vector<std::string> secrets;

  bool ok() const;
};

InstancePlan planInstances(const config::Config& config, const plugin::PluginCatalog& catalog);

// The directories to search: --plugin-dir flags, then plugins.paths from the
// config, then the defaults.
std::vector<std::filesystem::path> pluginSearchPath(const std::vector<std::string>& cli_dirs,
                                                    const config::Config& config);

}  // namespace waflow::core::daemon
