// libFuzzer target: Lua rules in the sandbox — compiled as an expression or block and as a
// script, then run against a message and contact under small time, instruction and memory
// budgets. A rule author's mistake (or a hostile rule) must come back as a RuleError, never
// as a crash, a hang or an escape. The input is the rule's source.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "lua/sandbox.h"

namespace {

namespace lua = waflow::core::lua;

lua::SandboxOptions options() {
  lua::SandboxOptions o;
  o.limits.time_budget = std::chrono::milliseconds(20);
  o.limits.instruction_limit = 200000;
  o.limits.memory_limit = 4 * 1024 * 1024;
  return o;
}

lua::RuleContext context() {
  lua::RuleContext c;
  c.message = {{"id", "wamid.1"}, {"from", "6281234"}, {"type", "text"}, {"text", "Halo kak 123"}};
  c.contact = {{"id", "6281234"},
               {"name", "Budi"},
               {"attributes", {{"city", "Bandung"}, {"orders", 3}}},
               {"tags", {"vip"}}};
  c.conversation = {{"flow", "shop"}, {"step", "ask"}};
  c.steps = {{"ask", {{"output", "42"}}}};
  c.now = std::chrono::system_clock::time_point(std::chrono::seconds(1796601600));
  return c;
}

void fail(const char* promise) {
  std::fprintf(stderr, "Lua sandbox broke a promise: %s\n", promise);
  std::abort();
}

void checkError(const std::optional<lua::RuleError>& error) {
  if (error && error->message.empty()) {
    fail("a rule error has no message");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static lua::LuaSandbox sandbox(options());
  static const lua::RuleContext rule_context = context();
  std::string_view source(reinterpret_cast<const char*>(data), size);
  const lua::SourcePosition where{"flows/fuzz.yaml", 3, 9, 6};

  lua::CompileResult rule = sandbox.compile("fuzz", source, where);
  checkError(rule.error);
  if (rule.ok()) {
    checkError(sandbox.evaluate(rule.snippet, rule_context).error);
    sandbox.release(rule.snippet);
  }
  lua::CompileResult script = sandbox.loadScript("fuzz.lua", source, {"scripts/fuzz.lua", 1, 1, 0});
  checkError(script.error);
  if (script.ok()) {
    for (const std::string& function : sandbox.functions(script.snippet)) {
      checkError(sandbox.call(script.snippet, function, {"a", 1}, rule_context).error);
    }
    sandbox.release(script.snippet);
  }
  if (sandbox.memoryUsed() > options().limits.memory_limit) {
    fail("the sandbox holds more memory than its limit");
  }
  return 0;
}
