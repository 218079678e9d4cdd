// StepBudget: how C code that loops on a rule's behalf — pattern matching (bounded_match.h),
// table functions (bounded_table.h) — lets the sandbox stop it. The VM's instruction hook never
// runs inside a C function, so such code counts its own steps and asks the budget every
// kStepsPerCheck of them.
//
// Thread-safety: used on the lua_State's thread only.
#pragma once

#include <lua.hpp>

namespace waflow::core::lua {

struct StepBudget {
  // Called every kStepsPerCheck steps with the function's name ("string.find", ...). Returns
  // when the rule may go on; otherwise raises a Lua error and does not return.
  void (*check)(lua_State* L, const char* function);
};

inline constexpr unsigned kStepsPerCheck = 4096;

// Sets each of `functions` (up to a {nullptr, nullptr} entry) in the table at `table_index`, as
// a closure whose upvalue 1 is `budget` (which must outlive the state: a static object).
inline void setBudgetedFunctions(lua_State* L, int table_index, const luaL_Reg* functions,
                                 const StepBudget* budget) {
  table_index = lua_absindex(L, table_index);
  for (const luaL_Reg* f = functions; f->name != nullptr; ++f) {
    // Lua stores light userdata as void*; the budget is only ever read through it.
    lua_pushlightuserdata(L, const_cast<StepBudget*>(budget));
    lua_pushcclosure(L, f->func, 1);
    lua_setfield(L, table_index, f->name);
  }
}

}  // namespace waflow::core::lua
