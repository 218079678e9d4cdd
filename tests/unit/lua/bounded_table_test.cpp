// The sandbox's table.insert/remove/move/concat (lua/bounded_table.h): stock Lua 5.4's results,
// and loops over ranges a rule chooses stopped by the rule's budget.
#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "budget_support.h"
#include "lua/bounded_table.h"
#include "lua/sandbox.h"

namespace waflow::core::lua {
namespace {

using namespace std::chrono_literals;

TEST(BoundedTableTest, ResultsAndErrorsAreThoseOfStockLua) {
  lua_State* L = luaL_newstate();
  luaL_openlibs(L);
  lua_newtable(L);
  static const StepBudget kUnlimited{[](lua_State*, const char*) {}};
  installBoundedTable(L, -1, &kUnlimited);
  lua_setglobal(L, "B");
  // Each case builds its table afresh, runs through table.<fn> and B.<fn>, and shows the
  // results and the table afterwards.
  const char* compare = R"lua(
local function list(t)
  local out = {}
  for i = 1, 8 do out[#out + 1] = tostring(rawget(t, i)) end
  return table.concat(out, ',')
end
local function run(lib, c)
  local t = { 'a', 'b', 'c', 'd' }
  local r = { pcall(lib[c[1]], t, table.unpack(c, 2)) }
  if r[2] == t then r[2] = 'the table' end
  if not r[1] then r[2] = tostring(r[2]):gsub("to '[^']*'", "to '?'") end
  return tostring(r[1]) .. ' ' .. tostring(r[2]) .. ' ' .. tostring(r[3]) .. ' | ' .. list(t)
end
local cases = {
  { 'insert', 'x' }, { 'insert', 1, 'x' }, { 'insert', 5, 'x' }, { 'insert', 7, 'x' },
  { 'insert', 1, 2, 3 }, { 'remove' }, { 'remove', 1 }, { 'remove', 5 }, { 'remove', 7 },
  { 'move', 1, 3, 2 }, { 'move', 2, 4, 1 }, { 'move', 1, 0, 5 }, { 'move', 3, 4, 6 },
  { 'concat' }, { 'concat', ', ' }, { 'concat', '-', 2, 3 }, { 'concat', '', 3, 2 },
  { 'concat', '', 1, 6 }, { 'move', -1, math.maxinteger, 1 },
}
local bad = {}
for i, c in ipairs(cases) do
  local stock, bounded = run(table, c), run(B, c)
  if stock ~= bounded then bad[#bad + 1] = i .. ': ' .. stock .. ' / ' .. bounded end
end
return #bad == 0 and 'same' or table.concat(bad, '\n')
)lua";
  ASSERT_EQ(luaL_dostring(L, compare), LUA_OK) << lua_tostring(L, -1);
  EXPECT_STREQ(lua_tostring(L, -1), "same");
  lua_close(L);
}

// Each of these looped in C for hours with stock Lua, allocating nothing.
TEST(BoundedTableTest, LongLoopsStopAtTheRulesBudget) {
  SandboxOptions options;
  options.limits.time_budget = 20ms;
  LuaSandbox sandbox(options);
  const struct {
    const char* code;
    const char* function;
  } kCalls[] = {
      {"table.move({}, 1, 1e12, 1) return 1", "table.move"},
      {"local t = setmetatable({}, { __len = function() return 1e12 end }) "
       "table.insert(t, 1, 'x') return 1",
       "table.insert"},
      {"local t = setmetatable({}, { __len = function() return 1e12 end }) "
       "table.remove(t, 1) return 1",
       "table.remove"},
      // Only C functions run here (rawlen, table.concat), so no Lua instruction is counted.
      {"local t = setmetatable({}, { __index = table.concat, __len = rawlen }) "
       "return #table.concat(t, '', 1, 1e12)",
       "table.concat"},
  };
  for (const auto& c : kCalls) {
    SCOPED_TRACE(c.code);
    expectStoppedIn(evaluateWithinCap(sandbox, c.code), c.function);
  }
}

TEST(BoundedTableTest, FormatWidthsAndRepeatsStayWithinTheLimits) {
  LuaSandbox sandbox;
  auto failure = [&](const char* code) {
    const CallResult result = evaluateWithinCap(sandbox, code);
    return result.ok() ? std::string("ok") : result.error->message;
  };
  // Lua 5.4 refuses widths over two digits, so no format can ask for a huge buffer.
  EXPECT_NE(failure("return string.format('%99999d', 1)").find("invalid conversion"),
            std::string::npos);
  EXPECT_EQ(failure("return #string.format('%99d', 1) == 99"), "ok");
  // Repeats and unpacking hit the memory limit or Lua's own checks.
  EXPECT_NE(failure("return ('x'):rep(1e9, ',')").find("memory limit"), std::string::npos);
  EXPECT_NE(failure("return table.unpack({}, 1, 1e8)").find("too many results"), std::string::npos);
  EXPECT_EQ(failure("return ('') :rep(1e15) == ''"), "ok");
}

}  // namespace
}  // namespace waflow::core::lua
