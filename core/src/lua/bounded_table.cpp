// Lua 5.4.4's table.insert, table.remove, table.move and table.concat (ltablib.c), with a step
// counter that lets the rule sandbox stop a long loop (see bounded_table.h). The changes from
// the original are marked "waflow:".
//
// Written in the C subset of C++: Lua raises errors with longjmp, so no object here has a
// destructor.
//
// Copyright (C) 1994-2022 Lua.org, PUC-Rio.
//
// Permission is hereby granted, free of charge, to any person obtaining a copy of this
// software and associated documentation files (the "Software"), to deal in the Software
// without restriction, including without limitation the rights to use, copy, modify, merge,
// publish, distribute, sublicense, and/or sell copies of the Software, and to permit persons
// to whom the Software is furnished to do so, subject to the following conditions:
//
// The above copyright notice and this permission notice shall be included in all copies or
// substantial portions of the Software.
//
// THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED,
// INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR
// PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE
// FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR
// OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER
// DEALINGS IN THE SOFTWARE.
#include "lua/bounded_table.h"

namespace waflow::core::lua {
namespace {

// Operations that an object must define to mimic a table (some functions only need some).
constexpr int kTabR = 1;  // read
constexpr int kTabW = 2;  // write
constexpr int kTabL = 4;  // length
constexpr int kTabRW = kTabR | kTabW;

// waflow: counts one element and asks the budget every kStepsPerCheck of them.
struct Steps {
  lua_State* L;
  const char* function;
  unsigned long count;
};

inline void step(Steps* s) {
  if (++s->count % kStepsPerCheck == 0) {
    static_cast<const StepBudget*>(lua_touserdata(s->L, lua_upvalueindex(1)))
        ->check(s->L, s->function);
  }
}

int checkfield(lua_State* L, const char* key, int n) {
  lua_pushstring(L, key);
  return (lua_rawget(L, -n) != LUA_TNIL);
}

// Checks that 'arg' either is a table or can behave like one (that is, has a metatable with
// the required metamethods).
void checktab(lua_State* L, int arg, int what) {
  if (lua_type(L, arg) != LUA_TTABLE) {  // is it not a table?
    int n = 1;                           // number of elements to pop
    if (lua_getmetatable(L, arg) &&      // must have metatable
        (!(what & kTabR) || checkfield(L, "__index", ++n)) &&
        (!(what & kTabW) || checkfield(L, "__newindex", ++n)) &&
        (!(what & kTabL) || checkfield(L, "__len", ++n))) {
      lua_pop(L, n);  // pop metatable and tested metamethods
    } else {
      luaL_checktype(L, arg, LUA_TTABLE);  // force an error
    }
  }
}

lua_Integer aux_getn(lua_State* L, int n, int w) {
  checktab(L, n, w | kTabL);
  return luaL_len(L, n);
}

int tinsert(lua_State* L) {
  Steps steps{L, "table.insert", 0};
  lua_Integer pos;  // where to insert new element
  lua_Integer e = aux_getn(L, 1, kTabRW);
  e = static_cast<lua_Integer>(static_cast<lua_Unsigned>(e) + 1u);  // first empty element
  switch (lua_gettop(L)) {
    case 2: {   // called with only 2 arguments
      pos = e;  // insert new element at the end
      break;
    }
    case 3: {
      lua_Integer i;
      pos = luaL_checkinteger(L, 2);  // 2nd argument is the position
      // check whether 'pos' is in [1, e]
      luaL_argcheck(L, static_cast<lua_Unsigned>(pos) - 1u < static_cast<lua_Unsigned>(e), 2,
                    "position out of bounds");
      for (i = e; i > pos; i--) {  // move up elements
        step(&steps);              // waflow
        lua_geti(L, 1, i - 1);
        lua_seti(L, 1, i);  // t[i] = t[i - 1]
      }
      break;
    }
    default: {
      return luaL_error(L, "wrong number of arguments to 'insert'");
    }
  }
  lua_seti(L, 1, pos);  // t[pos] = v
  return 0;
}

int tremove(lua_State* L) {
  Steps steps{L, "table.remove", 0};
  lua_Integer size = aux_getn(L, 1, kTabRW);
  lua_Integer pos = luaL_optinteger(L, 2, size);
  if (pos != size) {  // validate 'pos' if given
    // check whether 'pos' is in [1, size + 1]
    luaL_argcheck(L, static_cast<lua_Unsigned>(pos) - 1u <= static_cast<lua_Unsigned>(size), 1,
                  "position out of bounds");
  }
  lua_geti(L, 1, pos);  // result = t[pos]
  for (; pos < size; pos++) {
    step(&steps);  // waflow
    lua_geti(L, 1, pos + 1);
    lua_seti(L, 1, pos);  // t[pos] = t[pos + 1]
  }
  lua_pushnil(L);
  lua_seti(L, 1, pos);  // remove entry t[pos]
  return 1;
}

// Copies elements (1[f], ..., 1[e]) into (tt[t], tt[t+1], ...). Whenever possible, copies in
// increasing order, which is better for rehashing. "possible" means destination after original
// range, or smaller than origin, or copying to another table.
int tmove(lua_State* L) {
  Steps steps{L, "table.move", 0};
  lua_Integer f = luaL_checkinteger(L, 2);
  lua_Integer e = luaL_checkinteger(L, 3);
  lua_Integer t = luaL_checkinteger(L, 4);
  int tt = !lua_isnoneornil(L, 5) ? 5 : 1;  // destination table
  checktab(L, 1, kTabR);
  checktab(L, tt, kTabW);
  if (e >= f) {  // otherwise, nothing to move
    lua_Integer n, i;
    luaL_argcheck(L, f > 0 || e < LUA_MAXINTEGER + f, 3, "too many elements to move");
    n = e - f + 1;  // number of elements to move
    luaL_argcheck(L, t <= LUA_MAXINTEGER - n + 1, 4, "destination wrap around");
    if (t > e || t <= f || (tt != 1 && !lua_compare(L, 1, tt, LUA_OPEQ))) {
      for (i = 0; i < n; i++) {
        step(&steps);  // waflow
        lua_geti(L, 1, f + i);
        lua_seti(L, tt, t + i);
      }
    } else {
      for (i = n - 1; i >= 0; i--) {
        step(&steps);  // waflow
        lua_geti(L, 1, f + i);
        lua_seti(L, tt, t + i);
      }
    }
  }
  lua_pushvalue(L, tt);  // return destination table
  return 1;
}

void addfield(lua_State* L, luaL_Buffer* b, lua_Integer i) {
  lua_geti(L, 1, i);
  if (luai_unlikely(!lua_isstring(L, -1))) {
    luaL_error(L, "invalid value (%s) at index %I in table for 'concat'", luaL_typename(L, -1),
               static_cast<LUAI_UACINT>(i));
  }
  luaL_addvalue(b);
}

int tconcat(lua_State* L) {
  Steps steps{L, "table.concat", 0};
  luaL_Buffer b;
  lua_Integer last = aux_getn(L, 1, kTabR);
  size_t lsep;
  const char* sep = luaL_optlstring(L, 2, "", &lsep);
  lua_Integer i = luaL_optinteger(L, 3, 1);
  last = luaL_optinteger(L, 4, last);
  luaL_buffinit(L, &b);
  for (; i < last; i++) {
    step(&steps);  // waflow
    addfield(L, &b, i);
    luaL_addlstring(&b, sep, lsep);
  }
  if (i == last) {  // add last value (if interval was not empty)
    addfield(L, &b, i);
  }
  luaL_pushresult(&b);
  return 1;
}

}  // namespace

void installBoundedTable(lua_State* L, int table_index, const StepBudget* budget) {
  static const luaL_Reg kFunctions[] = {{"insert", tinsert},
                                        {"remove", tremove},
                                        {"move", tmove},
                                        {"concat", tconcat},
                                        {nullptr, nullptr}};
  setBudgetedFunctions(L, table_index, kFunctions, budget);
}

}  // namespace waflow::core::lua
