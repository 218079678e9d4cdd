#include "engine/flow_lua.h"

#include "flow/spintax.h"
#include "flow/template_text.h"

#include <fmt/format.h>

#include <cmath>

namespace waflow::core::engine {
namespace {

std::string snippetKey(const std::string& file, int line, int column, const std::string& code) {
  return fmt::format("{}:{}:{}\n{}", file, line, column, code);
}

// The snippet the loader recorded for `code` in the step starting at `step_line`: the first
// with that code at or after the step (texts inside JSON values are not kept per node).
const flow::LuaSnippet* snippetFor(const flow::Flow& flow, int step_line, const std::string& code) {
  const flow::LuaSnippet* before = nullptr;
  for (const auto& s : flow.snippets) {
    if (s.code == code) {
      if (s.line >= step_line) {
        return &s;
      }
      before = &s;
    }
  }
  return before;
}

// Placeholders for inserted values while spintax runs over the literal text: control
// characters no template or customer text uses, and no spintax syntax.
constexpr char kOpen = '\x01';
constexpr char kClose = '\x02';

}  // namespace

FlowLua& FlowLua::forThread(const std::shared_ptr<const FlowSet>& set,
                            const lua::SandboxOptions& options) {
  thread_local std::unique_ptr<FlowLua> instance;
  if (!instance || instance->set_.get() != set.get()) {
    instance.reset();  // free the old state before building the new one
    instance.reset(new FlowLua(set, options));
  }
  return *instance;
}

FlowLua::FlowLua(std::shared_ptr<const FlowSet> set, const lua::SandboxOptions& options)
    : set_(std::move(set)), sandbox_(options) {}

std::optional<lua::RuleError> FlowLua::compiled(const flow::LuaSnippet& snippet,
                                                lua::Snippet& out) {
  std::string key = snippetKey(snippet.file, snippet.line, snippet.column, snippet.code);
  auto it = snippets_.find(key);
  if (it != snippets_.end()) {
    out = it->second;
    return std::nullopt;
  }
  lua::CompileResult result =
      sandbox_.compile(snippet.where, snippet.code, {snippet.file, snippet.line, snippet.column});
  if (!result.ok()) {
    return result.error;
  }
  snippets_.emplace(std::move(key), result.snippet);
  out = result.snippet;
  return std::nullopt;
}

lua::CallResult FlowLua::evaluate(const flow::LuaSnippet& snippet,
                                  const lua::RuleContext& context) {
  lua::Snippet handle;
  if (auto error = compiled(snippet, handle)) {
    lua::CallResult failed;
    failed.error = std::move(error);
    return failed;
  }
  return sandbox_.evaluate(handle, context);
}

lua::CallResult FlowLua::evaluateCode(const flow::Flow& flow, int step_line,
                                      const std::string& code, const lua::RuleContext& context) {
  if (const flow::LuaSnippet* known = snippetFor(flow, step_line, code)) {
    return evaluate(*known, context);
  }
  flow::LuaSnippet adhoc;
  adhoc.code = code;
  adhoc.file = flow.file;
  adhoc.line = step_line;
  adhoc.column = 1;
  adhoc.where = fmt::format("flow '{}', line {}", flow.id, step_line);
  return evaluate(adhoc, context);
}

lua::CallResult FlowLua::call(std::string_view function, const nlohmann::json& args,
                              const lua::RuleContext& context) {
  lua::CallResult failed;
  auto it = set_->function_script.find(function);
  if (it == set_->function_script.end()) {
    failed.error = lua::RuleError{lua::ErrorKind::kRuntime,
                                  std::string(function),
                                  "",
                                  0,
                                  0,
                                  "no script in scripts/ defines this function"};
    return failed;
  }
  auto loaded = scripts_.find(it->second);
  if (loaded == scripts_.end()) {
    const ScriptSource& script = set_->scripts[it->second];
    lua::CompileResult result = sandbox_.loadScript(script.name, script.text, {script.file});
    if (!result.ok()) {
      failed.error = result.error;
      return failed;
    }
    loaded = scripts_.emplace(it->second, result.snippet).first;
  }
  return sandbox_.call(loaded->second, function, args, context);
}

std::string FlowLua::toText(const nlohmann::json& value) {
  if (value.is_string()) {
    return value.get<std::string>();
  }
  if (value.is_null()) {
    return "";
  }
  if (value.is_number_float()) {
    double d = value.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e15) {
      return fmt::format("{}", static_cast<int64_t>(d));
    }
    return fmt::format("{}", d);
  }
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::optional<lua::RuleError> FlowLua::render(const flow::Flow& flow, const flow::Text& text,
                                              const lua::RuleContext& context, bool spin,
                                              std::string& out) {
  out.clear();
  if (!text.isTemplate()) {
    out = spin ? flow::renderSpintax(text.value) : text.value;
    return std::nullopt;
  }
  flow::TemplateScan scan = flow::scanTemplate(text.value);
  std::vector<std::string> values;
  std::string skeleton;
  size_t literal_from = 0;
  for (size_t i = 0; i < scan.expressions.size(); ++i) {
    const auto& e = scan.expressions[i];
    lua::CallResult r = i < text.expressions.size() && text.expressions[i].code == e.code
                            ? evaluate(text.expressions[i], context)
                            : evaluateCode(flow, text.pos.line, e.code, context);
    if (!r.ok()) {
      return r.error;
    }
    skeleton.append(text.value, literal_from, e.open - literal_from);
    size_t close = text.value.find("}}", e.offset + e.code.size());
    literal_from = close == std::string::npos ? text.value.size() : close + 2;
    if (spin) {
      skeleton += kOpen;
      skeleton += std::to_string(values.size());
      skeleton += kClose;
      values.push_back(toText(r.value));
    } else {
      skeleton += toText(r.value);
    }
  }
  skeleton.append(text.value, literal_from);
  if (!spin) {
    out = std::move(skeleton);
    return std::nullopt;
  }
  std::string spun = flow::renderSpintax(skeleton);
  out.reserve(spun.size());
  for (size_t i = 0; i < spun.size(); ++i) {
    if (spun[i] != kOpen) {
      out += spun[i];
      continue;
    }
    size_t end = spun.find(kClose, i);
    size_t index = std::stoul(spun.substr(i + 1, end - i - 1));
    out += values[index];
    i = end;
  }
  return std::nullopt;
}

std::optional<lua::RuleError> FlowLua::renderValue(const flow::Flow& flow, int step_line,
                                                   const nlohmann::json& value,
                                                   const lua::RuleContext& context,
                                                   nlohmann::json& out) {
  if (value.is_object() || value.is_array()) {
    out = value.is_object() ? nlohmann::json::object() : nlohmann::json::array();
    for (auto it = value.begin(); it != value.end(); ++it) {
      nlohmann::json item;
      if (auto error = renderValue(flow, step_line, it.value(), context, item)) {
        return error;
      }
      if (value.is_object()) {
        out[it.key()] = std::move(item);
      } else {
        out.push_back(std::move(item));
      }
    }
    return std::nullopt;
  }
  if (!value.is_string() || value.get_ref<const std::string&>().find("{{") == std::string::npos) {
    out = value;
    return std::nullopt;
  }
  const std::string& s = value.get_ref<const std::string&>();
  flow::TemplateScan scan = flow::scanTemplate(s);
  size_t first = s.find_first_not_of(" \t\n");
  size_t last = s.find_last_not_of(" \t\n");
  if (scan.expressions.size() == 1 && scan.expressions[0].open == first &&
      s.compare(last - 1, 2, "}}") == 0) {
    lua::CallResult r = evaluateCode(flow, step_line, scan.expressions[0].code, context);
    if (!r.ok()) {
      return r.error;
    }
    out = std::move(r.value);
    return std::nullopt;
  }
  std::string text;
  size_t literal_from = 0;
  for (const auto& e : scan.expressions) {
    lua::CallResult r = evaluateCode(flow, step_line, e.code, context);
    if (!r.ok()) {
      return r.error;
    }
    text.append(s, literal_from, e.open - literal_from);
    text += toText(r.value);
    size_t close = s.find("}}", e.offset + e.code.size());
    literal_from = close == std::string::npos ? s.size() : close + 2;
  }
  text.append(s, literal_from);
  out = std::move(text);
  return std::nullopt;
}

}  // namespace waflow::core::engine
