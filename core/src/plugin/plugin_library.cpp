#include "plugin/plugin_library.h"

#include "json/bounded_parse.h"

#include <dlfcn.h>

#include <cstddef>
#include <fstream>

#include <fmt/format.h>

#include "text/names.h"

namespace waflow::core::plugin {
namespace {

// The smallest descriptor any ABI 1.x plugin can have: everything up to and
// including kind_api.
constexpr std::size_t kMinDescriptorSize =
    offsetof(waflow_plugin_descriptor, kind_api) + sizeof(void*);

bool hasElfHeader(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  char magic[4] = {};
  in.read(magic, sizeof(magic));
  return in.gcount() == 4 && magic[0] == 0x7f && magic[1] == 'E' && magic[2] == 'L' &&
         magic[3] == 'F';
}

std::string cstr(const char* s) {
  return s == nullptr ? std::string() : std::string(s);
}

}  // namespace

std::string kindName(waflow_plugin_kind kind) {
  switch (kind) {
    case WAFLOW_KIND_CHANNEL:
      return "channel";
    case WAFLOW_KIND_AI:
      return "ai";
    case WAFLOW_KIND_STORAGE:
      return "storage";
    case WAFLOW_KIND_INTEGRATION:
      return "integration";
  }
  return "unknown";
}

std::shared_ptr<PluginLibrary> PluginLibrary::open(const std::filesystem::path& file,
                                                   AbiVersion host, std::string* error) {
  std::error_code fs_error;
  if (!std::filesystem::is_regular_file(file, fs_error)) {
    *error = "not a regular file";
    return nullptr;
  }
  if (!hasElfHeader(file)) {
    *error = "not a shared library (no ELF header): remove it from the plugin directory";
    return nullptr;
  }

  std::shared_ptr<PluginLibrary> lib(new PluginLibrary());
  lib->path_ = file;
  std::error_code load_error;
  // Local mode keeps each plugin's symbols to itself; now-binding reports a
  // missing dependency at load time instead of at the first call.
  lib->library_.load(file, boost::dll::load_mode::rtld_local | boost::dll::load_mode::rtld_now,
                     load_error);
  if (load_error || !lib->library_.is_loaded()) {
    const char* why = ::dlerror();
    *error = fmt::format("cannot be loaded: {}", why != nullptr ? why : load_error.message());
    return nullptr;
  }
  if (!lib->library_.has(WAFLOW_PLUGIN_ENTRY_SYMBOL)) {
    *error =
        "entry symbol 'waflow_plugin_entry' is missing: this is not a waflow plugin, or it "
        "was built without WAFLOW_PLUGIN(...) / hidden the symbol";
    return nullptr;
  }
  auto& entry = lib->library_.get<const waflow_plugin_descriptor*(uint16_t, uint16_t)>(
      WAFLOW_PLUGIN_ENTRY_SYMBOL);
  const waflow_plugin_descriptor* d = entry(host.major, host.minor);
  if (d == nullptr) {
    *error = "waflow_plugin_entry returned no descriptor";
    return nullptr;
  }
  if (d->struct_size < kMinDescriptorSize) {
    *error = fmt::format(
        "descriptor is {} bytes, smaller than the {} bytes of ABI 1.0: corrupt or "
        "not built with the waflow SDK",
        d->struct_size, kMinDescriptorSize);
    return nullptr;
  }
  if (d->abi_major != host.major) {
    *error = fmt::format(
        "built for plugin ABI {}.{}, but this waflow speaks ABI {}.{} (major versions differ): "
        "rebuild the plugin against the waflow SDK {}.x",
        d->abi_major, d->abi_minor, host.major, host.minor, host.major);
    return nullptr;
  }
  if (d->abi_minor > host.minor) {
    *error = fmt::format(
        "built for plugin ABI {}.{}, newer than this waflow's ABI {}.{}: upgrade waflow, or "
        "rebuild the plugin against SDK {}.{}",
        d->abi_major, d->abi_minor, host.major, host.minor, host.major, host.minor);
    return nullptr;
  }

  lib->descriptor_ = d;
  lib->name_ = cstr(d->name);
  lib->version_ = cstr(d->version);
  lib->description_ = cstr(d->description);
  if (!text::isInstanceId(lib->name_)) {
    *error = fmt::format("plugin name '{}' is invalid: use lower-case letters, digits, '-' and '_'",
                         lib->name_);
    return nullptr;
  }
  if (d->create == nullptr || d->destroy == nullptr) {
    *error = "descriptor lacks create() or destroy()";
    return nullptr;
  }
  switch (d->kind) {
    case WAFLOW_KIND_CHANNEL: {
      auto* api = static_cast<const waflow_channel_api*>(d->kind_api);
      if (api == nullptr || api->handle_webhook == nullptr || api->send == nullptr) {
        *error = "channel plugin lacks handle_webhook() or send()";
        return nullptr;
      }
      break;
    }
    case WAFLOW_KIND_AI: {
      auto* api = static_cast<const waflow_ai_api*>(d->kind_api);
      if (api == nullptr || api->complete == nullptr) {
        *error = "AI plugin lacks complete()";
        return nullptr;
      }
      break;
    }
    case WAFLOW_KIND_STORAGE: {
      if (d->abi_minor < 1) {
        *error = fmt::format("a storage plugin needs ABI 1.1 or newer, but it was built for {}.{}",
                             d->abi_major, d->abi_minor);
        return nullptr;
      }
      auto* api = static_cast<const waflow_storage_api*>(d->kind_api);
      if (api == nullptr || api->execute == nullptr) {
        *error = "storage plugin lacks execute()";
        return nullptr;
      }
      break;
    }
    case WAFLOW_KIND_INTEGRATION: {
      auto* api = static_cast<const waflow_integration_api*>(d->kind_api);
      if (api == nullptr || api->call == nullptr) {
        *error = "integration plugin lacks call()";
        return nullptr;
      }
      break;
    }
    default:
      *error = fmt::format("plugin kind {} is not supported by ABI {}.{}", d->kind, host.major,
                           host.minor);
      return nullptr;
  }
  std::string schema_text = d->config_schema_json == nullptr ? "" : d->config_schema_json;
  if (schema_text.empty()) {
    schema_text = R"({"type":"object","properties":{}})";
  }
  lib->schema_ = json_input::parseOrDiscarded(schema_text);
  if (lib->schema_.is_discarded() || !lib->schema_.is_object()) {
    *error = "its config schema is not a JSON object";
    return nullptr;
  }
  return lib;
}

std::string PluginLibrary::kindName() const {
  return plugin::kindName(kind());
}

std::string PluginLibrary::abiVersion() const {
  return fmt::format("{}.{}", descriptor_->abi_major, descriptor_->abi_minor);
}

std::vector<ConfigKey> PluginLibrary::configKeys() const {
  std::vector<ConfigKey> keys;
  const auto required = schema_.value("required", nlohmann::json::array());
  const auto properties = schema_.value("properties", nlohmann::json::object());
  for (const auto& [name, prop] : properties.items()) {
    ConfigKey key;
    key.name = name;
    if (prop.contains("type")) {
      key.type = prop["type"].is_string() ? prop["type"].get<std::string>() : prop["type"].dump();
    }
    if (prop.contains("format")) {
      key.type = prop["format"].get<std::string>();
    }
    if (prop.contains("default")) {
      key.default_value = prop["default"].dump();
    }
    key.description = prop.value("description", "");
    key.secret = prop.value("secret", false);
    for (const auto& r : required) {
      key.required = key.required || r == name;
    }
    keys.push_back(std::move(key));
  }
  return keys;
}

const waflow_channel_api* PluginLibrary::channelApi() const {
  return kind() == WAFLOW_KIND_CHANNEL
             ? static_cast<const waflow_channel_api*>(descriptor_->kind_api)
             : nullptr;
}
const waflow_ai_api* PluginLibrary::aiApi() const {
  return kind() == WAFLOW_KIND_AI ? static_cast<const waflow_ai_api*>(descriptor_->kind_api)
                                  : nullptr;
}
const waflow_storage_api* PluginLibrary::storageApi() const {
  return kind() == WAFLOW_KIND_STORAGE
             ? static_cast<const waflow_storage_api*>(descriptor_->kind_api)
             : nullptr;
}
const waflow_integration_api* PluginLibrary::integrationApi() const {
  return kind() == WAFLOW_KIND_INTEGRATION
             ? static_cast<const waflow_integration_api*>(descriptor_->kind_api)
             : nullptr;
}

}  // namespace waflow::core::plugin
