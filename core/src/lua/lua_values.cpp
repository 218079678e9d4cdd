// JSON <-> Lua values, and read-only proxies.
#include <cmath>
#include <cstdio>
#include <limits>

#include "lua/sandbox_internal.h"

namespace waflow::core::lua::detail {

const char kRealKey = 0;
const char kEnvKey = 0;
const char kChangesKey = 0;

namespace {

int readonlyNewindex(lua_State* L) {
  const char* name = "table";
  if (lua_getmetatable(L, 1) && lua_getfield(L, -1, "__name") == LUA_TSTRING) {
    name = lua_tostring(L, -1);
  }
  if (std::string_view(name).rfind("contact", 0) == 0) {
    return luaL_error(L,
                      "attempt to modify read-only table '%s' (use contact.set(name, value), "
                      "contact.tag(tag) or contact.untag(tag))",
                      name);
  }
  return luaL_error(L, "attempt to modify read-only table '%s'", name);
}

// Pushes the real table behind the proxy at index 1.
void pushReal(lua_State* L) {
  lua_getmetatable(L, 1);
  lua_rawgetp(L, -1, &kRealKey);
  lua_remove(L, -2);
}

int readonlyLen(lua_State* L) {
  pushReal(L);
  lua_pushinteger(L, static_cast<lua_Integer>(lua_rawlen(L, -1)));
  return 1;
}

int readonlyNext(lua_State* L) {
  lua_settop(L, 2);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_pushvalue(L, 2);
  if (lua_next(L, 3) != 0) {
    return 2;
  }
  lua_pushnil(L);
  return 1;
}

// pairs() over a proxy iterates the real table without handing it out.
int readonlyPairs(lua_State* L) {
  pushReal(L);
  lua_pushcclosure(L, readonlyNext, 1);
  lua_pushvalue(L, 1);
  lua_pushnil(L);
  return 3;
}

}  // namespace

void makeReadonly(lua_State* L, const char* name) {
  int real = lua_gettop(L);
  lua_createtable(L, 0, 0);  // the proxy
  lua_createtable(L, 0, 8);  // its metatable
  lua_pushvalue(L, real);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, readonlyNewindex);
  lua_setfield(L, -2, "__newindex");
  lua_pushcfunction(L, readonlyLen);
  lua_setfield(L, -2, "__len");
  lua_pushcfunction(L, readonlyPairs);
  lua_setfield(L, -2, "__pairs");
  lua_pushstring(L, name);
  lua_setfield(L, -2, "__name");
  lua_pushliteral(L, "locked");
  lua_setfield(L, -2, "__metatable");
  lua_pushvalue(L, real);
  lua_rawsetp(L, -2, &kRealKey);
  lua_setmetatable(L, -2);
  lua_replace(L, real);
}

void pushJson(lua_State* L, const nlohmann::json& value, bool readonly, const char* name,
              int depth) {
  using Type = nlohmann::json::value_t;
  if (depth > kMaxDepth) {
    luaL_error(L, "value nested more than %d levels deep", kMaxDepth);
  }
  luaL_checkstack(L, 4, "value nested too deeply");
  switch (value.type()) {
    case Type::null:
    case Type::discarded:
      lua_pushnil(L);
      return;
    case Type::boolean:
      lua_pushboolean(L, value.get<bool>() ? 1 : 0);
      return;
    case Type::number_integer:
      lua_pushinteger(L, static_cast<lua_Integer>(value.get<int64_t>()));
      return;
    case Type::number_unsigned: {
      uint64_t u = value.get<uint64_t>();
      if (u <= static_cast<uint64_t>(std::numeric_limits<lua_Integer>::max())) {
        lua_pushinteger(L, static_cast<lua_Integer>(u));
      } else {
        lua_pushnumber(L, static_cast<lua_Number>(u));
      }
      return;
    }
    case Type::number_float:
      lua_pushnumber(L, value.get<double>());
      return;
    case Type::string: {
      const std::string& s = value.get_ref<const std::string&>();
      lua_pushlstring(L, s.data(), s.size());
      return;
    }
    case Type::binary:
      lua_pushnil(L);
      return;
    case Type::array: {
      lua_createtable(L, static_cast<int>(std::min<size_t>(value.size(), 1 << 20)), 0);
      lua_Integer i = 0;
      for (auto it = value.cbegin(); it != value.cend(); ++it) {
        pushJson(L, *it, readonly, name, depth + 1);
        lua_rawseti(L, -2, ++i);
      }
      break;
    }
    case Type::object: {
      lua_createtable(L, 0, static_cast<int>(std::min<size_t>(value.size(), 1 << 20)));
      for (auto it = value.cbegin(); it != value.cend(); ++it) {
        const std::string& key = it.key();
        lua_pushlstring(L, key.data(), key.size());
        pushJson(L, it.value(), readonly, name, depth + 1);
        lua_rawset(L, -3);
      }
      break;
    }
  }
  if (readonly) {
    makeReadonly(L, name);
  }
}

// One case per Lua type in one switch: the table case (array or object, with its limits) is
// most of it, and it shares the depth, the error and the stack discipline with the others.
bool toJson(lua_State* L, int index, nlohmann::json& out, std::string* error, int depth) {
  index = lua_absindex(L, index);
  switch (lua_type(L, index)) {
    case LUA_TNIL:
    case LUA_TNONE:
      out = nullptr;
      return true;
    case LUA_TBOOLEAN:
      out = lua_toboolean(L, index) != 0;
      return true;
    case LUA_TNUMBER:
      if (lua_isinteger(L, index)) {
        out = static_cast<int64_t>(lua_tointeger(L, index));
      } else {
        double d = lua_tonumber(L, index);
        if (!std::isfinite(d)) {
          *error = "found a NaN or infinite number";
          return false;
        }
        out = d;
      }
      return true;
    case LUA_TSTRING: {
      size_t len = 0;
      const char* s = lua_tolstring(L, index, &len);
      out = std::string(s, len);
      return true;
    }
    case LUA_TTABLE:
      break;
    default:
      *error = std::string("found a ") + lua_typename(L, lua_type(L, index));
      return false;
  }
  if (depth > kMaxDepth) {
    *error = "found a table nested more than " + std::to_string(kMaxDepth) +
             " levels deep (or containing itself)";
    return false;
  }
  if (!lua_checkstack(L, 4)) {
    *error = "out of Lua stack while converting a table";
    return false;
  }
  int base = lua_gettop(L);
  int table = index;
  if (lua_getmetatable(L, index)) {
    if (lua_rawgetp(L, -1, &kRealKey) == LUA_TTABLE) {
      table = lua_gettop(L);
    } else {
      lua_pop(L, 1);
    }
  }
  // An array when the keys are exactly 1..n; otherwise an object. {} is an object.
  size_t count = 0;
  bool sequence = true;
  lua_pushnil(L);
  while (lua_next(L, table) != 0) {
    ++count;
    if (!lua_isinteger(L, -2) || lua_tointeger(L, -2) < 1) {
      sequence = false;
    }
    lua_pop(L, 1);
  }
  bool ok = true;
  if (count > 0 && sequence && lua_rawlen(L, table) == count) {
    out = nlohmann::json::array();
    for (size_t i = 1; i <= count && ok; ++i) {
      lua_rawgeti(L, table, static_cast<lua_Integer>(i));
      nlohmann::json item;
      ok = toJson(L, -1, item, error, depth + 1);
      out.push_back(std::move(item));
      lua_pop(L, 1);
    }
  } else {
    out = nlohmann::json::object();
    lua_pushnil(L);
    while (ok && lua_next(L, table) != 0) {
      std::string key;
      if (lua_type(L, -2) == LUA_TSTRING) {
        size_t len = 0;
        const char* s = lua_tolstring(L, -2, &len);
        key.assign(s, len);
      } else if (lua_isinteger(L, -2)) {
        key = std::to_string(lua_tointeger(L, -2));
      } else if (lua_type(L, -2) == LUA_TNUMBER) {
        char buffer[64];
        std::snprintf(buffer, sizeof buffer, "%.14g", lua_tonumber(L, -2));
        key = buffer;
      } else {
        *error = std::string("found a table key of type ") + lua_typename(L, lua_type(L, -2));
        ok = false;
        break;
      }
      nlohmann::json item;
      ok = toJson(L, -1, item, error, depth + 1);
      if (ok) {
        out[key] = std::move(item);
      }
      lua_pop(L, 1);
    }
  }
  lua_settop(L, base);
  return ok;
}

}  // namespace waflow::core::lua::detail
