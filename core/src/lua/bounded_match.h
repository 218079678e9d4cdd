// Bounded pattern matching: string.find, string.match, string.gmatch and string.gsub for the
// rule sandbox, with the results of stock Lua 5.4 and a cost that the rule's budget covers.
//
// Lua's own matcher backtracks inside C, where the sandbox's instruction hook never runs: a
// rule with a few `.-` on a 150-character message held a thread for minutes. This is Lua
// 5.4's matcher (lstrlib.c) with a step counter: every few thousand steps (a step is one
// attempt of match() or one character a repetition, %b or a plain search looks at) it calls
// StepBudget::check, which raises a Lua error once the running rule is out of time.
//
// Thread-safety: the functions run on the lua_State's thread, like any Lua C function.
#pragma once

#include "lua/step_budget.h"

namespace waflow::core::lua {

// Replaces find, match, gmatch and gsub in the table at `table_index` by the bounded ones.
// `budget` must outlive the state (a static object).
void installBoundedMatch(lua_State* L, int table_index, const StepBudget* budget);

}  // namespace waflow::core::lua
