// LuaSandbox: compile diagnostics mapped into their files, values in and out, the rule API
// tables, contact changes as results, log().
#include <chrono>

#include <gtest/gtest.h>

#include "lua/sandbox.h"
#include "regressions.h"

namespace waflow::core::lua {
namespace {

using nlohmann::json;

TEST(LuaSandboxCompileTest, ExpressionSyntaxErrorPointsIntoTheYamlFile) {
  LuaSandbox sandbox;
  // `if: "contact.name =="` with the snippet starting at line 14, column 11.
  CompileResult r = sandbox.compile("greet", "contact.name ==", {"flows/shop.yaml", 14, 11, 0});
  ASSERT_FALSE(r.ok());
  EXPECT_FALSE(r.snippet.valid());
  EXPECT_EQ(r.error->kind, ErrorKind::kSyntax);
  EXPECT_EQ(r.error->line, 14);
  EXPECT_EQ(r.error->column, 26);  // just past the text: 11 + 15
  EXPECT_EQ(r.error->text(),
            "flows/shop.yaml:14:26: rule 'greet' has a Lua syntax error: unexpected symbol near "
            "<eof>");
  diag::Diagnostic d = r.error->toDiagnostic();
  EXPECT_EQ(d.file, "flows/shop.yaml");
  EXPECT_EQ(d.line, 14);
  EXPECT_EQ(d.column, 26);
  EXPECT_EQ(d.kind, "lua-syntax");
}

TEST(LuaSandboxCompileTest, BlockScalarErrorUsesTheIndentOfContinuationLines) {
  LuaSandbox sandbox;
  // rule: |
  //       if contact.tags.vip then      <- line 20, column 7
  //         return 1
  //       else
  //         return 2 +
  //       end                           <- line 24: 'end' at column 7
  CompileResult r =
      sandbox.compile("tier", "if contact.tags.vip then\n  return 1\nelse\n  return 2 +\nend",
                      {"flows/lead.yaml", 20, 7, 6});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error->text(),
            "flows/lead.yaml:24:7: rule 'tier' has a Lua syntax error: unexpected symbol near "
            "'end'");
}

TEST(LuaSandboxCompileTest, OpeningLineInMessageIsMappedToo) {
  LuaSandbox sandbox;
  CompileResult r = sandbox.loadScript("lead", "-- lead scoring\nfunction score(x)\n  return 1\n",
                                       {"flows/embedded.yaml", 10, 3, 2});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error->kind, ErrorKind::kSyntax);
  EXPECT_EQ(r.error->line, 13);
  EXPECT_EQ(r.error->message, "'end' expected (to close 'function' at line 11) near <eof>");
}

TEST(LuaSandboxCompileTest, StatementsAreAcceptedWhenNotAnExpression) {
  LuaSandbox sandbox;
  CompileResult r = sandbox.compile(
      "block", "local n = #message.text\nif n > 3 then return 'long' end\nreturn 'short'", {});
  ASSERT_TRUE(r.ok()) << r.error->text();
  RuleContext ctx;
  ctx.message = {{"text", "halo kak"}};
  EXPECT_EQ(sandbox.evaluate(r.snippet, ctx).value, "long");
}

TEST(LuaSandboxCompileTest, ScriptTopLevelErrorsSurfaceAtLoad) {
  LuaSandbox sandbox;
  CompileResult r = sandbox.loadScript("broken", "local x = nil\nlocal y = x.field\n",
                                       {"scripts/broken.lua", 1, 1, 0});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error->text(),
            "scripts/broken.lua:2: rule 'broken' failed: attempt to index a nil value (local "
            "'x')");
}

TEST(LuaSandboxCallTest, RuntimeErrorsNameTheRuleAndLine) {
  LuaSandbox sandbox;
  CompileResult script =
      sandbox.loadScript("orders", "function total(order)\n  return order.items.count * 2\nend\n",
                         {"scripts/orders.lua", 1, 1, 0});
  ASSERT_TRUE(script.ok()) << script.error->text();
  EXPECT_EQ(sandbox.functions(script.snippet), std::vector<std::string>{"total"});
  CallResult r = sandbox.call(script.snippet, "total", json::array({json::object()}), {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error->text(),
            "scripts/orders.lua:2: rule 'orders' failed: attempt to index a nil value (field "
            "'items')");

  // Errors raised inside library functions get the caller's line.
  CompileResult bad =
      sandbox.compile("bad", "local x = 1\nreturn string.rep()", {"f.yaml", 5, 3, 2});
  ASSERT_TRUE(bad.ok());
  CallResult e = sandbox.evaluate(bad.snippet, {});
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error->file, "f.yaml");
  EXPECT_EQ(e.error->line, 6);
  EXPECT_NE(e.error->message.find("bad argument #1 to 'rep'"), std::string::npos);

  CallResult missing = sandbox.call(script.snippet, "nope", nullptr, {});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error->message, "script 'orders' has no function 'nope'");

  CallResult thrown = sandbox.evaluate(
      sandbox.compile("thrown", "error({code = 1})", {"g.yaml", 2, 1, 0}).snippet, {});
  ASSERT_FALSE(thrown.ok());
  EXPECT_EQ(thrown.error->message, "(error object is a table value)");
  EXPECT_EQ(thrown.error->line, 2);
}

// Found by rule_fuzz: error() with an empty text, or one starting with a NUL byte, gave an error
// with no message at all.
TEST(LuaSandboxCallTest, AnErrorWithoutATextStillSaysWhatHappened) {
  LuaSandbox sandbox;
  for (std::string source : {std::string("error('')"), std::string("error(nil)"),
                             std::string("error('\\0\\1 1')"), std::string("error('', 0)")}) {
    CompileResult rule = sandbox.compile("quiet", source, {"h.yaml", 4, 9, 6});
    ASSERT_TRUE(rule.ok()) << source;
    CallResult r = sandbox.evaluate(rule.snippet, {});
    ASSERT_FALSE(r.ok()) << source;
    EXPECT_FALSE(r.error->message.empty()) << source;
    EXPECT_EQ(r.error->line, 4) << source;
  }
  CallResult empty =
      sandbox.evaluate(sandbox.compile("quiet", "error('')", {"h.yaml", 4, 9, 6}).snippet, {});
  EXPECT_EQ(empty.error->message,
            "raised an error without a message; give error() a text that says what went wrong");
}

// Every rule the fuzzer once broke a promise with still fails, if it fails, with a message.
TEST(LuaSandboxCallTest, FuzzerFindingsStayFixed) {
  const auto findings = test::fuzzRegressions(WAFLOW_SOURCE_DIR, "lua");
  LuaSandbox sandbox;
  for (const test::FuzzRegression& finding : findings) {
    CompileResult rule = sandbox.compile("fuzz", finding.bytes, {"flows/fuzz.yaml", 3, 9, 6});
    std::optional<RuleError> error = rule.error;
    if (rule.ok()) {
      error = sandbox.evaluate(rule.snippet, {}).error;
      sandbox.release(rule.snippet);
    }
    if (error) {
      EXPECT_FALSE(error->message.empty()) << finding.path;
    }
  }
  EXPECT_GE(findings.size(), 1u);
}

TEST(LuaSandboxCallTest, ValuesRoundTripThroughJson) {
  LuaSandbox sandbox;
  CompileResult echo = sandbox.loadScript("echo", "function echo(...) return ... end", {});
  ASSERT_TRUE(echo.ok());
  const json values[] = {
      nullptr,
      true,
      false,
      42,
      -7,
      9007199254740993LL,
      2.5,
      "halo",
      "Rp 100.000 — ✓ 🎉",
      json::array({1, "dua", 3.5, false}),
      json::object(),
      json{{"name", "Budi"}, {"tags", {"vip", "hot"}}, {"order", {{"qty", 3}, {"paid", true}}}},
      json{{"nested", {{"deeper", {{"list", {json{{"a", 1}}, json{{"b", 2}}}}}}}}},
  };
  for (const json& value : values) {
    CallResult r = sandbox.call(echo.snippet, "echo", json::array({value}), {});
    ASSERT_TRUE(r.ok()) << value.dump() << ": " << r.error->text();
    EXPECT_EQ(r.value, value) << value.dump();
  }
  // Lua cannot tell an empty list from an empty object: both come back as {}.
  EXPECT_EQ(sandbox.call(echo.snippet, "echo", json::array({json::array()}), {}).value,
            json::object());
  // A big unsigned number becomes a float; integer-like keys of a sparse table become strings.
  CompileResult sparse = sandbox.compile("sparse", "{[1] = 'a', [3] = 'c', x = 1.5}", {});
  EXPECT_EQ(sandbox.evaluate(sparse.snippet, {}).value, (json{{"1", "a"}, {"3", "c"}, {"x", 1.5}}));

  CompileResult fn = sandbox.compile("fn", "{callback = function() end}", {"h.yaml", 1, 1, 0});
  CallResult r = sandbox.evaluate(fn.snippet, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error->message, "returned a value JSON cannot hold: found a function");
  CompileResult cycle = sandbox.compile("cycle", "local t = {} t.self = t return t", {});
  CallResult c = sandbox.evaluate(cycle.snippet, {});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error->message.find("nested more than 100 levels deep (or containing itself)"),
            std::string::npos);
}

TEST(LuaSandboxCallTest, ContextTablesAreReadOnly) {
  LuaSandbox sandbox;
  RuleContext ctx;
  ctx.message = {{"id", "wamid.1"},
                 {"from", "6281234567890"},
                 {"type", "text"},
                 {"text", "berapa harganya?"},
                 {"media", {{"mime_type", "image/jpeg"}}}};
  ctx.contact = {{"name", "Budi"},
                 {"attributes", {{"city", "Bandung"}, {"orders", 3}}},
                 {"tags", {"vip", "reseller"}}};
  ctx.conversation = {{"in_handoff", false}, {"flow", "katalog"}};
  ctx.steps = {{"ask_name", {{"output", "Budi"}}}};
  ctx.globals = {{"vars", {{"promo", "HEMAT10"}}}};
  auto eval = [&](const std::string& source) {
    CompileResult c = sandbox.compile("ctx", source, {"flows/ctx.yaml", 1, 1, 0});
    EXPECT_TRUE(c.ok()) << c.error->text();
    return sandbox.evaluate(c.snippet, ctx);
  };
  EXPECT_EQ(eval("message.text").value, "berapa harganya?");
  EXPECT_EQ(eval("message.media.mime_type").value, "image/jpeg");
  EXPECT_EQ(eval("contact.tags.vip and not contact.tags.cold").value, true);
  EXPECT_EQ(eval("contact.attributes.orders + 1").value, 4);
  EXPECT_EQ(eval("conversation.flow .. '/' .. steps.ask_name.output .. '/' .. vars.promo").value,
            "katalog/Budi/HEMAT10");
  EXPECT_EQ(
      eval("local n = 0 for k, v in pairs(contact.attributes) do n = n + 1 end return n").value, 2);
  // A returned read-only table converts like any other.
  EXPECT_EQ(eval("contact.attributes").value, ctx.contact["attributes"]);

  CallResult write = eval("message.text = 'x'");
  ASSERT_FALSE(write.ok());
  EXPECT_EQ(write.error->message, "attempt to modify read-only table 'message'");
  CallResult contact = eval("contact.attributes.city = 'Jakarta'");
  ASSERT_FALSE(contact.ok());
  EXPECT_EQ(contact.error->message,
            "attempt to modify read-only table 'contact' (use contact.set(name, value), "
            "contact.tag(tag) or contact.untag(tag))");
  // Without a message (a scheduled trigger), the tables exist and are empty.
  EXPECT_TRUE(
      sandbox.evaluate(sandbox.compile("empty", "message.text", {}).snippet, {}).value.is_null());
}

TEST(LuaSandboxCallTest, ContactChangesComeBackAsResults) {
  LuaSandbox sandbox;
  CompileResult script = sandbox.loadScript(
      "lead",
      "function qualify(guests)\n"
      "  contact.set('guests', guests)\n"
      "  contact.set('old_note', nil)\n"
      "  contact.set('event', {date = '2025-08-17', city = 'Bogor'})\n"
      "  if guests >= 100 then contact.tag('hot'); contact.untag('cold') end\n"
      "  return contact.attributes.guests  -- still the value from before the call\n"
      "end\n"
      "function fail() contact.tag('hot'); error('no') end\n",
      {"scripts/lead.lua", 1, 1, 0});
  ASSERT_TRUE(script.ok()) << script.error->text();
  RuleContext ctx;
  ctx.contact = {{"attributes", {{"guests", 10}}}, {"tags", {"cold"}}};
  CallResult r = sandbox.call(script.snippet, "qualify", json::array({150}), ctx);
  ASSERT_TRUE(r.ok()) << r.error->text();
  EXPECT_EQ(r.value, 10);
  EXPECT_EQ(r.contact.set, (json{{"guests", 150},
                                 {"old_note", nullptr},
                                 {"event", {{"date", "2025-08-17"}, {"city", "Bogor"}}}}));
  EXPECT_EQ(r.contact.tags_added, std::vector<std::string>{"hot"});
  EXPECT_EQ(r.contact.tags_removed, std::vector<std::string>{"cold"});

  CallResult failed = sandbox.call(script.snippet, "fail", nullptr, ctx);
  ASSERT_FALSE(failed.ok());
  EXPECT_TRUE(failed.contact.empty());
  // Changes do not carry over into the next call.
  CallResult again = sandbox.call(script.snippet, "qualify", json::array({5}), ctx);
  EXPECT_EQ(again.contact.tags_added, std::vector<std::string>{});
}

TEST(LuaSandboxCallTest, LogGoesToTheSinkWithRuleAndLine) {
  std::vector<LogLine> lines;
  SandboxOptions options;
  options.log = [&](const LogLine& line) { lines.push_back(line); };
  options.limits.log_lines_per_call = 3;
  LuaSandbox sandbox(options);
  CompileResult r = sandbox.compile("noisy",
                                    "log('score', 42, nil, true)\nprint('via print')\n"
                                    "for i = 1, 10 do log(i) end\nreturn 1",
                                    {"flows/noisy.yaml", 30, 9, 8});
  ASSERT_TRUE(r.ok()) << r.error->text();
  ASSERT_TRUE(sandbox.evaluate(r.snippet, {}).ok());
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0].text, "score 42 nil true");
  EXPECT_EQ(lines[0].rule, "noisy");
  EXPECT_EQ(lines[0].file, "flows/noisy.yaml");
  EXPECT_EQ(lines[0].line, 30);
  EXPECT_EQ(lines[1].text, "via print");
  EXPECT_EQ(lines[1].line, 31);
  EXPECT_EQ(lines[2].text, "1");
  EXPECT_EQ(lines[3].text, "(further log lines of this call are dropped)");
}

TEST(LuaSandboxCallTest, LoadCompilesTextInTheCallersEnvironment) {
  LuaSandbox sandbox;
  RuleContext ctx;
  ctx.message = {{"text", "halo"}};
  CompileResult r =
      sandbox.compile("dyn", "local f = load('return message.text .. \"!\"')\nreturn f()", {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(sandbox.evaluate(r.snippet, ctx).value, "halo!");
  CompileResult env = sandbox.compile("env", "return load('return x', 'c', 't', {x = 5})()", {});
  EXPECT_EQ(sandbox.evaluate(env.snippet, ctx).value, 5);
}

TEST(LuaSandboxCallTest, TimeHelpersUseTheCallsClock) {
  LuaSandbox sandbox;
  RuleContext ctx;
  // Monday 2025-06-16 01:30 UTC = 08:30 in Jakarta (UTC+7).
  ctx.now = std::chrono::sys_days{std::chrono::year{2025} / 6 / 16} + std::chrono::minutes(90);
  auto eval = [&](const std::string& source) {
    CompileResult c = sandbox.compile("t", source, {});
    EXPECT_TRUE(c.ok()) << c.error->text();
    return sandbox.evaluate(c.snippet, ctx);
  };
  EXPECT_EQ(eval("time.now()").value, 1750037400);
  EXPECT_EQ(eval("time.hour('Asia/Jakarta')").value, 8);
  EXPECT_EQ(eval("time.minute('Asia/Jakarta')").value, 30);
  EXPECT_EQ(eval("time.weekday('Asia/Jakarta')").value, 1);
  EXPECT_EQ(eval("time.hour()").value, 1);  // the default zone, UTC
  json date = eval("time.date('Asia/Jakarta')").value;
  EXPECT_EQ(date["year"], 2025);
  EXPECT_EQ(date["day"], 16);
  EXPECT_EQ(date["utc_offset"], 7 * 3600);
  EXPECT_EQ(date["zone"], "Asia/Jakarta");

  const std::string shop = "{days = 'mon-sat', from = '08:00', to = '20:00', tz = 'Asia/Jakarta'}";
  EXPECT_EQ(eval("time.in_business_hours(" + shop + ")").value, true);
  // 13:30 UTC = 20:30 WIB: closed. Sunday 10:00 WIB: closed. Saturday 07:59 WIB: closed.
  EXPECT_EQ(eval("time.in_business_hours(" + shop + ", nil, time.now() + 12 * 3600)").value, false);
  EXPECT_EQ(eval("time.in_business_hours(" + shop + ", nil, time.now() - 22 * 3600 - 1800)").value,
            false);
  EXPECT_EQ(
      eval("time.in_business_hours(" + shop + ", nil, time.now() - 2 * 24 * 3600 - 31 * 60)").value,
      false);
  EXPECT_EQ(
      eval("time.in_business_hours(" + shop + ", nil, time.now() - 2 * 24 * 3600 - 29 * 60)").value,
      true);
  // The tz argument wins over the schedule's: 01:30 in UTC is before opening.
  EXPECT_EQ(eval("time.in_business_hours(" + shop + ", 'UTC')").value, false);

  CallResult bad_zone = eval("time.hour('Asia/Jakrta')");
  ASSERT_FALSE(bad_zone.ok());
  EXPECT_NE(bad_zone.error->message.find("unknown time zone 'Asia/Jakrta'"), std::string::npos);
  CallResult bad_schedule = eval(
      "time.in_business_hours({days = 'mon-sat', from = '8am', to = "
      "'20:00'})");
  ASSERT_FALSE(bad_schedule.ok());
  EXPECT_NE(bad_schedule.error->message.find("times must look like \"08:00\""), std::string::npos);
}

TEST(LuaSandboxCallTest, TextHelpersFromLua) {
  LuaSandbox sandbox;
  CompileResult r = sandbox.compile("kw", "text.match_keyword(message.text, 'harga', 'price')", {});
  ASSERT_TRUE(r.ok());
  for (const char* input : {"harga", "Hargaa", "HARGA?", "berapa harganya kak", "PRICE list"}) {
    RuleContext ctx;
    ctx.message = {{"text", input}};
    CallResult result = sandbox.evaluate(r.snippet, ctx);
    ASSERT_TRUE(result.ok()) << result.error->text();
    EXPECT_TRUE(result.truthy()) << input;
  }
  RuleContext other;
  other.message = {{"text", "jam buka?"}};
  EXPECT_FALSE(sandbox.evaluate(r.snippet, other).truthy());
  CompileResult list =
      sandbox.compile("list", "text.match_keyword('Jam BUKA toko?', {'alamat', 'jam buka'})", {});
  EXPECT_EQ(sandbox.evaluate(list.snippet, {}).value, "jam buka");
  CompileResult norm = sandbox.compile("norm", "text.normalize('  Hárgaa??  Promóo!! ')", {});
  EXPECT_EQ(sandbox.evaluate(norm.snippet, {}).value, "harga promo");
}

TEST(LuaSandboxCallTest, HandlesOfTheWrongKindAreRefused) {
  LuaSandbox sandbox;
  CompileResult expr = sandbox.compile("expr", "1", {});
  CompileResult script = sandbox.loadScript("s", "function f() return 1 end", {});
  EXPECT_EQ(sandbox.call(expr.snippet, "f", nullptr, {}).error->message,
            "is an expression, not a script with functions");
  EXPECT_EQ(sandbox.evaluate(script.snippet, {}).error->message,
            "is a script; call one of its functions instead");
  sandbox.release(expr.snippet);
  EXPECT_NE(sandbox.evaluate(expr.snippet, {}).error->message.find("invalid snippet handle"),
            std::string::npos);
  EXPECT_EQ(sandbox.evaluate(Snippet{}, {}).ok(), false);
  EXPECT_EQ(sandbox.call(script.snippet, "f", nullptr, {}).value, 1);
}

}  // namespace
}  // namespace waflow::core::lua
