// The library rules see: an allow-listed base library with safe pcall/xpcall/load/setmetatable,
// read-only string, table, math and utf8, and the rule API (time, text, log, contact changes).
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "lua/bounded_match.h"
#include "lua/bounded_table.h"
#include "lua/sandbox_internal.h"
#include "text/normalize.h"
#include "time/business_hours.h"
#include "time/time_zone.h"

namespace waflow::core::lua::detail {

namespace {

constexpr const char* kStopped = "rule stopped: budget exceeded";

using Impl = LuaSandbox::Impl;
using text::KeywordMatcher;
using text::normalizedCapacity;
using text::normalizeInto;
using text::normalizeText;
using text::splitWords;
using time::BusinessHours;
using time::LocalTime;
using time::TimeZone;

// ---- base library wrappers -------------------------------------------------------------

// pcall that cannot swallow a budget kill: once the budget is gone it re-raises.
int safePcall(lua_State* L) {
  luaL_checkany(L, 1);
  int status = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
  if (Impl::of(L)->killed) {
    return luaL_error(L, kStopped);
  }
  lua_pushboolean(L, status == LUA_OK);
  lua_insert(L, 1);
  return lua_gettop(L);
}

// xpcall(f, handler, ...): the handler runs after f's stack has unwound, never as a Lua
// message handler. Lua 5.4 calls message handlers with hooks disabled when the error comes
// from the budget hook, so a looping handler could otherwise never be stopped. Rules have no
// debug library, so a handler cannot tell the difference.
int safeXpcall(lua_State* L) {
  int n = lua_gettop(L);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  lua_pushvalue(L, 1);
  lua_rotate(L, 3, 1);  // f, handler, f, args...
  int status = lua_pcall(L, n - 2, LUA_MULTRET, 0);
  if (Impl::of(L)->killed) {
    return luaL_error(L, kStopped);
  }
  if (status == LUA_OK) {
    lua_pushboolean(L, 1);
    lua_replace(L, 2);  // f, true, results...
    return lua_gettop(L) - 1;
  }
  lua_pushvalue(L, 2);
  lua_rotate(L, -2, 1);  // f, handler, handler, error
  lua_pcall(L, 1, 1, 0);
  if (Impl::of(L)->killed) {
    return luaL_error(L, kStopped);
  }
  lua_pushboolean(L, 0);
  lua_rotate(L, -2, 1);
  return 2;
}

// load(chunk [, chunkname [, mode [, env]]]): text only, and the caller's environment unless
// one is given. The mode argument is ignored: binary chunks can crash the VM.
int safeLoad(lua_State* L) {
  size_t len = 0;
  const char* chunk = luaL_checklstring(L, 1, &len);
  const char* chunkname = luaL_optstring(L, 2, "=(load)");
  bool has_env = !lua_isnone(L, 4);
  int status = luaL_loadbufferx(L, chunk, len, chunkname, "t");
  if (status != LUA_OK) {
    luaL_pushfail(L);
    lua_insert(L, -2);
    return 2;
  }
  if (has_env) {
    lua_pushvalue(L, 4);
  } else {
    lua_rawgetp(L, LUA_REGISTRYINDEX, &kEnvKey);
  }
  lua_setupvalue(L, -2, 1);
  return 1;
}

// setmetatable without __gc: finalizers would run outside any budget (at collection time).
int safeSetmetatable(lua_State* L) {
  int t = lua_type(L, 2);
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_argexpected(L, t == LUA_TNIL || t == LUA_TTABLE, 2, "nil or table");
  if (t == LUA_TTABLE) {
    lua_pushliteral(L, "__gc");
    if (lua_rawget(L, 2) != LUA_TNIL) {
      return luaL_error(L, "__gc metamethods are not allowed in rules");
    }
    lua_pop(L, 1);
  }
  if (luaL_getmetafield(L, 1, "__metatable") != LUA_TNIL) {
    return luaL_error(L, "cannot change a protected metatable");
  }
  lua_settop(L, 2);
  lua_setmetatable(L, 1);
  return 1;
}

// rawset that refuses read-only proxies (it would bypass their __newindex).
int safeRawset(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checkany(L, 2);
  luaL_checkany(L, 3);
  if (lua_getmetatable(L, 1)) {
    if (lua_rawgetp(L, -1, &kRealKey) != LUA_TNIL) {
      lua_getfield(L, -2, "__name");
      return luaL_error(L, "attempt to modify read-only table '%s'", lua_tostring(L, -1));
    }
    lua_pop(L, 2);
  }
  lua_settop(L, 3);
  lua_rawset(L, 1);
  return 1;
}

// string.rep("", huge) would loop without allocating, out of reach of the budget hook.
int safeRep(lua_State* L) {
  size_t len = 0, sep = 0;
  luaL_checklstring(L, 1, &len);
  lua_Integer n = luaL_checkinteger(L, 2);
  luaL_optlstring(L, 3, "", &sep);
  if (n <= 0 || len + sep == 0) {
    lua_pushliteral(L, "");
    return 1;
  }
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, 1);
  return 1;
}

// log(...): tostring() of each argument, joined by spaces, to the sandbox's log sink.
int ruleLog(lua_State* L) {
  Impl* s = Impl::of(L);
  if (s->call == nullptr || s->call->log_lines > s->options.limits.log_lines_per_call) {
    return 0;
  }
  int n = lua_gettop(L);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (int i = 1; i <= n; ++i) {
    if (i > 1) {
      luaL_addchar(&b, ' ');
    }
    luaL_tolstring(L, i, nullptr);
    luaL_addvalue(&b);
  }
  luaL_pushresult(&b);
  size_t len = 0;
  const char* text = lua_tolstring(L, -1, &len);
  int snippet = 0, line = 0;
  locate(L, 1, &snippet, &line);
  if (++s->call->log_lines > s->options.limits.log_lines_per_call) {
    static constexpr char kDropped[] = "(further log lines of this call are dropped)";
    s->emitLog(kDropped, sizeof kDropped - 1, snippet, line);
  } else {
    s->emitLog(text, len, snippet, line);
  }
  return 0;
}

// ---- time ------------------------------------------------------------------------------

int64_t callNow(lua_State* L) {
  Impl* s = Impl::of(L);
  if (s->call != nullptr) {
    return s->call->now;
  }
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

const TimeZone* findZone(const char* name, char* error, size_t error_size) noexcept {
  try {
    std::string why;
    const TimeZone* zone = TimeZone::locate(name, &why);
    if (zone == nullptr) {
      std::snprintf(error, error_size, "%s", why.c_str());
    }
    return zone;
  } catch (const std::exception& e) {
    std::snprintf(error, error_size, "time zone '%s': %s", name, e.what());
    return nullptr;
  }
}

// The zone named by argument `arg` (or the sandbox default when it is nil/absent).
const TimeZone* zoneArg(lua_State* L, int arg) {
  const char* name = lua_isnoneornil(L, arg) ? Impl::of(L)->options.default_time_zone.c_str()
                                             : luaL_checkstring(L, arg);
  char error[512];
  const TimeZone* zone = findZone(name, error, sizeof error);
  if (zone == nullptr) {
    luaL_error(L, "%s", error);
  }
  return zone;
}

int64_t instantArg(lua_State* L, int arg) {
  return lua_isnoneornil(L, arg) ? callNow(L) : static_cast<int64_t>(luaL_checkinteger(L, arg));
}

int timeNow(lua_State* L) {
  lua_pushinteger(L, static_cast<lua_Integer>(callNow(L)));
  return 1;
}

int timeDate(lua_State* L) {
  const TimeZone* zone = zoneArg(L, 1);
  LocalTime t = zone->toLocal(instantArg(L, 2));
  lua_createtable(L, 0, 11);
  const std::pair<const char*, int> fields[] = {
      {"year", t.year},       {"month", t.month},     {"day", t.day},
      {"hour", t.hour},       {"minute", t.minute},   {"second", t.second},
      {"weekday", t.weekday}, {"yearday", t.yearday}, {"utc_offset", t.utc_offset_seconds}};
  for (const auto& [key, value] : fields) {
    lua_pushinteger(L, value);
    lua_setfield(L, -2, key);
  }
  lua_pushboolean(L, t.dst ? 1 : 0);
  lua_setfield(L, -2, "dst");
  lua_pushstring(L, zone->name().c_str());
  lua_setfield(L, -2, "zone");
  return 1;
}

template <auto Field>  // a member of LocalTime, or of the CivilTime it is
int timeField(lua_State* L) {
  const TimeZone* zone = zoneArg(L, 1);
  lua_pushinteger(L, zone->toLocal(instantArg(L, 2)).*Field);
  return 1;
}

// 1 open, 0 closed, -1 error (in `error`).
int businessHours(lua_State* L, const char* zone_name, int64_t t, char* error,
                  size_t error_size) noexcept {
  try {
    nlohmann::json spec;
    std::string why;
    if (!toJson(L, 1, spec, &why)) {
      std::snprintf(error, error_size, "time.in_business_hours: the schedule is not plain data: %s",
                    why.c_str());
      return -1;
    }
    std::optional<BusinessHours> hours = BusinessHours::parse(spec, &why);
    if (!hours) {
      std::snprintf(error, error_size, "time.in_business_hours: %s", why.c_str());
      return -1;
    }
    std::string name = zone_name != nullptr         ? std::string(zone_name)
                       : !hours->timeZone().empty() ? hours->timeZone()
                                                    : Impl::of(L)->options.default_time_zone;
    const TimeZone* zone = TimeZone::locate(name, &why);
    if (zone == nullptr) {
      std::snprintf(error, error_size, "time.in_business_hours: %s", why.c_str());
      return -1;
    }
    return hours->isOpen(t, *zone) ? 1 : 0;
  } catch (const std::exception& e) {
    std::snprintf(error, error_size, "time.in_business_hours: %s", e.what());
    return -1;
  }
}

// time.in_business_hours(schedule [, tz [, t]])
int timeInBusinessHours(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  const char* zone = lua_isnoneornil(L, 2) ? nullptr : luaL_checkstring(L, 2);
  int64_t t = instantArg(L, 3);
  char error[512];
  int open = businessHours(L, zone, t, error, sizeof error);
  if (open < 0) {
    return luaL_error(L, "%s", error);
  }
  lua_pushboolean(L, open);
  return 1;
}

// ---- text ------------------------------------------------------------------------------

int textNormalize(lua_State* L) {
  size_t len = 0;
  const char* s = luaL_checklstring(L, 1, &len);
  luaL_Buffer b;
  char* out = luaL_buffinitsize(L, &b, normalizedCapacity(len));
  luaL_pushresultsize(&b, normalizeInto(std::string_view(s, len), out));
  return 1;
}

// Index (0-based) of the first matching keyword among `count` strings found at stack
// positions `first`.. (or in the array at `first` when `table`), -1 for none, -2 on failure.
int findKeyword(lua_State* L, std::string_view text, int first, int count, bool table) noexcept {
  try {
    std::string normalized = normalizeText(text);
    std::vector<std::string_view> words = splitWords(normalized);
    std::string keyword;
    std::vector<std::string_view> keyword_words;
    for (int i = 0; i < count; ++i) {
      size_t len = 0;
      const char* k = nullptr;
      if (table) {
        lua_rawgeti(L, first, i + 1);
        k = lua_tolstring(L, -1, &len);
        lua_pop(L, 1);  // the array keeps the string alive
      } else {
        k = lua_tolstring(L, first + i, &len);
      }
      keyword = normalizeText(std::string_view(k, len));
      keyword_words = splitWords(keyword);
      if (KeywordMatcher::matches(words, keyword_words)) {
        return i;
      }
    }
    return -1;
  } catch (...) {
    return -2;
  }
}

// text.match_keyword(s, k1, k2, ...) or text.match_keyword(s, {k1, k2, ...}):
// the first keyword found in s, or nil.
int textMatchKeyword(lua_State* L) {
  size_t len = 0;
  const char* s = luaL_checklstring(L, 1, &len);
  bool table = lua_type(L, 2) == LUA_TTABLE;
  int count = 0;
  if (table) {
    count = static_cast<int>(lua_rawlen(L, 2));
    for (int i = 1; i <= count; ++i) {
      if (lua_rawgeti(L, 2, i) != LUA_TSTRING) {
        return luaL_error(L, "text.match_keyword: keyword %d is a %s, not a string", i,
                          luaL_typename(L, -1));
      }
      lua_pop(L, 1);
    }
  } else {
    count = lua_gettop(L) - 1;
    for (int i = 2; i <= count + 1; ++i) {
      if (lua_type(L, i) != LUA_TSTRING) {
        return luaL_typeerror(L, i, "string");
      }
    }
  }
  luaL_checkstack(L, 2, nullptr);
  int found = findKeyword(L, std::string_view(s, len), 2, count, table);
  if (found == -2) {
    return luaL_error(L, "text.match_keyword: out of memory");
  }
  if (found < 0) {
    lua_pushnil(L);
  } else if (table) {
    lua_rawgeti(L, 2, found + 1);
  } else {
    lua_pushvalue(L, found + 2);
  }
  return 1;
}

// ---- contact changes -------------------------------------------------------------------

// Pushes the call's changes subtable `field`, creating the tables on first use.
void pushChanges(lua_State* L, const char* field) {
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &kChangesKey) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_createtable(L, 0, 3);
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &kChangesKey);
  }
  if (lua_getfield(L, -1, field) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_createtable(L, 0, 4);
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, field);
  }
  lua_remove(L, -2);
}

// contact.set(name, value): value nil removes the attribute.
int contactSet(lua_State* L) {
  luaL_checkstring(L, 1);
  int t = lua_type(L, 2);
  if (t != LUA_TNIL && t != LUA_TNONE && t != LUA_TBOOLEAN && t != LUA_TNUMBER &&
      t != LUA_TSTRING && t != LUA_TTABLE) {
    return luaL_error(L, "contact.set: a %s cannot be stored as a contact attribute",
                      luaL_typename(L, 2));
  }
  lua_settop(L, 2);
  bool remove = lua_isnil(L, 2);
  pushChanges(L, "set");
  lua_pushvalue(L, 1);
  if (remove) {
    lua_pushnil(L);
  } else {
    lua_pushvalue(L, 2);
  }
  lua_rawset(L, -3);
  pushChanges(L, "unset");
  lua_pushvalue(L, 1);
  lua_pushboolean(L, remove ? 1 : 0);
  lua_rawset(L, -3);
  return 0;
}

int contactTagging(lua_State* L, bool add) {
  luaL_checkstring(L, 1);
  lua_settop(L, 1);
  pushChanges(L, "tags");
  lua_pushvalue(L, 1);
  lua_pushboolean(L, add ? 1 : 0);
  lua_rawset(L, -3);
  return 0;
}

int contactTag(lua_State* L) {
  return contactTagging(L, true);
}
int contactUntag(lua_State* L) {
  return contactTagging(L, false);
}

// ---- installation ----------------------------------------------------------------------

void setFunctions(lua_State* L, const luaL_Reg* fns) {
  for (; fns->name != nullptr; ++fns) {
    lua_pushcfunction(L, fns->func);
    lua_setfield(L, -2, fns->name);
  }
}

// Copies the fields of the table at `from` named in `names` into the table on top.
void copyFields(lua_State* L, int from, std::initializer_list<const char*> names) {
  for (const char* name : names) {
    lua_getfield(L, from, name);
    lua_setfield(L, -2, name);
  }
}

// Copies all fields of the table at `from` except `skip` into a new table on top.
void copyTable(lua_State* L, int from, std::initializer_list<const char*> skip) {
  from = lua_absindex(L, from);
  lua_newtable(L);
  lua_pushnil(L);
  while (lua_next(L, from) != 0) {
    bool skipped = false;
    if (lua_type(L, -2) == LUA_TSTRING) {
      for (const char* s : skip) {
        skipped = skipped || std::strcmp(lua_tostring(L, -2), s) == 0;
      }
    }
    if (skipped) {
      lua_pop(L, 1);
    } else {
      lua_pushvalue(L, -2);
      lua_insert(L, -2);
      lua_rawset(L, -4);
    }
  }
}

}  // namespace

void pushContact(lua_State* L, const nlohmann::json& contact) {
  lua_createtable(L, 0, 8);
  int table = lua_gettop(L);
  if (contact.is_object()) {
    for (auto it = contact.cbegin(); it != contact.cend(); ++it) {
      const std::string& key = it.key();
      lua_pushlstring(L, key.data(), key.size());
      if (key == "tags" && it.value().is_array()) {
        // A set, so rules write contact.tags.vip.
        lua_createtable(L, 0, static_cast<int>(it.value().size()));
        for (auto tag = it.value().cbegin(); tag != it.value().cend(); ++tag) {
          pushJson(L, *tag, false, "contact");
          lua_pushboolean(L, 1);
          lua_rawset(L, -3);
        }
        makeReadonly(L, "contact.tags");
      } else {
        pushJson(L, it.value(), true, "contact");
      }
      lua_rawset(L, table);
    }
  }
  for (const char* field : {"attributes", "tags"}) {
    if (lua_getfield(L, table, field) == LUA_TNIL) {
      lua_pop(L, 1);
      lua_newtable(L);
      makeReadonly(L, field[0] == 'a' ? "contact.attributes" : "contact.tags");
      lua_setfield(L, table, field);
    } else {
      lua_pop(L, 1);
    }
  }
  static const luaL_Reg kContact[] = {
      {"set", contactSet}, {"tag", contactTag}, {"untag", contactUntag}, {nullptr, nullptr}};
  setFunctions(L, kContact);
  makeReadonly(L, "contact");
}

int envIndex(lua_State* L) {
  Impl* s = Impl::of(L);
  if (s->call != nullptr && lua_type(L, 2) == LUA_TSTRING) {
    size_t len = 0;
    const char* k = lua_tolstring(L, 2, &len);
    std::string_view key(k, len);
    const RuleContext& ctx = *s->call->context;
    bool found = true;
    if (key == "contact") {
      pushContact(L, ctx.contact);
    } else if (key == "message" || key == "conversation" || key == "steps") {
      const nlohmann::json& value = key == "message"        ? ctx.message
                                    : key == "conversation" ? ctx.conversation
                                                            : ctx.steps;
      if (value.is_null()) {
        lua_newtable(L);
        makeReadonly(L, k);
      } else {
        pushJson(L, value, true, k);
      }
    } else {
      found = false;
      if (ctx.globals.is_object()) {
        for (auto it = ctx.globals.cbegin(); it != ctx.globals.cend() && !found; ++it) {
          if (it.key() == key) {
            pushJson(L, it.value(), true, k);
            found = true;
          }
        }
      }
    }
    if (found) {
      // Built once per call: later reads find it in the environment itself.
      lua_pushvalue(L, 2);
      lua_pushvalue(L, -2);
      lua_rawset(L, 1);
      return 1;
    }
  }
  lua_pushvalue(L, 2);
  lua_rawget(L, lua_upvalueindex(1));
  return 1;
}

// A list, not logic: each library opened and each unsafe global removed, in the order Lua
// needs them, so what a rule can reach is visible in one place.
int installLibraries(lua_State* L) {
  luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
  int base = lua_gettop(L);
  luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 0);
  int string = lua_gettop(L);
  luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 0);
  int table = lua_gettop(L);
  luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 0);
  int math = lua_gettop(L);
  luaL_requiref(L, LUA_UTF8LIBNAME, luaopen_utf8, 0);
  int utf8 = lua_gettop(L);

  lua_newtable(L);  // what every environment reads through
  int lib = lua_gettop(L);
  copyFields(L, base,
             {"assert", "error", "getmetatable", "ipairs", "next", "pairs", "rawequal", "rawget",
              "rawlen", "select", "tonumber", "tostring", "type", "_VERSION"});
  static const luaL_Reg kBase[] = {{"pcall", safePcall},   {"xpcall", safeXpcall},
                                   {"load", safeLoad},     {"setmetatable", safeSetmetatable},
                                   {"rawset", safeRawset}, {"log", ruleLog},
                                   {"print", ruleLog},     {nullptr, nullptr}};
  setFunctions(L, kBase);

  // string: without dump (bytecode), rep guarded, pattern matching bounded by the rule's
  // budget (bounded_match.h); strings' metatable points at this copy.
  copyTable(L, string, {"dump"});
  int safe_string = lua_gettop(L);
  installBoundedMatch(L, safe_string, &kStepBudget);
  lua_getfield(L, string, "rep");
  lua_pushcclosure(L, safeRep, 1);
  lua_setfield(L, safe_string, "rep");
  lua_pushliteral(L, "");
  lua_getmetatable(L, -1);
  int string_meta = lua_gettop(L);
  lua_pushvalue(L, safe_string);
  lua_setfield(L, string_meta, "__index");
  // getmetatable("") shows a read-only view: {__index = <read-only string>}.
  lua_newtable(L);
  lua_pushvalue(L, safe_string);
  makeReadonly(L, "string");
  lua_pushvalue(L, -1);
  lua_setfield(L, lib, "string");
  lua_setfield(L, -2, "__index");
  makeReadonly(L, "string metatable");
  lua_setfield(L, string_meta, "__metatable");
  lua_settop(L, lib);

  copyTable(L, table, {});
  installBoundedTable(L, -1, &kStepBudget);  // insert, remove, move, concat: budgeted
  makeReadonly(L, "table");
  lua_setfield(L, lib, "table");
  copyTable(L, math, {"randomseed"});
  makeReadonly(L, "math");
  lua_setfield(L, lib, "math");
  copyTable(L, utf8, {});
  makeReadonly(L, "utf8");
  lua_setfield(L, lib, "utf8");

  static const luaL_Reg kTime[] = {{"now", timeNow},
                                   {"date", timeDate},
                                   {"hour", timeField<&LocalTime::hour>},
                                   {"minute", timeField<&LocalTime::minute>},
                                   {"weekday", timeField<&LocalTime::weekday>},
                                   {"in_business_hours", timeInBusinessHours},
                                   {nullptr, nullptr}};
  lua_newtable(L);
  setFunctions(L, kTime);
  makeReadonly(L, "time");
  lua_setfield(L, lib, "time");
  static const luaL_Reg kText[] = {
      {"normalize", textNormalize}, {"match_keyword", textMatchKeyword}, {nullptr, nullptr}};
  lua_newtable(L);
  setFunctions(L, kText);
  makeReadonly(L, "text");
  lua_setfield(L, lib, "text");

  // Environments: reads fall through to the call's context tables (built on first use) and
  // then to the library; the metatable cannot be replaced.
  lua_createtable(L, 0, 2);
  lua_pushvalue(L, lib);
  lua_pushcclosure(L, envIndex, 1);
  lua_setfield(L, -2, "__index");
  lua_pushliteral(L, "locked");
  lua_setfield(L, -2, "__metatable");
  Impl::of(L)->env_meta_ref = luaL_ref(L, LUA_REGISTRYINDEX);

  // Empty the real global table: nothing compiled here ever sees it, but leave nothing to find.
  lua_pushnil(L);
  while (lua_next(L, base) != 0) {
    lua_pop(L, 1);
    lua_pushvalue(L, -1);
    lua_pushnil(L);
    lua_rawset(L, base);
  }
  return 0;
}

}  // namespace waflow::core::lua::detail
