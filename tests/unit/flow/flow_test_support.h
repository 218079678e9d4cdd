// Helpers shared by the flow tests: the fixture directory, the context the fixtures are
// written against, and a fake Lua checker.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "flow/flow_loader.h"

namespace waflow::core::flow::testing {

inline std::filesystem::path fixtures() {
  return WAFLOW_FLOW_FIXTURES;
}

// The channels, AI instances and script functions the fixtures refer to; snippets containing
// FAIL_LUA are reported by a fake Lua checker, so the hook's wiring is tested without Lua.
inline FlowLoadOptions fixtureOptions() {
  FlowLoadOptions options;
  options.context.channels = std::set<std::string>{"toko-utama", "toko-cabang"};
  options.context.ai = std::set<std::string>{"bot", "backup"};
  options.context.knowledge = std::set<std::string>{"faq", "policies"};
  options.context.script_functions = std::set<std::string>{"score_lead", "count_unhelpful"};
  options.subst.env = [](const std::string& name) -> std::optional<std::string> {
    if (name == "TOKO_TOKEN") {
      return "secret-token";
    }
    return std::nullopt;
  };
  options.check_lua = [](const LuaSnippet& snippet) -> std::optional<diag::Diagnostic> {
    const size_t at = snippet.code.find("FAIL_LUA");
    if (at == std::string::npos) {
      return std::nullopt;
    }
    diag::Diagnostic d;
    d.kind = "flow-lua";
    d.message = "fake Lua check failed in " + snippet.where;
    return d;
  };
  return options;
}

inline std::vector<std::filesystem::path> yamlFiles(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".yaml") {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace waflow::core::flow::testing
