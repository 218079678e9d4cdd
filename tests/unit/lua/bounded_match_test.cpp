// The sandbox's string.find/match/gmatch/gsub (lua/bounded_match.h): the results of stock Lua
// 5.4 for every kind of pattern, and a cost the rule's budget covers — a few `.-` on a
// 150-character text froze a thread for minutes with stock Lua.
#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "budget_support.h"
#include "lua/bounded_match.h"
#include "lua/sandbox.h"

namespace waflow::core::lua {
namespace {

using namespace std::chrono_literals;

// A state with the stock libraries and the bounded functions in the global table `B`.
class BoundedMatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    L_ = luaL_newstate();
    luaL_openlibs(L_);
    lua_newtable(L_);
    installBoundedMatch(L_, -1, budget());
    lua_setglobal(L_, "B");
  }
  void TearDown() override { lua_close(L_); }

  virtual const StepBudget* budget() {
    static const StepBudget kUnlimited{[](lua_State*, const char*) {}};
    return &kUnlimited;
  }

  // Runs `chunk`; its string result, or the error.
  std::string run(const char* chunk) {
    if (luaL_dostring(L_, chunk) != LUA_OK) {
      return std::string("error: ") + lua_tostring(L_, -1);
    }
    const char* out = lua_tostring(L_, -1);
    return out != nullptr ? out : "";
  }

  lua_State* L_ = nullptr;
};

// Each case runs through string.<fn> and B.<fn> under pcall; the status and every result (type
// and value) must be the same. Error messages are compared too, except the function name
// Lua puts in "bad argument ... to 'name'" (it finds the stock functions in package.loaded).
constexpr const char* kCompare = R"lua(
local function pack(...) return { n = select('#', ...), ... } end
local function show(t)
  local parts = {}
  for i = 1, t.n do
    local v = t[i]
    if type(v) == 'string' then v = v:gsub("to '[^']*'", "to '?'") end
    parts[#parts + 1] = type(t[i]) .. ':' .. tostring(v)
  end
  return table.concat(parts, ', ')
end
local function gmatchAll(gmatch, ...)
  local out, iterator = {}, gmatch(...)
  while true do
    local r = pack(iterator())
    if r[1] == nil then break end
    out[#out + 1] = '{' .. show(r) .. '}'
    if #out > 100 then break end
  end
  return table.concat(out, ' ')
end
local function call(lib, fn, args)
  if fn == 'gmatch' then
    return pack(pcall(gmatchAll, lib.gmatch, table.unpack(args, 1, args.n)))
  end
  return pack(pcall(lib[fn], table.unpack(args, 1, args.n)))
end
local function A(...) return pack(...) end

local upper = function(w) return w:upper() end
local keep = function() return nil end
local no = function() return false end
local vars = { name = 'Budi', age = 30 }
local long = ('a'):rep(250)
local cases = {
  -- find: plain and patterns, init, anchors, captures, position captures
  { 'find', A('hello world', 'o') }, { 'find', A('hello world', 'o', 6) },
  { 'find', A('hello world', 'l+') }, { 'find', A('hello world', '(h)(e)(l+)') },
  { 'find', A('hello world', '()ll()') }, { 'find', A('hello', 'l', -2) },
  { 'find', A('hello', '', 6) }, { 'find', A('hello', '', 10) }, { 'find', A('hello', 'xyz') },
  { 'find', A('a.b', '.', 1, true) }, { 'find', A('a+b', '+', 1, true) },
  { 'find', A('a+b', 'a+b') }, { 'find', A('hello', '^h') }, { 'find', A('hello', '^e') },
  { 'find', A('hello', 'o$') }, { 'find', A('hel$lo', 'l$l') }, { 'find', A('x\0y', '\0') },
  { 'find', A('abcabc', '(abc)%1') }, { 'find', A('f(a(b)c)d', '%b()') },
  { 'find', A('THE (quick) fox', '%f[%a]%a+', 5) }, { 'find', A('hello', '', -100) },
  { 'find', A(long, long .. 'b', 1, true) }, { 'find', A('aXb', '%u') },
  -- match: classes, sets, repetitions, lazy, optional
  { 'match', A('  key = value  ', '^%s*(%w+)%s*=%s*(%w+)%s*$') },
  { 'match', A('THE (quick) fox', '%((%a+)%)') }, { 'match', A('aaa', 'a-b') },
  { 'match', A('aaab', 'a-b') }, { 'match', A('aaa', 'a*') }, { 'match', A('', 'a*') },
  { 'match', A('abc', 'a?b?c?d?') }, { 'match', A('[]', '[%]]') }, { 'match', A('a-b', '[a%-]+') },
  { 'match', A('^x', '[%^x]+') }, { 'match', A('z', '[^a-y]') }, { 'match', A('a\0b', '%z') },
  { 'match', A('2025-08-17', '(%d+)-(%d+)-(%d+)') }, { 'match', A('hello', '()') },
  { 'match', A('hello', '.-(l+)(.*)') }, { 'match', A('x = 0x1F;', '%x+', 5) },
  { 'match', A('tab\there', '%c') }, { 'match', A('Rp 100.000', '[%d%.]+') },
  { 'match', A('caf\xc3\xa9', '[\128-\255]+') }, { 'match', A('word1 word2', '%f[%w]%w+$') },
  { 'match', A('a,b,,c', '([^,]*),([^,]*),([^,]*)') }, { 'match', A('end.', '%p$') },
  -- errors
  { 'find', A('hello', '%w+%') }, { 'find', A('hello', '[a') }, { 'find', A('hello', '(()') },
  { 'find', A('hello', '%1') }, { 'find', A('hello', '%f') }, { 'find', A('hello', '%b') },
  { 'find', A('hello', ('()'):rep(33)) }, { 'find', A(long, ('a?'):rep(250) .. long) },
  { 'find', A('hello', 'l)') }, { 'match', A('hello', {}) },
  -- gmatch: captures, empty matches, init
  { 'gmatch', A('hello world from Lua', '%a+') }, { 'gmatch', A('k1=v1, k2=v2', '(%w+)=(%w+)') },
  { 'gmatch', A('abc', '') }, { 'gmatch', A('abc', '()') }, { 'gmatch', A('hello world', '%a+', 3) },
  { 'gmatch', A('hello', '%a+', 10) }, { 'gmatch', A('one two', '^%a+') },
  { 'gmatch', A('a(b)c(d(e))', '%b()') }, { 'gmatch', A('THE (quick) fox', '%f[%a]%a+') },
  -- gsub: string, table and function replacements, %0 %1 %%, the n limit, anchors
  { 'gsub', A('hello world', 'o', '0') }, { 'gsub', A('hello world', '(o)', '[%1]') },
  { 'gsub', A('hello', '', '-') }, { 'gsub', A('hello world', '%w+', '%0 %0', 1) },
  { 'gsub', A('abc', '%w', '%%') }, { 'gsub', A('$name is $age', '%$(%w+)', vars) },
  { 'gsub', A('hello world', '%w+', upper) }, { 'gsub', A('hello world', '%w+', keep) },
  { 'gsub', A('hello world', '%w+', no) }, { 'gsub', A('abc', 'b', 5) },
  { 'gsub', A('hello', 'l', 'L', 0) }, { 'gsub', A('hello', 'l', 'L', -1) },
  { 'gsub', A('hello hello', '^hello', 'x') }, { 'gsub', A('abc', '()b', '%1') },
  { 'gsub', A('abc', 'b', '%2') }, { 'gsub', A('abc', 'b', '%x') },
  { 'gsub', A('abc', '%w', { a = {} }) }, { 'gsub', A('abc', '%w', true) },
  { 'gsub', A('a b c', '(%w) (%w)', '%2 %1') }, { 'gsub', A('x', 'x', '%0%0%0', 2.0) },
  { 'gsub', A('f(a(b)c)d', '%b()', '') }, { 'gsub', A('one two', '%f[%w]', '<') },
}
local mismatches = {}
for i, c in ipairs(cases) do
  local stock, bounded = show(call(string, c[1], c[2])), show(call(B, c[1], c[2]))
  if stock ~= bounded then
    mismatches[#mismatches + 1] = ('case %d (%s): stock {%s} bounded {%s}'):format(i, c[1], stock,
                                                                                bounded)
  end
end
return #mismatches == 0 and ('same results for ' .. #cases .. ' cases')
                         or table.concat(mismatches, '\n')
)lua";

TEST_F(BoundedMatchTest, ResultsAndErrorsAreThoseOfStockLua) {
  const std::string outcome = run(kCompare);
  EXPECT_EQ(outcome.rfind("same results for ", 0), 0u) << outcome;
}

// A budget that stops a match at its first check, and remembers which function asked.
class StoppingBudgetTest : public BoundedMatchTest {
 protected:
  const StepBudget* budget() override {
    static const StepBudget kStops{[](lua_State* L, const char* function) {
      lua_pushfstring(L, "stopped in %s", function);
      lua_error(L);
    }};
    return &kStops;
  }
};

// Stock Lua needs minutes for each of these: seven lazy repeats and no 'b' to end on.
TEST_F(StoppingBudgetTest, EveryFunctionAsksTheBudgetWhileMatching) {
  ASSERT_EQ(run("S = ('a'):rep(150) P = ('.-'):rep(7) .. 'b' return 'ok'"), "ok");
  EXPECT_EQ(run("return B.find(S, P)"), "error: stopped in string.find");
  EXPECT_EQ(run("return B.match(S, P)"), "error: stopped in string.match");
  EXPECT_EQ(run("for m in B.gmatch(S, P) do end return 'done'"), "error: stopped in string.gmatch");
  EXPECT_EQ(run("return (B.gsub(S, P, 'x'))"), "error: stopped in string.gsub");
  // A plain search and %b count their work too.
  EXPECT_EQ(run("return B.find(('a'):rep(1 << 20), ('a'):rep(4096) .. 'b', 1, true)"),
            "error: stopped in string.find");
  EXPECT_EQ(run("return B.find(('('):rep(1 << 16), '%b()')"), "error: stopped in string.find");
  // A replacement full of %0 adds nothing for an empty match, yet takes time.
  EXPECT_EQ(run("return (B.gsub(('a'):rep(1000), '', ('%0'):rep(10000)))"),
            "error: stopped in string.gsub");
  // Cheap matches never reach a check.
  EXPECT_EQ(run("return B.match('halo kak', '^(%a+)')"), "halo");
}

// The `.-` freeze, through the real sandbox: stopped by the rule's budget and reported as a
// budget overrun naming the function, also when the rule catches errors with pcall.
TEST(BoundedMatchSandboxTest, CostlyPatternsStopAtTheRulesBudget) {
  SandboxOptions options;
  options.limits.time_budget = 20ms;
  LuaSandbox sandbox(options);
  const std::string setup = "local s = ('kue bolu pandan '):rep(5) local p = ('.-'):rep(8) .. '@' ";
  const struct {
    const char* call;
    const char* function;
  } kCalls[] = {{"return s:find(p)", "string.find"},
                {"return s:match(p)", "string.match"},
                {"for m in s:gmatch(p) do end return 1", "string.gmatch"},
                {"return (s:gsub(p, ''))", "string.gsub"},
                {"for i = 1, 100 do pcall(string.find, s, p) end return 1", "string.find"}};
  for (const auto& c : kCalls) {
    SCOPED_TRACE(c.call);
    const CallResult result = evaluateWithinCap(sandbox, setup + c.call, {"flows/x.yaml", 4, 9, 0});
    expectStoppedIn(result, c.function);
    ASSERT_TRUE(result.error);
    EXPECT_EQ(result.error->file, "flows/x.yaml");
  }
  // The state recovers: the next rule runs normally.
  CompileResult fine = sandbox.compile("fine", "return ('halo kak'):match('%a+')", {});
  EXPECT_EQ(sandbox.evaluate(fine.snippet, RuleContext{}).value, "halo");
}

}  // namespace
}  // namespace waflow::core::lua
