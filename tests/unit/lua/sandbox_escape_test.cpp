// The escape-attempt suite: each way out of the sandbox fails with its own message, and the
// sandbox keeps working afterwards.
#include <gtest/gtest.h>

#include "lua/sandbox.h"

namespace waflow::core::lua {
namespace {

class SandboxEscapeTest : public ::testing::Test {
 protected:
  // 20 ms stops endless loops quickly; tests of other limits pass a budget that a busy
  // machine cannot exhaust first.
  explicit SandboxEscapeTest(std::chrono::milliseconds time_budget = std::chrono::milliseconds(20))
      : sandbox_(makeOptions(time_budget)) {}

  static SandboxOptions makeOptions(std::chrono::milliseconds time_budget) {
    SandboxOptions options;
    options.limits.time_budget = time_budget;
    return options;
  }

  // Compiles and evaluates `source` as rule `name` at flows/escape.yaml:<line>:5.
  CallResult run(const std::string& source, int line = 3) {
    CompileResult compiled = sandbox_.compile("attempt", source, {"flows/escape.yaml", line, 5, 4});
    EXPECT_TRUE(compiled.ok()) << compiled.error->text();
    return sandbox_.evaluate(compiled.snippet, RuleContext{});
  }

  // The failure's text, after checking that the call failed with `kind`.
  std::string failure(const std::string& source, ErrorKind kind) {
    CallResult result = run(source);
    EXPECT_FALSE(result.ok()) << "unexpectedly returned " << result.value.dump();
    if (result.ok()) {
      return "";
    }
    EXPECT_EQ(errorKindName(result.error->kind), errorKindName(kind)) << result.error->text();
    return result.error->text();
  }

  void expectUsable() {
    CallResult result = run("1 + 1");
    ASSERT_TRUE(result.ok()) << result.error->text();
    EXPECT_EQ(result.value, 2);
  }

  LuaSandbox sandbox_;
};

TEST_F(SandboxEscapeTest, OsAndIoAreAbsent) {
  EXPECT_EQ(failure("os.execute('id')", ErrorKind::kRuntime),
            "flows/escape.yaml:3: rule 'attempt' failed: attempt to index a nil value (global "
            "'os')");
  EXPECT_EQ(failure("io.open('/etc/passwd')", ErrorKind::kRuntime),
            "flows/escape.yaml:3: rule 'attempt' failed: attempt to index a nil value (global "
            "'io')");
  EXPECT_NE(failure("require('ffi')", ErrorKind::kRuntime)
                .find("attempt to call a nil value (global 'require')"),
            std::string::npos);
  EXPECT_NE(failure("dofile('/etc/passwd')", ErrorKind::kRuntime)
                .find("attempt to call a nil value (global 'dofile')"),
            std::string::npos);
  EXPECT_NE(failure("loadfile('/etc/passwd')", ErrorKind::kRuntime)
                .find("attempt to call a nil value (global 'loadfile')"),
            std::string::npos);
  EXPECT_NE(failure("debug.getinfo(1)", ErrorKind::kRuntime)
                .find("attempt to index a nil value (global 'debug')"),
            std::string::npos);
  EXPECT_NE(failure("package.loadlib('x', 'y')", ErrorKind::kRuntime)
                .find("attempt to index a nil value (global 'package')"),
            std::string::npos);
  EXPECT_NE(failure("collectgarbage('count')", ErrorKind::kRuntime)
                .find("attempt to call a nil value (global 'collectgarbage')"),
            std::string::npos);
  EXPECT_NE(failure("coroutine.create(print)", ErrorKind::kRuntime)
                .find("attempt to index a nil value (global 'coroutine')"),
            std::string::npos);
  expectUsable();
}

TEST_F(SandboxEscapeTest, BytecodeCannotBeLoaded) {
  // string.dump is gone, so no bytecode can be made inside the sandbox...
  EXPECT_NE(failure("load(string.dump(function() return 1 end))", ErrorKind::kRuntime)
                .find("attempt to call a nil value (field 'dump')"),
            std::string::npos);
  // ...and bytecode from outside is refused even when binary mode is asked for.
  CallResult result =
      run("local f, err = load('\\27LuaT\\0\\25\\147\\r\\n\\26\\n', 'x', 'b')\n"
          "return {loaded = f ~= nil, err = err}");
  ASSERT_TRUE(result.ok()) << result.error->text();
  EXPECT_EQ(result.value["loaded"], false);
  EXPECT_EQ(result.value["err"], "attempt to load a binary chunk (mode is 't')");
  EXPECT_NE(failure("assert(load('\\27Lua'))", ErrorKind::kRuntime)
                .find("attempt to load a binary chunk (mode is 't')"),
            std::string::npos);
  expectUsable();
}

TEST_F(SandboxEscapeTest, InfiniteLoopIsStoppedWithRuleAndLocation) {
  CallResult result = run("local n = 0\nwhile true do\n  n = n + 1\nend", 7);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error->kind, ErrorKind::kTimeout);
  EXPECT_EQ(result.error->rule, "attempt");
  EXPECT_EQ(result.error->file, "flows/escape.yaml");
  EXPECT_GE(result.error->line, 8);  // inside the loop: snippet lines 2..4
  EXPECT_LE(result.error->line, 10);
  EXPECT_EQ(result.error->message, "exceeded its 20 ms time budget and was stopped");
  EXPECT_NE(result.error->text().find("flows/escape.yaml:"), std::string::npos);
  EXPECT_NE(result.error->text().find("rule 'attempt' exceeded its 20 ms time budget"),
            std::string::npos);
  expectUsable();
}

TEST_F(SandboxEscapeTest, PcallCannotSwallowTheKill) {
  EXPECT_NE(
      failure("while true do pcall(function() while true do end end) end", ErrorKind::kTimeout)
          .find("exceeded its 20 ms time budget and was stopped"),
      std::string::npos);
  expectUsable();
  EXPECT_NE(failure("while true do\n"
                    "  xpcall(function() while true do end end, function(e) return e end)\n"
                    "end",
                    ErrorKind::kTimeout)
                .find("exceeded its 20 ms time budget and was stopped"),
            std::string::npos);
  expectUsable();
  // A handler that itself loops, and an error object that is not a string, change nothing.
  EXPECT_NE(failure("while true do\n"
                    "  xpcall(error, function() while true do end end, {})\n"
                    "end",
                    ErrorKind::kTimeout)
                .find("exceeded its 20 ms time budget"),
            std::string::npos);
  expectUsable();
}

TEST_F(SandboxEscapeTest, MetamethodsRunDuringErrorsCannotEscape) {
  // An error object whose __tostring never returns: the sandbox never calls it.
  CallResult tostring =
      run("error(setmetatable({}, {__tostring = function() while true do end end}))");
  ASSERT_FALSE(tostring.ok());
  EXPECT_EQ(tostring.error->message, "(error object is a table value)");
  // A to-be-closed variable that loops while the kill unwinds the stack.
  EXPECT_NE(failure("local guard <close> = setmetatable({}, {__close = function()\n"
                    "  while true do end\nend})\nwhile true do end",
                    ErrorKind::kTimeout)
                .find("exceeded its 20 ms time budget"),
            std::string::npos);
  expectUsable();
}

TEST_F(SandboxEscapeTest, InstructionLimitStopsDeterministically) {
  SandboxOptions options;
  options.limits.instruction_limit = 100000;
  options.limits.time_budget = std::chrono::milliseconds(60000);
  LuaSandbox sandbox(options);
  CompileResult spin = sandbox.compile("spin", "while true do end", {"flows/x.yaml", 2, 9, 0});
  ASSERT_TRUE(spin.ok());
  CallResult result = sandbox.evaluate(spin.snippet, {});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error->text(),
            "flows/x.yaml:2: rule 'spin' exceeded its limit of 100000 instructions and was "
            "stopped");
  // The budget is per call: a call well under it succeeds afterwards.
  CompileResult sum =
      sandbox.compile("sum", "local s = 0 for i = 1, 1000 do s = s + i end return s", {});
  ASSERT_TRUE(sum.ok());
  CallResult ok = sandbox.evaluate(sum.snippet, {});
  ASSERT_TRUE(ok.ok()) << ok.error->text();
  EXPECT_EQ(ok.value, 500500);
}

// Memory bombs fill 8 MiB in a few milliseconds, but a loaded CI machine may pause the thread
// for longer than the 20 ms budget; here only the memory limit may stop them.
class SandboxMemoryBombTest : public SandboxEscapeTest {
 protected:
  SandboxMemoryBombTest() : SandboxEscapeTest(std::chrono::seconds(60)) {}
};

TEST_F(SandboxMemoryBombTest, MemoryBombHitsTheLimitAndTheStateRecovers) {
  size_t before = sandbox_.memoryUsed();
  EXPECT_EQ(failure("local t = {} for i = 1, 1e9 do t[i] = i end", ErrorKind::kMemory),
            "flows/escape.yaml:3: rule 'attempt' exceeded the memory limit for rules (8 MiB) and "
            "was stopped");
  expectUsable();
  EXPECT_LT(sandbox_.memoryUsed(), before + 1024 * 1024);
  EXPECT_EQ(failure("local s = 'x' while true do s = s .. s end", ErrorKind::kMemory),
            "flows/escape.yaml:3: rule 'attempt' exceeded the memory limit for rules (8 MiB) and "
            "was stopped");
  expectUsable();
}

TEST_F(SandboxMemoryBombTest, StringRepBombHitsTheLimit) {
  EXPECT_EQ(failure("string.rep('x', 1e9)", ErrorKind::kMemory),
            "flows/escape.yaml:3: rule 'attempt' exceeded the memory limit for rules (8 MiB) and "
            "was stopped");
  expectUsable();
  EXPECT_EQ(failure("('abc'):rep(1e8, ',')", ErrorKind::kMemory),
            "flows/escape.yaml:3: rule 'attempt' exceeded the memory limit for rules (8 MiB) and "
            "was stopped");
  expectUsable();
  // An empty string repeated forever would loop inside C, out of the hook's reach.
  CallResult empty = run("#string.rep('', 1e15)");
  ASSERT_TRUE(empty.ok()) << empty.error->text();
  EXPECT_EQ(empty.value, 0);
}

TEST_F(SandboxEscapeTest, GlobalsDoNotLeakBetweenSnippetsOrCalls) {
  CompileResult writer = sandbox_.compile("writer", "secret = 'from writer'; return secret", {});
  CompileResult reader = sandbox_.compile("reader", "return secret", {});
  CompileResult counter = sandbox_.compile("counter", "count = (count or 0) + 1\nreturn count", {});
  ASSERT_TRUE(writer.ok() && reader.ok() && counter.ok());
  EXPECT_EQ(sandbox_.evaluate(writer.snippet, {}).value, "from writer");
  EXPECT_TRUE(sandbox_.evaluate(reader.snippet, {}).value.is_null());
  EXPECT_EQ(sandbox_.evaluate(counter.snippet, {}).value, 1);
  EXPECT_EQ(sandbox_.evaluate(counter.snippet, {}).value, 1);

  // Scripts too: the top level runs afresh for every call.
  CompileResult script = sandbox_.loadScript(
      "bump",
      "count = 0\nlocal seen = {}\nfunction bump() count = count + 1; seen[#seen + 1] = 1; "
      "return count * 10 + #seen end",
      {"scripts/bump.lua", 1, 1, 0});
  ASSERT_TRUE(script.ok()) << script.error->text();
  EXPECT_EQ(sandbox_.call(script.snippet, "bump", nullptr, {}).value, 11);
  EXPECT_EQ(sandbox_.call(script.snippet, "bump", nullptr, {}).value, 11);

  // _G is the snippet's own environment, and its metatable is locked.
  EXPECT_NE(failure("setmetatable(_G, nil)", ErrorKind::kRuntime)
                .find("cannot change a protected metatable"),
            std::string::npos);
  EXPECT_NE(failure("setmetatable(_ENV, {__index = function() return 1 end})", ErrorKind::kRuntime)
                .find("cannot change a protected metatable"),
            std::string::npos);
  expectUsable();
}

TEST_F(SandboxEscapeTest, SharedLibrariesAreReadOnly) {
  EXPECT_NE(failure("string.x = 1", ErrorKind::kRuntime)
                .find("attempt to modify read-only table 'string'"),
            std::string::npos);
  EXPECT_NE(failure("table.insert = nil", ErrorKind::kRuntime)
                .find("attempt to modify read-only table 'table'"),
            std::string::npos);
  EXPECT_NE(failure("rawset(math, 'pi', 3)", ErrorKind::kRuntime)
                .find("attempt to modify read-only table 'math'"),
            std::string::npos);
  EXPECT_NE(failure("setmetatable(string, nil)", ErrorKind::kRuntime)
                .find("cannot change a protected metatable"),
            std::string::npos);
  EXPECT_NE(
      failure("setmetatable({}, {__gc = function() while true do end end})", ErrorKind::kRuntime)
          .find("__gc metamethods are not allowed in rules"),
      std::string::npos);
  CallResult pi = run("math.pi > 3.14 and math.randomseed == nil and rawget(string, 'x') == nil");
  ASSERT_TRUE(pi.ok()) << pi.error->text();
  EXPECT_EQ(pi.value, true);
}

TEST_F(SandboxEscapeTest, StringMetatableIsProtected) {
  EXPECT_NE(failure("getmetatable('').__index = {upper = function() return 'pwned' end}",
                    ErrorKind::kRuntime)
                .find("attempt to modify read-only table 'string metatable'"),
            std::string::npos);
  EXPECT_NE(
      failure("getmetatable('').__index.upper = function() return 'pwned' end", ErrorKind::kRuntime)
          .find("attempt to modify read-only table 'string'"),
      std::string::npos);
  EXPECT_NE(failure("setmetatable(getmetatable(''), nil)", ErrorKind::kRuntime)
                .find("cannot change a protected metatable"),
            std::string::npos);
  // Another snippet still sees the real string methods.
  CallResult upper = run("('abc'):upper() .. string.upper('d')");
  ASSERT_TRUE(upper.ok()) << upper.error->text();
  EXPECT_EQ(upper.value, "ABCD");
}

}  // namespace
}  // namespace waflow::core::lua
