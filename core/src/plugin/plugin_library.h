// PluginLibrary — one plugin shared library, loaded and checked.
//
// Opening a library runs every check the ABI promises before any plugin code
// beyond the entry function runs: it is a shared library, it exports
// waflow_plugin_entry, its descriptor is complete, and its ABI version is one
// this daemon speaks (same major, same or older minor). Each refusal names the
// file and the reason, with both versions when they disagree.
//
// Libraries are never unloaded while the process runs: a PluginLibrary is held
// by shared_ptr from every instance created from it, and the daemon keeps the
// catalog alive until exit.
//
// Thread-safety: immutable after open(); safe to share between threads.
#pragma once

#include <waflow/sdk/abi.h>

#include <boost/dll/shared_library.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace waflow::core::plugin {

struct AbiVersion {
  uint16_t major = WAFLOW_ABI_MAJOR;
  uint16_t minor = WAFLOW_ABI_MINOR;
};

// A key a plugin accepts in its `config:` block, for `waflow plugins`.
struct ConfigKey {
  std::string name;
  std::string type;
  std::string default_value;  // JSON text, empty when there is none
  std::string description;
  bool required = false;
  bool secret = false;
};

class PluginLibrary {
 public:
  // Loads `file` and checks it against `host`. On failure returns null and
  // sets `error` to the reason (without the file name; callers prefix it).
  static std::shared_ptr<PluginLibrary> open(const std::filesystem::path& file, AbiVersion host,
                                             std::string* error);

  const waflow_plugin_descriptor& descriptor() const { return *descriptor_; }
  const std::filesystem::path& path() const { return path_; }
  const std::string& name() const { return name_; }
  const std::string& version() const { return version_; }
  const std::string& description() const { return description_; }
  waflow_plugin_kind kind() const { return static_cast<waflow_plugin_kind>(descriptor_->kind); }
  std::string kindName() const;
  std::string abiVersion() const;
  const nlohmann::json& configSchema() const { return schema_; }
  std::vector<ConfigKey> configKeys() const;

  const waflow_channel_api* channelApi() const;
  const waflow_ai_api* aiApi() const;
  const waflow_storage_api* storageApi() const;
  const waflow_integration_api* integrationApi() const;

 private:
  PluginLibrary() = default;

  boost::dll::shared_library library_;
  const waflow_plugin_descriptor* descriptor_ = nullptr;
  std::filesystem::path path_;
  std::string name_;
  std::string version_;
  std::string description_;
  nlohmann::json schema_;
};

std::string kindName(waflow_plugin_kind kind);

}  // namespace waflow::core::plugin
