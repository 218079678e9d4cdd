// Bounded table functions: table.insert, table.remove, table.move and table.concat for the rule
// sandbox, with the results of stock Lua 5.4 and a cost that the rule's budget covers.
//
// Stock Lua loops in C over a range the caller chooses: table.move({}, 1, 1e12, 1), or a table
// whose __len says 1e12 passed to table.insert, held a thread for hours without allocating, out
// of reach of the instruction hook and of the memory limit. These are ltablib.c's functions with
// a StepBudget check every kStepsPerCheck elements.
//
// Thread-safety: the functions run on the lua_State's thread, like any Lua C function.
#pragma once

#include "lua/step_budget.h"

namespace waflow::core::lua {

// Replaces insert, remove, move and concat in the table at `table_index` by the bounded ones.
// `budget` must outlive the state (a static object).
void installBoundedTable(lua_State* L, int table_index, const StepBudget* budget);

}  // namespace waflow::core::lua
