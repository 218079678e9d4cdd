// Internals shared by the sandbox's translation units: the state behind LuaSandbox, JSON <->
// Lua conversion with read-only proxies, and the library installer. Not for use outside
// core/src/lua/.
//
// Thread-safety: as LuaSandbox (one thread at a time per state).
//
// C functions registered with Lua must not hold C++ objects with destructors across Lua API
// calls that can raise: Debian's liblua5.4 is C and raises with longjmp. Such C++ work lives
// in noexcept helpers that return before anything is pushed or raised.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <lua.hpp>
#include <nlohmann/json.hpp>

#include "lua/sandbox.h"
#include "lua/step_budget.h"

namespace waflow::core::lua {

struct LuaSandbox::Impl {
  struct Memory {
    size_t used = 0;
    size_t limit = 0;
    bool hit = false;  // an allocation was refused since the last reset
  };
  struct SnippetInfo {
    std::string name;
    SourcePosition where;
    bool script = false;
    bool alive = false;
    int ref = LUA_NOREF;
    std::vector<std::string> functions;
  };
  // The call in progress.
  struct Call {
    int snippet = 0;
    std::string_view function;  // script function to call; empty = evaluate
    const nlohmann::json* args = nullptr;
    const RuleContext* context = nullptr;
    bool load_only = false;  // run a script's top level and return its env
    int64_t now = 0;         // time.now(), unix seconds
    int log_lines = 0;
    int error_snippet = 0;  // where the message handler found the error
    int error_line = 0;
  };

  explicit Impl(SandboxOptions opts);
  ~Impl();

  // Runs `fn` in protected mode with the message handler; the hook is installed for
  // budgeted runs. Returns the lua_pcall status; results are left on the stack above index 1.
  int protectedRun(lua_CFunction fn, int nresults, bool budgeted);
  CallResult run(int snippet_id, Call& call);
  RuleError makeError(int status, const SnippetInfo& info);
  // Replaces "<id>:<line>:" chunk references in a message by "file:line:".
  std::string mapMessage(std::string_view message) const;
  const SnippetInfo* snippet(int id) const;
  int mapLine(int id, int lua_line) const;
  void emitLog(const char* text, size_t len, int snippet_id, int lua_line) noexcept;

  // The sandbox that owns a state.
  static Impl* of(lua_State* L) { return *static_cast<Impl**>(lua_getextraspace(L)); }

  SandboxOptions options;
  Memory memory;
  lua_State* L = nullptr;
  std::vector<SnippetInfo> snippets;  // id = index + 1
  Call* call = nullptr;
  int env_meta_ref = LUA_NOREF;

  // Budget of the current call.
  std::chrono::steady_clock::time_point deadline;
  bool budgeted = false;  // a budgeted run is in progress (deadline applies)
  uint64_t instructions = 0;
  bool killed = false;
  bool killed_by_instructions = false;
  const char* killed_in = nullptr;  // the C function stopped mid-loop (string.find, ...), if any
  int kill_snippet = 0;
  int kill_line = 0;
};

namespace detail {

constexpr int kHookInterval = 1000;  // VM instructions between budget checks
constexpr int kMaxDepth = 100;       // nesting of converted values

// The budget of the C functions that loop for a rule (string.find/match/gmatch/gsub,
// table.insert/remove/move/concat; see step_budget.h): the running call's deadline and
// instruction limit, reported like the VM's budget.
extern const StepBudget kStepBudget;

// Registry keys (addresses) for per-call state.
extern const char kRealKey;     // proxy metatable -> the real table
extern const char kEnvKey;      // registry -> the running call's environment
extern const char kChangesKey;  // registry -> the running call's contact changes

// Finds the innermost stack frame (from `level` up) that runs one of our snippets.
bool locate(lua_State* L, int level, int* snippet, int* line);

// Pushes `value`; with `readonly`, every table is a read-only proxy whose errors name `name`.
// Raises Lua errors (memory, depth).
void pushJson(lua_State* L, const nlohmann::json& value, bool readonly, const char* name,
              int depth = 0);
// Replaces the table on top of the stack by a read-only proxy of it named `name`.
void makeReadonly(lua_State* L, const char* name);
// Converts the value at `index` (seeing through read-only proxies). Never raises a Lua
// error; returns false with `*error` for values JSON cannot hold.
bool toJson(lua_State* L, int index, nlohmann::json& out, std::string* error, int depth = 0);

// Builds the library table and the environment metatable (in protected mode).
int installLibraries(lua_State* L);
// __index of every environment: the running call's context tables (message, contact,
// conversation, steps, globals), built on first use, then the library (upvalue 1).
int envIndex(lua_State* L);
// Pushes the read-only `contact` table for the running call.
void pushContact(lua_State* L, const nlohmann::json& contact);

}  // namespace detail
}  // namespace waflow::core::lua
