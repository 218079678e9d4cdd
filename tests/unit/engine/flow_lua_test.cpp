// FlowSet loading and FlowLua: rules compiled per thread, texts rendered with {{ }} and
// spintax, typed values, script calls.
#include "engine/flow_lua.h"
#include "engine/flow_set.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

namespace waflow::core::engine {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

class FlowLuaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("waflow-flow-lua-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "flows");
    fs::create_directories(dir_ / "scripts");
    config_.flows_dir = (dir_ / "flows").string();
    config_.scripts_dir = (dir_ / "scripts").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
  }

  std::shared_ptr<const FlowSet> load() {
    FlowSetLoad loaded = loadFlowSet(config_);
    for (const auto& d : loaded.diagnostics) {
      ADD_FAILURE() << d.file << ":" << d.line << ":" << d.column << ": " << d.text();
    }
    return loaded.set;
  }

  const flow::ReplyStep& reply(const FlowSet& set, size_t step) {
    return std::get<flow::ReplyStep>(set.flows[0].steps[step].spec);
  }

  fs::path dir_;
  config::Config config_;
};

TEST_F(FlowLuaTest, FlowsAreOrderedByPriorityAndTheirEventsAndFlagsKnown) {
  write("flows/a.yaml", R"(id: a
triggers: [{ on: event, name: order.created }]
steps:
  - schedule: { after: 1h, reply: "x", cancel_on_reply: true }
)");
  write("flows/b.yaml", R"(id: b
priority: 5
triggers: [{ on: message.status, status: failed }]
steps:
  - wait: payment.paid
)");
  auto set = load();
  ASSERT_TRUE(set);
  ASSERT_EQ(set->flows.size(), 2u);
  EXPECT_EQ(set->flows[0].id, "b");  // the higher priority first
  EXPECT_EQ(set->event_names,
            (std::set<std::string, std::less<>>{"order.created", "payment.paid"}));
  EXPECT_TRUE(set->followups_cancel_on_reply);
  EXPECT_TRUE(set->has_status_triggers);
  EXPECT_FALSE(set->has_idle_triggers);
  size_t index = 9;
  EXPECT_EQ(set->find("a", &index)->id, "a");
  EXPECT_EQ(index, 1u);
  EXPECT_EQ(set->find("zzz"), nullptr);
}

TEST_F(FlowLuaTest, IfExpressionsAreSortedByWhatTheyNeed) {
  write("flows/a.yaml", R"(id: a
triggers: [{ on: event, name: x }]
steps:
  - id: x
    reply: "first"
  - if: "steps.x ~= nil or trigger.id == 'y'"
    reply: "fast"
  - if: "time.hour('Asia/Jakarta') >= 8 and 'message' ~= ''"
    reply: "no context"
  - if: "contact.tags.vip"
    reply: "context"
  - if: "x.message == nil and _G.steps == nil"
    reply: "context through _G"
)");
  auto set = load();
  ASSERT_TRUE(set);
  const auto& all = set->flows[0].steps;
  EXPECT_EQ(set->fast_rules.count(&*all[1].if_expression), 1u);
  EXPECT_EQ(set->context_free.count(&*all[1].if_expression), 0u);
  EXPECT_EQ(set->context_free.count(&*all[2].if_expression), 1u);
  EXPECT_EQ(set->context_free.count(&*all[3].if_expression), 0u);
  EXPECT_EQ(set->context_free.count(&*all[4].if_expression), 0u);
  EXPECT_EQ(set->fast_rules.count(&*all[3].if_expression), 0u);
}

TEST_F(FlowLuaTest, ASetWithAnErrorIsRefusedWithItsPosition) {
  write("flows/a.yaml",
        "id: a\ntriggers: [{ on: event, name: x }]\nsteps:\n  - reply: \"{{ 1 + }}\"\n");
  FlowSetLoad loaded = loadFlowSet(config_);
  EXPECT_FALSE(loaded.set);
  ASSERT_FALSE(loaded.diagnostics.empty());
  EXPECT_EQ(loaded.diagnostics[0].line, 4);
}

// A trigger's and a condition's regex over a 40,000-character message: std::regex overflowed
// the stack on `\d+` and `.*` (SIGSEGV, at every restart again, since the message is replayed).
TEST_F(FlowLuaTest, RegexTriggersAndConditionsSearchA40000CharacterText) {
  write("flows/a.yaml", R"(id: a
triggers:
  - { on: message.received, regex: '\d+' }
  - { on: message.received, regex: '^(a|\d)*$' }
conditions:
  - regex: '.*'
  - regex: 'HARGA'
steps:
  - reply: "x"
)");
  auto set = load();
  ASSERT_TRUE(set);
  const FlowMatchers& m = set->matchers[0];
  const std::string digits(40000, '9');
  EXPECT_TRUE(m.triggerRegexFound(0, digits));
  EXPECT_TRUE(m.triggerRegexFound(1, digits));
  EXPECT_FALSE(m.triggerRegexFound(1, digits + "x"));
  EXPECT_TRUE(m.conditionRegexFound(0, digits));
  EXPECT_FALSE(m.conditionRegexFound(1, digits));
  EXPECT_TRUE(m.conditionRegexFound(1, digits + " harga?"));  // case-insensitive, anywhere
}

TEST_F(FlowLuaTest, TextsRenderExpressionsThenSpintaxOnlyOverTheLiteralParts) {
  write("flows/a.yaml", R"(id: a
triggers: [{ on: event, name: x }]
steps:
  - reply: "{Halo|Hai} {{ contact.name }}! {{ 6 * 7 }} {{ nil }}."
)");
  auto set = load();
  ASSERT_TRUE(set);
  FlowLua& lua = FlowLua::forThread(set, {});
  lua::RuleContext ctx;
  ctx.contact = {{"name", "{Rina|Budi}"}, {"attributes", Json::object()}, {"tags", Json::array()}};
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    std::string out;
    ASSERT_FALSE(lua.render(set->flows[0], reply(*set, 0).text, ctx, true, out));
    seen.insert(out);
  }
  // The customer's own braces are never spun; the literal text is.
  EXPECT_EQ(seen, (std::set<std::string>{"Halo {Rina|Budi}! 42 .", "Hai {Rina|Budi}! 42 ."}));
}

TEST_F(FlowLuaTest, AWholeExpressionKeepsItsTypeAndMixedTextBecomesText) {
  write("flows/a.yaml", R"(id: a
triggers: [{ on: event, name: x }]
steps:
  - emit:
      event: e
      data:
        n: "{{ 1 + 1 }}"
        s: "n={{ 1 + 1 }}"
        half: "{{ 3 / 2 }}"
        nested: { list: ["{{ contact.tags.vip }}", plain] }
)");
  auto set = load();
  ASSERT_TRUE(set);
  FlowLua& lua = FlowLua::forThread(set, {});
  lua::RuleContext ctx;
  ctx.contact = {{"attributes", Json::object()}, {"tags", {"vip"}}};
  const auto& emit = std::get<flow::EmitStep>(set->flows[0].steps[0].spec);
  Json out;
  ASSERT_FALSE(
      lua.renderValue(set->flows[0], set->flows[0].steps[0].pos.line, emit.data, ctx, out));
  EXPECT_EQ(out["n"], 2);
  EXPECT_EQ(out["s"], "n=2");
  EXPECT_EQ(out["half"], 1.5);
  EXPECT_EQ(out["nested"]["list"], Json({true, "plain"}));
}

TEST_F(FlowLuaTest, ARuntimeErrorNamesTheFlowFileAndLine) {
  write("flows/a.yaml", R"(id: a
triggers: [{ on: event, name: x }]
steps:
  - reply: "x"
    if: "contact.attributes.city.name == 'x'"
)");
  auto set = load();
  ASSERT_TRUE(set);
  FlowLua& lua = FlowLua::forThread(set, {});
  lua::RuleContext ctx;
  ctx.contact = {{"attributes", Json::object()}, {"tags", Json::array()}};
  lua::CallResult r = lua.evaluate(*set->flows[0].steps[0].if_expression, ctx);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error->line, 5);
  EXPECT_NE(r.error->text().find("a.yaml:5"), std::string::npos) << r.error->text();
}

TEST_F(FlowLuaTest, ScriptFunctionsAreCalledWithTheirArgumentsAndReportContactChanges) {
  write("scripts/lead.lua", R"(function grade(args)
  contact.tag("lead-" .. (args.guests >= 100 and "hot" or "cold"))
  return args.guests >= 100 and "hot" or "cold"
end
)");
  auto set = load();
  ASSERT_TRUE(set);
  FlowLua& lua = FlowLua::forThread(set, {});
  lua::RuleContext ctx;
  ctx.contact = {{"attributes", Json::object()}, {"tags", Json::array()}};
  lua::CallResult r = lua.call("grade", Json::array({{{"guests", 150}}}), ctx);
  ASSERT_TRUE(r.ok()) << r.error->text();
  EXPECT_EQ(r.value, "hot");
  EXPECT_EQ(r.contact.tags_added, std::vector<std::string>{"lead-hot"});
  lua::CallResult missing = lua.call("nope", Json::array(), ctx);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error->text().find("no script"), std::string::npos);
}

TEST_F(FlowLuaTest, EachThreadHasItsOwnSandboxAndANewSetReplacesIt) {
  write("flows/a.yaml", "id: a\ntriggers: [{ on: event, name: x }]\nsteps:\n  - reply: \"x\"\n");
  auto set = load();
  ASSERT_TRUE(set);
  FlowLua* here = &FlowLua::forThread(set, {});
  EXPECT_EQ(here, &FlowLua::forThread(set, {}));
  FlowLua* there = nullptr;
  std::thread([&] { there = &FlowLua::forThread(set, {}); }).join();
  EXPECT_NE(here, there);
  auto reloaded = load();
  FlowLua& fresh = FlowLua::forThread(reloaded, {});
  std::string out;
  EXPECT_FALSE(fresh.render(reloaded->flows[0], reply(*reloaded, 0).text, {}, true, out));
  EXPECT_EQ(out, "x");
}

TEST(FlowTextTest, ValuesBecomeTextAsPeopleExpect) {
  EXPECT_EQ(FlowLua::toText(Json(2.0)), "2");
  EXPECT_EQ(FlowLua::toText(Json(2.5)), "2.5");
  EXPECT_EQ(FlowLua::toText(Json(nullptr)), "");
  EXPECT_EQ(FlowLua::toText(Json("teks")), "teks");
  EXPECT_EQ(FlowLua::toText(Json(true)), "true");
  EXPECT_EQ(FlowLua::toText(Json({{"a", 1}})), R"({"a":1})");
}

}  // namespace
}  // namespace waflow::core::engine
