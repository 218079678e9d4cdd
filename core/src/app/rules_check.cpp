#include "app/rules_check.h"

#include "flow/flow_loader.h"
#include "lua/sandbox.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace waflow::core::app {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> luaFiles(const fs::path& dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.is_regular_file() && entry.path().extension() == ".lua") {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string readFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

RulesCheck checkFlowsAndScripts(const config::Config& config) {
  RulesCheck out;
  lua::LuaSandbox sandbox;
  std::set<std::string> functions;
  std::error_code ec;
  if (fs::is_directory(config.scripts_dir, ec)) {
    for (const fs::path& file : luaFiles(config.scripts_dir)) {
      ++out.scripts;
      lua::CompileResult loaded =
          sandbox.loadScript(file.stem().string(), readFile(file), {file.string(), 1, 1, 0});
      if (!loaded.ok()) {
        out.diagnostics.push_back(loaded.error->toDiagnostic());
        continue;
      }
      for (const std::string& name : sandbox.functions(loaded.snippet)) {
        functions.insert(name);
      }
    }
  }
  if (!fs::is_directory(config.flows_dir, ec)) {
    return out;
  }
  flow::FlowLoadOptions options;
  std::set<std::string> channels;
  for (const auto& c : config.channels) {
    channels.insert(c.id);
  }
  std::set<std::string> ai;
  for (const auto& a : config.ai) {
    ai.insert(a.id);
  }
  options.context.channels = std::move(channels);
  options.context.ai = std::move(ai);
  options.context.script_functions = std::move(functions);
  options.subst.base_dir = config.base_dir;
  options.check_lua = [&sandbox](const flow::LuaSnippet& s) -> std::optional<diag::Diagnostic> {
    lua::CompileResult compiled = sandbox.compile(s.where, s.code, {s.file, s.line, s.column, 0});
    if (compiled.ok()) {
      sandbox.release(compiled.snippet);
      return std::nullopt;
    }
    return compiled.error->toDiagnostic();
  };
  flow::FlowLoadResult loaded = flow::loadFlows(config.flows_dir, options);
  out.flows = loaded.flows.size();
  out.diagnostics.insert(out.diagnostics.end(), loaded.diagnostics.begin(),
                         loaded.diagnostics.end());
  return out;
}

}  // namespace waflow::core::app
