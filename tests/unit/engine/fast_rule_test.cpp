// FastRule answers the common `if:` shapes exactly as the Lua sandbox does, and refuses
// everything else so Lua keeps it.
#include "engine/fast_rule.h"
#include "lua/sandbox.h"

#include <gtest/gtest.h>

namespace waflow::core::engine {
namespace {

using Json = nlohmann::json;

struct Context {
  Json message, contact, steps, trigger;
};

std::vector<Context> contexts() {
  Json contact_a = {{"id", "6281"},
                    {"attributes", {{"greeted", true}, {"city", "Bandung"}}},
                    {"tags", Json::array()}};
  Json contact_b = {
      {"id", "6282"}, {"attributes", {{"greeted", 1}, {"note", nullptr}}}, {"tags", {"vip"}}};
  Json contact_c = {{"id", "6283"}, {"attributes", Json::object()}, {"tags", Json::array()}};
  return {
      {{{"text", "Berapa HARGAnya kak?"}, {"type", "text"}},
       contact_a,
       {{"closed", {{"output", {{"id", "x"}}}}}},
       {{"id", "stop"}, {"on", "message.received"}}},
      {{{"text", "jam buka?"}, {"reply_id", "nastar"}},
       contact_b,
       {{"failed", {{"output", nullptr}, {"error", "x"}}}},
       {{"id", ""}, {"on", "event"}}},
      {{{"type", "image"}}, contact_c, Json::object(), Json::object()},
      {{{"text", ""}}, contact_c, {{"closed", {{"output", false}}}}, {{"id", "start"}}},
  };
}

// Lua's value, or nullopt when the rule raises an error there.
std::optional<bool> viaLua(lua::LuaSandbox& sandbox, const std::string& code, const Context& c) {
  lua::CompileResult compiled = sandbox.compile("rule", code, {"test.yaml", 1, 1});
  EXPECT_TRUE(compiled.ok()) << code;
  lua::RuleContext ctx;
  ctx.message = c.message;
  ctx.contact = c.contact;
  ctx.steps = c.steps;
  ctx.globals = {{"trigger", c.trigger}};
  lua::CallResult r = sandbox.evaluate(compiled.snippet, ctx);
  sandbox.release(compiled.snippet);
  if (!r.ok()) {
    return std::nullopt;
  }
  return r.truthy();
}

TEST(FastRuleTest, AgreesWithLuaOnEveryShapeItTakes) {
  const std::vector<std::string> rules = {
      "steps.closed ~= nil",
      "steps.closed == nil",
      "steps.failed ~= nil",
      "message.reply_id ~= nil",
      "message.text == nil",
      "contact.attributes.greeted ~= true",
      "contact.attributes.greeted == true",
      "contact.attributes.city ~= nil",
      "contact.attributes.note == nil",
      "trigger.id == 'stop'",
      "trigger.id ~= \"stop\"",
      "text.match_keyword(message.text, 'harga', 'price') ~= nil",
      "text.match_keyword(message.text, \"jam buka\", 'buka') == nil",
      "steps.closed ~= nil or steps.failed ~= nil or message.reply_id ~= nil",
      "contact.attributes.greeted ~= true and trigger.id == 'stop'",
      "  steps.x == nil  ",
      "not time.in_business_hours({ days = \"daily\", from = \"00:00\", to = \"24:00\", "
      "tz = \"Asia/Jakarta\" })",
      "time.in_business_hours({ days = 'daily', from = '00:00', to = '24:00', tz = 'UTC' })",
      "time.in_business_hours({ days = 'sun', from = '00:00', to = '00:01', tz = 'UTC' }) or "
      "steps.closed ~= nil",
  };
  lua::LuaSandbox sandbox;
  for (const std::string& code : rules) {
    std::optional<FastRule> fast = FastRule::parse(code);
    ASSERT_TRUE(fast.has_value()) << code;
    for (const Context& c : contexts()) {
      EXPECT_EQ(fast->evaluate(c.message, c.contact, c.steps, c.trigger), viaLua(sandbox, code, c))
          << code << " with message " << c.message.dump();
    }
  }
}

TEST(FastRuleTest, LeavesEverythingElseToLua) {
  for (const char* code : {
           "steps.a ~= nil or steps.b ~= nil and steps.c ~= nil",  // mixed precedence
           "not steps.a", "steps.a.output == 'x'", "message.text ~= true", "trigger.id == 'it''s'",
           "text.match_keyword(message.text, k) ~= nil",
           "time.in_business_hours({ days = 'mon-sat' })", "(steps.a ~= nil)",
           "time.in_business_hours({ days = 'daily', from = '08:00', to = '20:00' })",  // no tz
           "time.in_business_hours({ days = 'daily', from = 8, to = '20:00', tz = 'UTC' })",
           "time.in_business_hours({ mon = { '08:00-12:00' }, tz = 'UTC' })",
           "time.in_business_hours({ days = 'daily', from = '08:00', to = '20:00', tz = 'Mars/X' "
           "})",
           "steps.a ~= nil or",
           "trigger.id == 'a or b'",  // quoted 'or' is not a separator...
       }) {
    std::optional<FastRule> fast = FastRule::parse(code);
    if (std::string(code) == "trigger.id == 'a or b'") {
      // ...so this one is a single term and is taken.
      ASSERT_TRUE(fast.has_value());
      EXPECT_EQ(fast->evaluate({}, {}, {}, {{"id", "a or b"}}), true);
      continue;
    }
    EXPECT_FALSE(fast.has_value()) << code;
  }
}

}  // namespace
}  // namespace waflow::core::engine
