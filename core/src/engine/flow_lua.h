// FlowLua: the Lua side of running flows. Each thread that runs flow steps gets its own
// LuaSandbox (a lua_State is single-threaded) holding the current FlowSet's snippets, compiled
// on first use, and its scripts, loaded on first call. It evaluates `if:`/condition/rule
// expressions, calls script functions, and renders texts: {{ expressions }} first, then
// {spin|tax} over the literal parts only, so a customer's own braces are never spun.
//
// Thread-safety: forThread() returns the calling thread's instance, which must stay on that
// thread. A new FlowSet (a reload) replaces the thread's sandbox the next time it is used.
#pragma once

#include "engine/flow_set.h"
#include "lua/sandbox.h"

#include <nlohmann/json.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace waflow::core::engine {

class FlowLua {
 public:
  // The calling thread's instance for `set`; `options` apply when a sandbox is created.
  static FlowLua& forThread(const std::shared_ptr<const FlowSet>& set,
                            const lua::SandboxOptions& options);

  // Evaluates a snippet of the set's flows.
  lua::CallResult evaluate(const flow::LuaSnippet& snippet, const lua::RuleContext& context);

  // Calls a function defined in scripts/ with `args` (a JSON array of arguments).
  lua::CallResult call(std::string_view function, const nlohmann::json& args,
                       const lua::RuleContext& context);

  // Renders a text of `flow`; `spin` also applies spintax (texts sent to customers).
  std::optional<lua::RuleError> render(const flow::Flow& flow, const flow::Text& text,
                                       const lua::RuleContext& context, bool spin,
                                       std::string& out);

  // Renders the template strings inside a JSON value of `flow`'s step at `step_line` (http
  // bodies, emit data, lua args, call inputs). A string that is exactly one {{ expression }}
  // takes the expression's value and type ("{{ steps.qty.output.answer }}" stays a number).
  std::optional<lua::RuleError> renderValue(const flow::Flow& flow, int step_line,
                                            const nlohmann::json& value,
                                            const lua::RuleContext& context, nlohmann::json& out);

  // How a value is written into a text: strings as they are, whole numbers without ".0",
  // nil as nothing, tables as JSON.
  static std::string toText(const nlohmann::json& value);

 private:
  FlowLua(std::shared_ptr<const FlowSet> set, const lua::SandboxOptions& options);
  // The compiled form of `snippet`, compiling it on first use.
  std::optional<lua::RuleError> compiled(const flow::LuaSnippet& snippet, lua::Snippet& out);
  lua::CallResult evaluateCode(const flow::Flow& flow, int step_line, const std::string& code,
                               const lua::RuleContext& context);

  std::shared_ptr<const FlowSet> set_;
  lua::LuaSandbox sandbox_;
  std::unordered_map<std::string, lua::Snippet> snippets_;  // by file:line:col and code
  std::unordered_map<size_t, lua::Snippet> scripts_;        // by FlowSet::scripts index
};

}  // namespace waflow::core::engine
