#include "engine/exec.h"

#include "engine/basics.h"

namespace waflow::core::engine {

lua::RuleContext baseRuleContext(const Json& message, const ConversationEntry* entry,
                                 const Json& globals) {
  lua::RuleContext ctx;
  ctx.message = message;
  ctx.contact = entry != nullptr ? entry->contact_json : Json::object();
  ctx.conversation = conversationJson(entry);
  ctx.steps = Json::object();
  ctx.globals = globals;
  return ctx;
}

const lua::RuleContext& ruleContext(Exec& x) {
  if (!x.rule_context) {
    x.rule_context = baseRuleContext(x.message, x.entry.get(), x.globals);
    x.rule_context->steps = x.run.steps;
    x.rule_context->globals["trigger"] = x.run.trigger;
    x.rule_context->globals["inputs"] = x.run.inputs;
  }
  return *x.rule_context;
}

const text::NormalizedText& textWords(Exec& x) {
  if (!x.words) {
    x.words = std::make_shared<const text::NormalizedText>(jsonString(x.message, "text"));
  }
  return *x.words;
}

}  // namespace waflow::core::engine
