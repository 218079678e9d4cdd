#include "lua/sandbox.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "lua/sandbox_internal.h"

namespace waflow::core::lua {

namespace {

using Impl = LuaSandbox::Impl;
using nlohmann::json;

// Counts every byte the state holds and refuses growth past the limit. In Lua 5.4 `osize`
// is a type tag, not a size, when `ptr` is NULL; shrinking never fails.
void* limitedAlloc(void* ud, void* ptr, size_t osize, size_t nsize) {
  auto* memory = static_cast<Impl::Memory*>(ud);
  size_t old = ptr != nullptr ? osize : 0;
  if (nsize == 0) {
    std::free(ptr);
    memory->used -= old;
    return nullptr;
  }
  if (nsize > old &&
      (nsize - old > memory->limit || memory->used + (nsize - old) > memory->limit)) {
    memory->hit = true;
    return nullptr;
  }
  void* block = std::realloc(ptr, nsize);
  if (block == nullptr) {
    if (nsize <= old) {
      return ptr;  // keep the larger block; Lua assumes shrinking succeeds
    }
    memory->hit = true;
    return nullptr;
  }
  memory->used = memory->used - old + nsize;
  return block;
}

int panic(lua_State* L) {
  const char* message = lua_tostring(L, -1);
  std::fprintf(stderr, "waflow: unprotected Lua error: %s\n",
               message != nullptr ? message : "(not a string)");
  std::abort();
}

void budgetHook(lua_State* L, lua_Debug*);

// Counts `work` (VM instructions or pattern-matching steps) against the running call's
// budget; true once the call is out of budget, which is then marked killed.
bool overBudget(lua_State* L, uint64_t work, const char* in_function) {
  Impl* s = Impl::of(L);
  if (s->killed) {
    return true;
  }
  s->instructions += work;
  uint64_t limit = s->options.limits.instruction_limit;
  bool by_instructions = limit != 0 && s->instructions > limit;
  if (!by_instructions && std::chrono::steady_clock::now() < s->deadline) {
    return false;
  }
  s->killed = true;
  s->killed_by_instructions = by_instructions;
  s->killed_in = in_function;
  detail::locate(L, 0, &s->kill_snippet, &s->kill_line);
  // From now on raise at every instruction, so code that catches the error (pcall in a
  // loop, an xpcall handler) gets no further than its next instruction.
  lua_sethook(L, budgetHook, LUA_MASKCOUNT, 1);
  return true;
}

void budgetHook(lua_State* L, lua_Debug*) {
  if (overBudget(L, detail::kHookInterval, nullptr)) {
    luaL_error(L, "rule stopped: budget exceeded");
  }
}

// Called by the bounded C functions every kStepsPerCheck steps: a step costs about what a VM
// instruction does, so both count against the same limits.
void stepBudgetCheck(lua_State* L, const char* function) {
  if (Impl::of(L)->budgeted && overBudget(L, kStepsPerCheck, function)) {
    const bool pattern = std::strncmp(function, "string.", 7) == 0;
    luaL_error(L, "%s: %s exceeded the rule's time budget",
               pattern ? "pattern too costly" : "too costly", function);
  }
}

// Message handler: turns the error into a string and notes which snippet line raised it.
int messageHandler(lua_State* L) {
  Impl* s = Impl::of(L);
  // No __tostring here: a message handler may run with hooks disabled (errors raised by the
  // budget hook), where a rule's Lua code could not be stopped.
  if (lua_type(L, 1) != LUA_TSTRING && lua_type(L, 1) != LUA_TNUMBER) {
    lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    lua_replace(L, 1);
  }
  lua_settop(L, 1);
  if (s->call != nullptr) {
    detail::locate(L, 1, &s->call->error_snippet, &s->call->error_line);
  }
  return 1;
}

int setupProtected(lua_State* L) {
  return detail::installLibraries(L);
}

// Compiles the source for the snippet being built; see compileSnippet().
struct CompileJob {
  const char* source = nullptr;
  size_t size = 0;
  const char* chunkname = nullptr;
  int ref = LUA_NOREF;
};

int compileProtected(lua_State* L) {
  auto* job = static_cast<CompileJob*>(lua_touserdata(L, 1));
  lua_settop(L, 0);
  if (luaL_loadbufferx(L, job->source, job->size, job->chunkname, "t") != LUA_OK) {
    return 1;  // the message
  }
  job->ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
}

// The body of evaluate() / call() / a script's load, in protected mode: makes the call's
// environment (its context tables are built on first use, see detail::envIndex), installs
// it as the snippet's _ENV and runs it.
int runProtected(lua_State* L) {
  Impl* s = Impl::of(L);
  Impl::Call* c = s->call;
  const Impl::SnippetInfo& info = s->snippets[static_cast<size_t>(c->snippet - 1)];
  lua_settop(L, 0);
  lua_createtable(L, 0, 8);  // 1: the environment
  lua_rawgeti(L, LUA_REGISTRYINDEX, s->env_meta_ref);
  lua_setmetatable(L, 1);
  lua_pushvalue(L, 1);
  lua_setfield(L, 1, "_G");
  lua_pushvalue(L, 1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &detail::kEnvKey);
  lua_pushnil(L);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &detail::kChangesKey);

  lua_rawgeti(L, LUA_REGISTRYINDEX, info.ref);  // 2: the compiled chunk
  lua_pushvalue(L, 1);
  lua_setupvalue(L, 2, 1);  // its _ENV
  if (!info.script) {
    lua_call(L, 0, 1);
    return 1;
  }
  lua_call(L, 0, 0);
  if (c->load_only) {
    return 1;  // the environment, to list the functions
  }
  lua_pushlstring(L, c->function.data(), c->function.size());  // 2: the function's name
  lua_pushvalue(L, 2);
  if (lua_rawget(L, 1) != LUA_TFUNCTION) {
    return luaL_error(L, "script '%s' has no function '%s'", info.name.c_str(), lua_tostring(L, 2));
  }
  int nargs = 0;
  if (c->args != nullptr && c->args->is_array()) {
    for (auto it = c->args->cbegin(); it != c->args->cend(); ++it) {
      detail::pushJson(L, *it, false, "argument");
      ++nargs;
    }
  }
  lua_call(L, nargs, 1);
  return 1;
}

std::string formatBytes(size_t bytes) {
  char buffer[64];
  if (bytes % (1024 * 1024) == 0) {
    std::snprintf(buffer, sizeof buffer, "%zu MiB", bytes / (1024 * 1024));
  } else if (bytes % 1024 == 0) {
    std::snprintf(buffer, sizeof buffer, "%zu KiB", bytes / 1024);
  } else {
    std::snprintf(buffer, sizeof buffer, "%zu bytes", bytes);
  }
  return buffer;
}

// Parses "<id>:<line>:" at s[pos]; returns the length matched, 0 if none.
size_t parseChunkRef(std::string_view s, size_t pos, int* id, int* line) {
  if (pos >= s.size() || s[pos] != '<') {
    return 0;
  }
  size_t i = pos + 1;
  auto number = [&](int* out) {
    size_t start = i;
    long long v = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9' && i - start < 9) {
      v = v * 10 + (s[i] - '0');
      ++i;
    }
    *out = static_cast<int>(v);
    return i > start;
  };
  if (!number(id) || i >= s.size() || s[i] != '>') {
    return 0;
  }
  ++i;
  if (i >= s.size() || s[i] != ':') {
    return 0;
  }
  ++i;
  if (!number(line) || i >= s.size() || s[i] != ':') {
    return 0;
  }
  return i + 1 - pos;
}

}  // namespace

namespace detail {

const StepBudget kStepBudget{stepBudgetCheck};

bool locate(lua_State* L, int level, int* snippet, int* line) {
  lua_Debug ar;
  for (; lua_getstack(L, level, &ar) != 0; ++level) {
    if (lua_getinfo(L, "Sl", &ar) == 0 || ar.currentline <= 0 || ar.source == nullptr) {
      continue;
    }
    const char* src = ar.source;
    if (src[0] != '=' || src[1] != '<') {
      continue;
    }
    int id = std::atoi(src + 2);
    if (id > 0) {
      *snippet = id;
      *line = ar.currentline;
      return true;
    }
  }
  return false;
}

}  // namespace detail

std::string_view errorKindName(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kSyntax:
      return "lua-syntax";
    case ErrorKind::kRuntime:
      return "lua-runtime";
    case ErrorKind::kTimeout:
      return "lua-timeout";
    case ErrorKind::kMemory:
      return "lua-memory";
  }
  return "lua-runtime";
}

std::string RuleError::text() const {
  std::string out = file;
  if (line > 0) {
    out += ":" + std::to_string(line);
    if (column > 0) {
      out += ":" + std::to_string(column);
    }
  }
  if (!out.empty()) {
    out += ": ";
  }
  out += "rule '" + rule + "' ";
  out += kind == ErrorKind::kSyntax    ? "has a Lua syntax error: "
         : kind == ErrorKind::kRuntime ? "failed: "
                                       : "";
  out += message;
  return out;
}

diag::Diagnostic RuleError::toDiagnostic() const {
  diag::Diagnostic d;
  d.file = file;
  d.line = line;
  d.column = column;
  d.kind = std::string(errorKindName(kind));
  d.message = "rule '" + rule + "' " +
              (kind == ErrorKind::kSyntax    ? "has a Lua syntax error: "
               : kind == ErrorKind::kRuntime ? "failed: "
                                             : "") +
              message;
  return d;
}

// ---- Impl --------------------------------------------------------------------------------

Impl::Impl(SandboxOptions opts) : options(std::move(opts)) {
  memory.limit = options.limits.memory_limit;
  L = lua_newstate(limitedAlloc, &memory);
  if (L == nullptr) {
    throw std::runtime_error("cannot create a Lua state within the memory limit of " +
                             formatBytes(memory.limit));
  }
  lua_atpanic(L, panic);
  *static_cast<Impl**>(lua_getextraspace(L)) = this;
  if (protectedRun(setupProtected, 0, false) != LUA_OK) {
    std::string message = lua_tostring(L, -1) != nullptr ? lua_tostring(L, -1) : "?";
    lua_close(L);
    throw std::runtime_error("cannot set up the Lua sandbox (memory limit " +
                             formatBytes(memory.limit) + "): " + message);
  }
  lua_settop(L, 0);
}

Impl::~Impl() {
  if (L != nullptr) {
    lua_close(L);
  }
}

int Impl::protectedRun(lua_CFunction fn, int nresults, bool budgeted) {
  lua_settop(L, 0);
  lua_pushcfunction(L, messageHandler);
  lua_pushcfunction(L, fn);
  if (budgeted) {
    instructions = 0;
    killed = false;
    killed_by_instructions = false;
    killed_in = nullptr;
    kill_snippet = 0;
    kill_line = 0;
    deadline = std::chrono::steady_clock::now() + options.limits.time_budget;
    lua_sethook(L, budgetHook, LUA_MASKCOUNT, detail::kHookInterval);
  }
  this->budgeted = budgeted;
  memory.hit = false;
  int status = lua_pcall(L, 0, nresults, 1);
  this->budgeted = false;
  if (budgeted) {
    lua_sethook(L, nullptr, 0, 0);
  }
  return status;
}

const Impl::SnippetInfo* Impl::snippet(int id) const {
  if (id <= 0 || static_cast<size_t>(id) > snippets.size()) {
    return nullptr;
  }
  return &snippets[static_cast<size_t>(id - 1)];
}

int Impl::mapLine(int id, int lua_line) const {
  const SnippetInfo* info = snippet(id);
  return info == nullptr ? lua_line : info->where.line + lua_line - 1;
}

std::string Impl::mapMessage(std::string_view message) const {
  std::string out;
  size_t i = 0;
  while (i < message.size()) {
    int id = 0, line = 0;
    size_t n = parseChunkRef(message, i, &id, &line);
    const SnippetInfo* info = n > 0 ? snippet(id) : nullptr;
    if (info != nullptr) {
      out += info->where.file + ":" + std::to_string(mapLine(id, line)) + ":";
      i += n;
    } else {
      out += message[i++];
    }
  }
  return out;
}

void Impl::emitLog(const char* text, size_t len, int snippet_id, int lua_line) noexcept {
  if (!options.log || call == nullptr) {
    return;
  }
  try {
    LogLine line;
    const SnippetInfo* info = snippet(call->snippet);
    line.rule = info != nullptr ? info->name : "";
    const SnippetInfo* where = snippet(snippet_id);
    if (where != nullptr) {
      line.file = where->where.file;
      line.line = mapLine(snippet_id, lua_line);
    } else if (info != nullptr) {
      line.file = info->where.file;
      line.line = info->where.line;
    }
    len = std::min(len, options.limits.log_line_bytes);
    line.text.assign(text, len);
    options.log(line);
  } catch (...) {
    // A failing log sink must not break the rule.
  }
}

RuleError Impl::makeError(int status, const SnippetInfo& info) {
  RuleError e;
  e.rule = info.name;
  e.file = info.where.file;
  e.line = info.where.line;
  std::string message;
  if (lua_type(L, -1) == LUA_TSTRING) {
    size_t length = 0;
    const char* text = lua_tolstring(L, -1, &length);
    message.assign(text, length);  // error("\0...") holds bytes past a NUL
  }
  if (killed) {
    e.kind = ErrorKind::kTimeout;
    const std::string in = killed_in != nullptr ? std::string(" in ") + killed_in : "";
    if (killed_by_instructions) {
      e.message = "exceeded its limit of " + std::to_string(options.limits.instruction_limit) +
                  " instructions" + in + " and was stopped";
    } else {
      e.message = "exceeded its " + std::to_string(options.limits.time_budget.count()) +
                  " ms time budget" + in + " and was stopped";
    }
    if (const SnippetInfo* at = snippet(kill_snippet)) {
      e.file = at->where.file;
      e.line = mapLine(kill_snippet, kill_line);
    }
    return e;
  }
  if (status == LUA_ERRMEM ||
      (memory.hit && message.find("not enough memory") != std::string::npos)) {
    e.kind = ErrorKind::kMemory;
    e.message =
        "exceeded the memory limit for rules (" + formatBytes(memory.limit) + ") and was stopped";
    return e;
  }
  e.kind = ErrorKind::kRuntime;
  int id = 0, line = 0;
  size_t prefix = parseChunkRef(message, 0, &id, &line);
  if (prefix > 0 && snippet(id) != nullptr) {
    message.erase(0, prefix + (message.size() > prefix && message[prefix] == ' ' ? 1 : 0));
  } else if (call != nullptr && call->error_snippet > 0) {
    id = call->error_snippet;
    line = call->error_line;
  }
  if (const SnippetInfo* at = snippet(id)) {
    e.file = at->where.file;
    e.line = mapLine(id, line);
  }
  e.message = mapMessage(message);
  if (e.message.empty()) {
    // error("") or error(nil): nothing to show the operator but where it happened.
    e.message = "raised an error without a message; give error() a text that says what went wrong";
  }
  return e;
}

// The protected-call protocol in one place: the stack set up, the time and memory budget
// armed, the call, the error classified and the stack restored, so that every path leaves the
// Lua stack balanced.
CallResult Impl::run(int id, Call& c) {
  CallResult result;
  const SnippetInfo* info = snippet(id);
  if (info == nullptr || !info->alive) {
    result.error = RuleError{ErrorKind::kRuntime,
                             "",
                             "",
                             0,
                             0,
                             "invalid snippet handle (not compiled, failed or released)"};
    return result;
  }
  c.snippet = id;
  call = &c;
  int status = protectedRun(runProtected, 1, true);
  try {
    if (status != LUA_OK) {
      result.error = makeError(status, *info);
    } else {
      std::string why;
      if (!detail::toJson(L, -1, result.value, &why)) {
        result.error =
            RuleError{ErrorKind::kRuntime, info->name, info->where.file,
                      info->where.line,    0,          "returned a value JSON cannot hold: " + why};
      }
      // Contact changes.
      if (!result.error && lua_rawgetp(L, LUA_REGISTRYINDEX, &detail::kChangesKey) == LUA_TTABLE) {
        int changes = lua_gettop(L);
        if (lua_getfield(L, changes, "set") == LUA_TTABLE) {
          json set;
          if (!detail::toJson(L, -1, set, &why)) {
            result.error = RuleError{ErrorKind::kRuntime,
                                     info->name,
                                     info->where.file,
                                     info->where.line,
                                     0,
                                     "contact.set was given a value JSON cannot hold: " + why};
          } else {
            result.contact.set = set.is_object() ? std::move(set) : json::object();
          }
        }
        lua_pop(L, 1);
        if (lua_getfield(L, changes, "unset") == LUA_TTABLE) {
          lua_pushnil(L);
          while (lua_next(L, -2) != 0) {
            if (lua_toboolean(L, -1) && lua_type(L, -2) == LUA_TSTRING) {
              result.contact.set[lua_tostring(L, -2)] = nullptr;
            }
            lua_pop(L, 1);
          }
        }
        lua_pop(L, 1);
        if (lua_getfield(L, changes, "tags") == LUA_TTABLE) {
          lua_pushnil(L);
          while (lua_next(L, -2) != 0) {
            if (lua_type(L, -2) == LUA_TSTRING) {
              (lua_toboolean(L, -1) ? result.contact.tags_added : result.contact.tags_removed)
                  .emplace_back(lua_tostring(L, -2));
            }
            lua_pop(L, 1);
          }
        }
        std::sort(result.contact.tags_added.begin(), result.contact.tags_added.end());
        std::sort(result.contact.tags_removed.begin(), result.contact.tags_removed.end());
      }
      if (result.error) {
        result.contact = ContactChanges{};
      }
    }
  } catch (const std::exception& e) {
    result.error = RuleError{
        ErrorKind::kRuntime, info->name, info->where.file,
        info->where.line,    0,          std::string("result could not be converted: ") + e.what()};
    result.contact = ContactChanges{};
  }
  call = nullptr;
  lua_settop(L, 0);
  if (status == LUA_ERRMEM || memory.hit) {
    // Give the next call the memory back now rather than at the next collection step.
    lua_gc(L, LUA_GCCOLLECT);
  }
  return result;
}

// ---- LuaSandbox --------------------------------------------------------------------------

namespace {

// Column (1-based in the containing file) and line (1-based in the snippet) of a Lua syntax
// error message "<id>:N: ... near 'tok'" for `source`.
void syntaxPosition(std::string_view source, std::string_view message, int lua_line,
                    const SourcePosition& where, int* column) {
  // The snippet's line `lua_line`.
  size_t start = 0;
  for (int l = 1; l < lua_line && start <= source.size(); ++l) {
    size_t nl = source.find('\n', start);
    if (nl == std::string_view::npos) {
      start = source.size();
      break;
    }
    start = nl + 1;
  }
  start = std::min(start, source.size());
  size_t end = source.find('\n', start);
  std::string_view text = source.substr(start, end == std::string_view::npos ? end : end - start);
  size_t offset = 0;
  size_t near = message.rfind(" near ");
  if (near != std::string_view::npos) {
    std::string_view token = message.substr(near + 6);
    if (token == "<eof>") {
      size_t last = text.find_last_not_of(" \t\r");
      offset = last == std::string_view::npos ? 0 : last + 1;
    } else if (token.size() >= 2 && token.front() == '\'' && token.back() == '\'') {
      token = token.substr(1, token.size() - 2);
      size_t found = text.find(token);
      offset = found != std::string_view::npos ? found : 0;
    }
  } else {
    size_t first = text.find_first_not_of(" \t");
    offset = first == std::string_view::npos ? 0 : first;
  }
  int base = lua_line == 1 ? where.column : where.indent + 1;
  *column = base + static_cast<int>(offset);
}

}  // namespace

LuaSandbox::LuaSandbox(SandboxOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

LuaSandbox::~LuaSandbox() = default;

namespace {

struct Attempt {
  bool ok = false;
  int ref = LUA_NOREF;
  std::string message;  // raw Lua message
  int line = 0;         // snippet line of the error
  int column = 0;       // column in the containing file
};

Attempt compileText(Impl& impl, std::string_view text, std::string_view original,
                    const std::string& chunkname, const SourcePosition& where) {
  Attempt a;
  CompileJob job{text.data(), text.size(), chunkname.c_str(), LUA_NOREF};
  lua_settop(impl.L, 0);
  lua_pushcfunction(impl.L, compileProtected);
  lua_pushlightuserdata(impl.L, &job);
  int status = lua_pcall(impl.L, 1, 1, 0);
  if (status == LUA_OK && job.ref != LUA_NOREF) {
    a.ok = true;
    a.ref = job.ref;
  } else if (status == LUA_ERRMEM || (status == LUA_OK && impl.memory.hit)) {
    a.message = "not enough memory";
  } else {
    a.message = lua_type(impl.L, -1) == LUA_TSTRING ? lua_tostring(impl.L, -1) : "?";
    int id = 0;
    size_t prefix = parseChunkRef(a.message, 0, &id, &a.line);
    if (prefix > 0) {
      a.message.erase(0, prefix + 1);
      syntaxPosition(original, a.message, a.line, where, &a.column);
    }
  }
  lua_settop(impl.L, 0);
  return a;
}

// Rewrites "at line N" (Lua's reference to an opening token) into the containing file's line.
std::string mapAtLine(std::string message, int first_line) {
  size_t pos = message.find("at line ");
  if (pos != std::string::npos) {
    size_t digits = pos + 8;
    size_t end = digits;
    while (end < message.size() && message[end] >= '0' && message[end] <= '9') {
      ++end;
    }
    if (end > digits) {
      int n = std::atoi(message.c_str() + digits);
      message.replace(digits, end - digits, std::to_string(first_line + n - 1));
    }
  }
  return message;
}

}  // namespace

CompileResult LuaSandbox::compile(std::string_view name, std::string_view source,
                                  const SourcePosition& where) {
  CompileResult result;
  Impl& impl = *impl_;
  impl.snippets.push_back(Impl::SnippetInfo{std::string(name), where, false, false, LUA_NOREF, {}});
  int id = static_cast<int>(impl.snippets.size());
  std::string chunkname = "=<" + std::to_string(id) + ">";
  // An expression first (what flows mostly hold); if that fails, a block of statements.
  std::string expression = "return " + std::string(source);
  Attempt a = compileText(impl, expression, source, chunkname, where);
  if (!a.ok) {
    Attempt b = compileText(impl, source, source, chunkname, where);
    if (b.ok || std::make_pair(b.line, b.column) > std::make_pair(a.line, a.column)) {
      a = std::move(b);
    }
  }
  Impl::SnippetInfo& info = impl.snippets.back();
  if (a.ok) {
    info.alive = true;
    info.ref = a.ref;
    result.snippet = Snippet(id);
    return result;
  }
  RuleError e;
  e.rule = std::string(name);
  e.file = where.file;
  if (a.message == "not enough memory") {
    e.kind = ErrorKind::kMemory;
    e.line = where.line;
    e.message =
        "does not fit in the memory limit for rules (" + formatBytes(impl.memory.limit) + ")";
  } else {
    e.kind = ErrorKind::kSyntax;
    e.line = where.line + std::max(a.line, 1) - 1;
    e.column = a.column;
    e.message = mapAtLine(a.message, where.line);
  }
  result.error = std::move(e);
  return result;
}

CompileResult LuaSandbox::loadScript(std::string_view name, std::string_view source,
                                     const SourcePosition& where) {
  Impl& impl = *impl_;
  impl.snippets.push_back(Impl::SnippetInfo{std::string(name), where, true, false, LUA_NOREF, {}});
  int id = static_cast<int>(impl.snippets.size());
  std::string chunkname = "=<" + std::to_string(id) + ">";
  CompileResult result;
  Attempt a = compileText(impl, source, source, chunkname, where);
  if (!a.ok) {
    RuleError e;
    e.rule = std::string(name);
    e.file = where.file;
    e.kind = a.message == "not enough memory" ? ErrorKind::kMemory : ErrorKind::kSyntax;
    e.line = where.line + std::max(a.line, 1) - 1;
    e.column = a.column;
    e.message = e.kind == ErrorKind::kMemory ? "does not fit in the memory limit for rules (" +
                                                   formatBytes(impl.memory.limit) + ")"
                                             : mapAtLine(a.message, where.line);
    result.error = std::move(e);
    return result;
  }
  Impl::SnippetInfo& info = impl.snippets.back();
  info.alive = true;
  info.ref = a.ref;
  // Run the top level once, so its errors surface now, and list what it defines.
  RuleContext empty;
  Impl::Call c;
  c.context = &empty;
  c.load_only = true;
  c.now = std::chrono::duration_cast<std::chrono::seconds>(
              std::chrono::system_clock::now().time_since_epoch())
              .count();
  c.snippet = id;
  impl.call = &c;
  int status = impl.protectedRun(runProtected, 1, true);
  if (status != LUA_OK) {
    result.error = impl.makeError(status, impl.snippets[static_cast<size_t>(id - 1)]);
    impl.call = nullptr;
    lua_settop(impl.L, 0);
    release(Snippet(id));
    return result;
  }
  impl.call = nullptr;
  std::vector<std::string> names;
  lua_pushnil(impl.L);
  while (lua_next(impl.L, -2) != 0) {
    if (lua_type(impl.L, -2) == LUA_TSTRING && lua_type(impl.L, -1) == LUA_TFUNCTION) {
      names.emplace_back(lua_tostring(impl.L, -2));
    }
    lua_pop(impl.L, 1);
  }
  lua_settop(impl.L, 0);
  std::sort(names.begin(), names.end());
  impl.snippets[static_cast<size_t>(id - 1)].functions = std::move(names);
  result.snippet = Snippet(id);
  return result;
}

namespace {

int64_t unixSeconds(const RuleContext& context) {
  auto now = context.now.value_or(std::chrono::system_clock::now());
  return std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
}

}  // namespace

CallResult LuaSandbox::evaluate(const Snippet& snippet, const RuleContext& context) {
  const Impl::SnippetInfo* info = impl_->snippet(snippet.id_);
  if (info != nullptr && info->alive && info->script) {
    CallResult result;
    result.error = RuleError{
        ErrorKind::kRuntime, info->name, info->where.file,
        info->where.line,    0,          "is a script; call one of its functions instead"};
    return result;
  }
  Impl::Call c;
  c.context = &context;
  c.now = unixSeconds(context);
  return impl_->run(snippet.id_, c);
}

CallResult LuaSandbox::call(const Snippet& script, std::string_view function,
                            const nlohmann::json& args, const RuleContext& context) {
  const Impl::SnippetInfo* info = impl_->snippet(script.id_);
  if (info != nullptr && info->alive && !info->script) {
    CallResult result;
    result.error =
        RuleError{ErrorKind::kRuntime, info->name, info->where.file,
                  info->where.line,    0,          "is an expression, not a script with functions"};
    return result;
  }
  if (!args.is_null() && !args.is_array()) {
    CallResult result;
    result.error = RuleError{ErrorKind::kRuntime,
                             info != nullptr ? info->name : "",
                             info != nullptr ? info->where.file : "",
                             info != nullptr ? info->where.line : 0,
                             0,
                             "arguments must be a JSON array"};
    return result;
  }
  Impl::Call c;
  c.context = &context;
  c.function = function;
  c.args = &args;
  c.now = unixSeconds(context);
  return impl_->run(script.id_, c);
}

std::vector<std::string> LuaSandbox::functions(const Snippet& script) const {
  const Impl::SnippetInfo* info = impl_->snippet(script.id_);
  return info != nullptr && info->alive ? info->functions : std::vector<std::string>{};
}

void LuaSandbox::release(const Snippet& snippet) {
  if (snippet.id_ <= 0 || static_cast<size_t>(snippet.id_) > impl_->snippets.size()) {
    return;
  }
  Impl::SnippetInfo& info = impl_->snippets[static_cast<size_t>(snippet.id_ - 1)];
  if (info.alive) {
    // luaL_unref does not allocate.
    luaL_unref(impl_->L, LUA_REGISTRYINDEX, info.ref);
    info.alive = false;
    info.ref = LUA_NOREF;
    info.functions.clear();
  }
}

size_t LuaSandbox::memoryUsed() const {
  return impl_->memory.used;
}

const SandboxOptions& LuaSandbox::options() const {
  return impl_->options;
}

}  // namespace waflow::core::lua
