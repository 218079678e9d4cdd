// libFuzzer target: the config loader — YAML, ${...} substitution, the core schema, and each
// plugin block checked against a plugin schema (every format and keyword the plugins use).
// The input is the text of a waflow.yaml. Variables named SET_* are set ("8080"), others
// unset; ${file:} paths start at an empty scratch folder.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "config/config.h"

namespace {

namespace config = waflow::core::config;

void fail(const char* promise) {
  std::fprintf(stderr, "config loader broke a promise: %s\n", promise);
  std::abort();
}

std::optional<std::string> fakeEnv(const std::string& name) {
  if (name.rfind("SET_", 0) == 0) {
    return std::string("8080");
  }
  return std::nullopt;
}

const std::string& scratchDir() {
  static const std::string dir = [] {
    auto path = std::filesystem::temp_directory_path() / "waflow_config_fuzz";
    std::filesystem::create_directories(path);
    return path.string();
  }();
  return dir;
}

// A plugin schema using what plugins declare: formats, secrets, enums, patterns, nesting.
const nlohmann::json& pluginSchema() {
  static const nlohmann::json schema = nlohmann::json::parse(R"({
    "type": "object",
    "required": ["token"],
    "properties": {
      "token": {"type": "string", "secret": true, "minLength": 8},
      "timeout": {"type": "string", "format": "duration", "default": "10s"},
      "limit": {"type": "string", "format": "size", "default": "1MiB"},
      "retries": {"type": "integer", "minimum": 0, "maximum": 10},
      "ratio": {"type": "number", "exclusiveMinimum": 0},
      "mode": {"type": "string", "enum": ["a", "b"]},
      "url": {"type": "string", "pattern": "^https?://"},
      "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 4},
      "nested": {"type": "object", "additionalProperties": {"type": "boolean"}}
    },
    "additionalProperties": false
  })");
  return schema;
}

void checkDiagnostics(const config::LoadResult& result) {
  for (const auto& d : result.diagnostics) {
    if (d.line < 0 || d.column < 0 || d.message.empty()) {
      fail("a diagnostic has a negative position or no message");
    }
    if (d.severity == waflow::core::diag::Severity::kError && result.config) {
      fail("a config with errors was accepted");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  config::LoadResult result = config::loadConfigString(text, "waflow.yaml", scratchDir(), fakeEnv);
  checkDiagnostics(result);
  const std::optional<config::Config>& loaded = result.config ? result.config : result.partial;
  if (!loaded) {
    return 0;
  }
  for (const auto* section : {&loaded->channels, &loaded->ai, &loaded->integrations}) {
    for (const auto& instance : *section) {
      config::validateInstanceConfig(*loaded, instance, pluginSchema(), fakeEnv);
    }
  }
  return 0;
}
