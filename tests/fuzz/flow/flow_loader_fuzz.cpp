// libFuzzer target: the flow loader and validator — YAML, ${...} substitution, the flow
// schema, triggers, conditions, references, templates, RE2 patterns, and every Lua snippet
// compiled in a real sandbox, exactly as `waflow validate` and a reload do. The input is the
// text of one flow file. Seeds: tests/flows (valid and invalid) and the shipped flows/.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "flow/flow_loader.h"
#include "lua/sandbox.h"

namespace {

namespace flow = waflow::core::flow;
namespace lua = waflow::core::lua;

void fail(const char* promise) {
  std::fprintf(stderr, "flow loader broke a promise: %s\n", promise);
  std::abort();
}

flow::FlowLoadOptions options(lua::LuaSandbox& sandbox) {
  flow::FlowLoadOptions o;
  o.context.channels = std::set<std::string>{"sandbox", "wa"};
  o.context.ai = std::set<std::string>{"mock", "main"};
  o.context.script_functions = std::set<std::string>{"is_vip", "lead_score"};
  o.context.knowledge = std::set<std::string>{"faq"};
  o.subst.env = [](const std::string& name) -> std::optional<std::string> {
    return name.rfind("SET_", 0) == 0 ? std::optional<std::string>("value") : std::nullopt;
  };
  o.subst.base_dir = "/nonexistent-waflow-fuzz";
  o.check_lua =
      [&sandbox](const flow::LuaSnippet& s) -> std::optional<waflow::core::diag::Diagnostic> {
    lua::CompileResult compiled = sandbox.compile(s.where, s.code, {s.file, s.line, s.column});
    if (compiled.ok()) {
      sandbox.release(compiled.snippet);
      return std::nullopt;
    }
    return compiled.error->toDiagnostic();
  };
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static lua::LuaSandbox sandbox;
  static const flow::FlowLoadOptions load_options = options(sandbox);
  std::vector<flow::FlowSource> sources{
      {"flows/fuzz.yaml", std::string(reinterpret_cast<const char*>(data), size)}};
  flow::FlowLoadResult result = flow::loadFlowSources(sources, load_options);
  for (const auto& d : result.diagnostics) {
    if (d.line < 0 || d.column < 0 || d.message.empty()) {
      fail("a diagnostic has a negative position or no message");
    }
    if (d.file != "flows/fuzz.yaml" && !d.file.empty()) {
      fail("a diagnostic names a file that was not loaded");
    }
  }
  if (result.ok() && sandbox.memoryUsed() > 6 * 1024 * 1024) {
    fail("compiling snippets leaked sandbox memory");
  }
  return 0;
}
