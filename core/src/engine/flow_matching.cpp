// Which flows a message or an event starts: triggers and conditions, and the context Lua
// rules see. Part of FlowEngine::Impl.
#include "delivery/events.h"
#include "engine/flow_engine_impl.h"
#include "log/log.h"
#include "storage/storage_client.h"
#include "time/time_zone.h"

#include <fmt/format.h>

#include <algorithm>

namespace waflow::core::engine {
namespace {

bool hasAttribute(const Json& contact, const std::string& name) {
  const Json& attributes = contact["attributes"];
  auto it = attributes.find(name);
  return it != attributes.end() && !it->is_null() && !(it->is_string() && it->empty());
}

bool hasTag(const Json& contact, const std::string& tag) {
  const Json& tags = contact["tags"];
  return std::find(tags.begin(), tags.end(), tag) != tags.end();
}

}  // namespace

// ---- matching ----------------------------------------------------------------------------

bool FlowEngine::Impl::triggerMatches(const FlowSet& set, size_t fi, size_t ti, const Json& message,
                                      const text::NormalizedText& words,
                                      const ConversationEntry* entry) const {
  const flow::Trigger& trigger = set.flows[fi].triggers[ti];
  const auto* t = std::get_if<flow::MessageReceivedTrigger>(&trigger.spec);
  if (t == nullptr) {
    return false;
  }
  const std::string channel = jsonString(message, "channel");
  if (!t->channels.empty() &&
      std::find(t->channels.begin(), t->channels.end(), channel) == t->channels.end()) {
    return false;
  }
  if (!t->message_type.empty() && t->message_type != jsonString(message, "type")) {
    return false;
  }
  const std::string text = jsonString(message, "text");
  const FlowMatchers& m = set.matchers[fi];
  if (m.trigger_keywords[ti] && !m.trigger_keywords[ti]->match(words)) {
    return false;
  }
  if (!t->regex.empty() && !m.triggerRegexFound(ti, text)) {
    return false;
  }
  if (!t->reply_ids.empty()) {
    std::string reply = jsonString(message, "reply_id");
    if (std::find(t->reply_ids.begin(), t->reply_ids.end(), reply) == t->reply_ids.end()) {
      return false;
    }
  }
  if (t->first_message && (entry == nullptr || entry->first_message_id.empty() ||
                           entry->first_message_id != jsonString(message, "id"))) {
    return false;
  }
  return true;
}

bool FlowEngine::Impl::conditionsPass(const std::shared_ptr<const FlowSet>& set, size_t fi,
                                      const Json& message, const ConversationEntry* entry,
                                      const Json& globals) const {
  const flow::Flow& f = set->flows[fi];
  const FlowMatchers& m = set->matchers[fi];
  const std::string text = jsonString(message, "text");
  static const Json kNoContact = {{"attributes", Json::object()}, {"tags", Json::array()}};
  const Json& contact = entry != nullptr ? entry->contact_json : kNoContact;
  for (size_t ci = 0; ci < f.conditions.size(); ++ci) {
    const flow::Condition& c = f.conditions[ci];
    bool pass = true;
    if (std::holds_alternative<flow::KeywordsCondition>(c.spec)) {
      if (m.condition_any[ci] && !m.condition_any[ci]->match(text)) {
        pass = false;
      }
      for (const auto& word : m.condition_all[ci]) {
        pass = pass && word.match(text).has_value();
      }
    } else if (std::holds_alternative<flow::RegexCondition>(c.spec)) {
      pass = m.conditionRegexFound(ci, text);
    } else if (const auto* hours = std::get_if<flow::BusinessHoursCondition>(&c.spec)) {
      bool open = m.condition_hours[ci] && m.condition_zone[ci] != nullptr &&
                  m.condition_hours[ci]->isOpen(flowNowMs() / 1000, *m.condition_zone[ci]);
      pass = hours->when_open ? open : !open;
    } else if (const auto* who = std::get_if<flow::ContactCondition>(&c.spec)) {
      for (const auto& tag : who->tags) {
        pass = pass && hasTag(contact, tag);
      }
      for (const auto& tag : who->not_tags) {
        pass = pass && !hasTag(contact, tag);
      }
      for (const auto& a : who->has) {
        pass = pass && hasAttribute(contact, a);
      }
      for (const auto& a : who->missing) {
        pass = pass && !hasAttribute(contact, a);
      }
      for (const auto& [name, value] : who->attributes) {
        const Json& attributes = contact["attributes"];
        auto it = attributes.find(name);
        pass = pass && it != attributes.end() && *it == value;
      }
    } else if (const auto* conv = std::get_if<flow::ConversationCondition>(&c.spec)) {
      bool handoff = entry != nullptr && entry->state.handoff;
      bool in_flow = entry != nullptr && !entry->state.runs.empty();
      if (conv->in_handoff && *conv->in_handoff != handoff) {
        pass = false;
      }
      if (conv->in_flow && *conv->in_flow != in_flow) {
        pass = false;
      }
      if (!conv->in_flow_id.empty()) {
        pass = pass && entry != nullptr && entry->state.runsOf(conv->in_flow_id) > 0;
      }
    } else if (const auto* l = std::get_if<flow::LuaCondition>(&c.spec)) {
      lua::CallResult r =
          lua(set).evaluate(l->expression, baseRuleContext(message, entry, globals));
      if (!r.ok()) {
        flowLogger()->warn("{}: condition failed, so the flow does not run: {}", f.id,
                           r.error->text());
        pass = false;
      } else {
        pass = r.truthy();
      }
    }
    if (!pass) {
      return false;
    }
  }
  return true;
}

}  // namespace waflow::core::engine
