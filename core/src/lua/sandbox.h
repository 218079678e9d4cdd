// LuaSandbox: one Lua 5.4 state that compiles and runs rule snippets (flow expressions) and
// rule scripts (scripts/*.lua) safely: an allow-listed library (base without file access or
// bytecode loading, string, table, math, utf8, plus the rule API: time, text, log), a fresh
// environment for every call so nothing leaks between snippets or calls, read-only shared
// tables, a time/instruction budget per call that pcall cannot swallow, and a memory cap for
// the whole state. Values go in and out as JSON. Errors name the rule and its file:line.
// The rule API for authors is described in docs/lua.md.
//
// Thread-safety: thread-compatible, not thread-safe. A LuaSandbox (one lua_State) must be used
// by one thread at a time; run one sandbox per worker thread and compile the same sources in
// each. Snippet handles belong to the sandbox that made them. Different sandboxes share
// nothing and may run concurrently.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "diag/diagnostic.h"

namespace waflow::core::lua {

struct SandboxLimits {
  // Wall-clock budget of one evaluate()/call() (and of a script's top level at load).
  std::chrono::milliseconds time_budget{50};
  // VM instructions per call, counted in steps of 1000; 0 = only the time budget applies.
  uint64_t instruction_limit = 0;
  // Bytes the whole state may hold: the libraries, every compiled snippet and the data of
  // the running call.
  size_t memory_limit = 8 * 1024 * 1024;
  // log() lines kept per call, and bytes per line (longer lines are cut).
  int log_lines_per_call = 20;
  size_t log_line_bytes = 1000;
};

// A line written by a rule with log(...) (or print(...)).
struct LogLine {
  std::string rule;  // the snippet's name
  std::string file;  // where the rule was running, mapped into its file (line 0 = unknown)
  int line = 0;
  std::string text;  // the arguments, tostring()-ed and joined with spaces
};

struct SandboxOptions {
  SandboxLimits limits;
  // The zone used by time helpers when a rule passes none (IANA name).
  std::string default_time_zone = "UTC";
  // Receives log() lines, on the calling thread, during the call. Null = dropped.
  std::function<void(const LogLine&)> log;
};

// Where a snippet's first character sits in the file that contains it, so errors point into
// that file. For a snippet inside YAML, `line`/`column` are the position of its first
// character; `indent` is the column (0-based) where its continuation lines start, e.g. the
// indentation of a `|` block scalar. A whole scripts/*.lua file: {"scripts/x.lua", 1, 1, 0}.
struct SourcePosition {
  std::string file;
  int line = 1;
  int column = 1;
  int indent = 0;
};

enum class ErrorKind {
  kSyntax,   // the snippet does not compile
  kRuntime,  // a Lua error while running (including a missing function or a bad value)
  kTimeout,  // the time or instruction budget ran out; the call was stopped
  kMemory,   // the state's memory limit was reached; the call was stopped
};

// "lua-syntax" | "lua-runtime" | "lua-timeout" | "lua-memory": the diagnostic kind.
std::string_view errorKindName(ErrorKind kind);

struct RuleError {
  ErrorKind kind = ErrorKind::kRuntime;
  std::string rule;  // the snippet's name
  std::string file;  // location mapped into the containing file (the rule's start if unknown)
  int line = 0;
  int column = 0;       // known for syntax errors only; 0 otherwise
  std::string message;  // what happened, without the location

  // "flows/shop.yaml:14:9: rule 'is_vip' failed: attempt to index a nil value (global 'x')"
  std::string text() const;
  diag::Diagnostic toDiagnostic() const;
};

// A compiled snippet or loaded script. Cheap to copy; valid only with its sandbox.
class Snippet {
 public:
  Snippet() = default;
  bool valid() const { return id_ > 0; }

 private:
  friend class LuaSandbox;
  explicit Snippet(int id) : id_(id) {}
  int id_ = 0;
};

struct CompileResult {
  Snippet snippet;                 // valid() when the source compiled (and, for a script, ran)
  std::optional<RuleError> error;  // set when it did not
  bool ok() const { return !error.has_value(); }
};

// Contact changes a rule asked for with contact.set / contact.tag / contact.untag. They are
// results for the caller to apply, and are empty when the call failed.
struct ContactChanges {
  nlohmann::json set = nlohmann::json::object();  // attribute -> new value; null = remove it
  std::vector<std::string> tags_added;            // sorted
  std::vector<std::string> tags_removed;          // sorted
  bool empty() const { return set.empty() && tags_added.empty() && tags_removed.empty(); }
};

// What a call can read. Each field becomes a read-only global table of the same name (nil
// when null); see docs/lua.md for the fields the flow engine fills in.
struct RuleContext {
  nlohmann::json message;       // id, from, type, text, media, reply_id, ...
  nlohmann::json contact;       // id, name, attributes {..}, tags ["vip", ...] (-> a set)
  nlohmann::json conversation;  // state of the conversation (handoff, flow, step, ...)
  nlohmann::json steps;         // outputs of earlier flow steps: steps.<id>.output
  nlohmann::json globals;       // an object: more read-only globals by name
  // What time.now() returns (and the default instant of the other time helpers).
  // Unset = the system clock when the call starts.
  std::optional<std::chrono::system_clock::time_point> now;
};

struct CallResult {
  nlohmann::json value;  // the first value returned (null for nil or nothing)
  ContactChanges contact;
  std::optional<RuleError> error;
  bool ok() const { return !error.has_value(); }
  // Lua truthiness of the value: false only for nil (null) and false.
  bool truthy() const { return !(value.is_null() || (value.is_boolean() && !value.get<bool>())); }
};

class LuaSandbox {
 public:
  // Throws std::runtime_error if the state cannot be created (memory_limit far too small).
  explicit LuaSandbox(SandboxOptions options = {});
  ~LuaSandbox();
  LuaSandbox(const LuaSandbox&) = delete;
  LuaSandbox& operator=(const LuaSandbox&) = delete;

  // Compiles an expression ("contact.tags.vip and message.type == 'text'") or, if it is not
  // one, a block of statements whose `return` gives the value. Syntax errors come back
  // located in the containing file (line and column). Nothing runs.
  CompileResult compile(std::string_view name, std::string_view source,
                        const SourcePosition& where);

  // Loads a script file defining functions (global `function name(...)` definitions). Its
  // top level runs once now, under the budget, so its errors surface at load time.
  CompileResult loadScript(std::string_view name, std::string_view source,
                           const SourcePosition& where);

  // Evaluates a compiled snippet against `context` and returns its value.
  CallResult evaluate(const Snippet& snippet, const RuleContext& context);

  // Calls `function` of a loaded script with `args` (a JSON array, or null for none). The
  // script's top level runs afresh for every call, so no state survives between calls.
  CallResult call(const Snippet& script, std::string_view function, const nlohmann::json& args,
                  const RuleContext& context);

  // Names of the functions a loaded script defines (sorted); empty for an expression.
  std::vector<std::string> functions(const Snippet& script) const;

  // Frees a snippet; its handle becomes invalid.
  void release(const Snippet& snippet);

  size_t memoryUsed() const;
  const SandboxOptions& options() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace waflow::core::lua
