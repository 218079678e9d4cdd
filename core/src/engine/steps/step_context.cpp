#include "engine/steps/step_context.h"

#include "engine/basics.h"
#include "flow/spintax.h"

#include <fmt/format.h>

#include <algorithm>

namespace waflow::core::engine::steps {

std::optional<std::string> StepContext::render(const ExecPtr& x, const flow::Text& text, bool spin,
                                               std::string& out) const {
  if (!text.isTemplate()) {  // no Lua in it: no context to build
    out = spin ? flow::renderSpintax(text.value) : text.value;
    return std::nullopt;
  }
  if (auto error = lua(x->set).render(*x->flow, text, ruleContext(*x), spin, out)) {
    return error->text();
  }
  return std::nullopt;
}

std::optional<std::string> StepContext::renderValue(const ExecPtr& x, int line, const Json& value,
                                                    Json& out) const {
  if (auto error = lua(x->set).renderValue(*x->flow, line, value, ruleContext(*x), out)) {
    return error->text();
  }
  return std::nullopt;
}

FlowLua& StepContext::lua(const std::shared_ptr<const FlowSet>& set) const {
  return FlowLua::forThread(set, parts_.lua_options);
}

void StepContext::send(const ExecPtr& x, std::string type, std::string text,
                       std::string payload_json,
                       std::function<void(bool ok, std::string id)> done) {
  if (x->entry == nullptr) {
    done(false,
         "this run has no contact to send to (it was started by a schedule or an event "
         "without one)");
    return;
  }
  delivery::Outbox::Message m;
  m.id = fmt::format("{}:{}", x->run.id, ++x->run.sends);
  m.channel = x->entry->channel;
  m.to = x->entry->contact;
  m.conversation = x->entry->key;
  m.type = std::move(type);
  m.text = std::move(text);
  m.payload_json = std::move(payload_json);
  m.request_id = x->request_id;
  std::string id = m.id;
  armIdleTriggers(x);
  parts_.outbox.enqueue(std::move(m), [id, done = std::move(done)](bool stored) {
    if (!stored) {
      done(false, "the message could not be stored in the outbox");
      return;
    }
    done(true, id);
  });
}

void StepContext::armIdleTriggers(const ExecPtr& x) {
  if (!x->set->has_idle_triggers || x->entry == nullptr) {
    return;
  }
  // One job per (flow, trigger, contact), pushed back by every message the bot sends.
  std::vector<Scheduler::Job> jobs;
  int64_t now = flowNowMs();
  for (const auto& f : x->set->flows) {
    for (size_t ti = 0; ti < f.triggers.size(); ++ti) {
      const auto* t = std::get_if<flow::ContactIdleTrigger>(&f.triggers[ti].spec);
      if (t == nullptr ||
          (!t->channels.empty() && std::find(t->channels.begin(), t->channels.end(),
                                             x->entry->channel) == t->channels.end())) {
        continue;
      }
      Scheduler::Job j;
      j.id = fmt::format("idle:{}:{}:{}", f.id, ti, x->entry->key);
      j.kind = "flow.idle";
      j.due_at = now + t->after_ms;
      j.conversation = x->entry->key;
      j.payload = {{"flow", f.id},
                   {"trigger_id", f.triggers[ti].id},
                   {"channel", x->entry->channel},
                   {"contact", x->entry->contact},
                   {"armed_at", now}};
      jobs.push_back(std::move(j));
    }
  }
  parts_.scheduler.add(std::move(jobs), true, [](bool) {});
}

void StepContext::showTyping(const ExecPtr& x) {
  const std::string message_id = jsonString(x->message, "id");
  if (x->entry == nullptr || message_id.empty()) {
    return;
  }
  auto it = parts_.channels.find(x->entry->channel);
  if (it == parts_.channels.end()) {
    return;
  }
  waflow::OutboundMessage m;
  m.to = x->entry->contact;
  m.type = "typing";
  m.reply_to = message_id;
  m.payload_json = Json{{"message_id", message_id}}.dump();
  // Best effort: the indicator is a courtesy, the answer does not wait for it.
  it->second->send(m, [where = x->entry->key](plugin::CallOutcome o) {
    if (!o.ok()) {
      flowLogger()->debug("{}: no typing indicator: {}", where, o.error);
    }
  });
}

void StepContext::updateContact(const EntryPtr& entry, const Json& set,
                                const std::vector<std::string>& add,
                                const std::vector<std::string>& remove,
                                std::function<void(bool ok, std::string error)> done) {
  parts_.conversations.updateContact(entry, set, add, remove, std::move(done));
}

void StepContext::handOff(const ExecPtr& x, const std::string& note, const std::string& team,
                          int64_t release_after_ms) {
  auto& state = x->entry->state;
  if (release_after_ms <= 0) {
    release_after_ms = parts_.config.flows.handoff_release_after.count();
  }
  state.handoff = true;
  state.handoff_team = team;
  state.handoff_at = flowNowMs();
  state.handoff_until = release_after_ms > 0 ? state.handoff_at + release_after_ms : 0;
  x->entry->dirty = true;
  Json event = {{"channel", x->entry->channel},
                {"contact", x->entry->contact},
                {"name", jsonString(x->entry->contact_json, "name")},
                {"note", note},
                {"team", team},
                {"flow", x->flow->id}};
  if (state.handoff_until > 0) {
    event["release_at"] = state.handoff_until;
  }
  publish("conversation.handoff", x->entry->key, event, x->request_id);
  flowLogger()->info("{}: handed to a human{} by flow '{}'", x->entry->key,
                     team.empty() ? "" : " (team " + team + ")", x->flow->id);
}

void StepContext::publish(const std::string& type, const std::string& conversation,
                          const Json& payload, const std::string& request_id) {
  publishEvent(parts_.bus, type, conversation, payload, request_id);
}

void StepContext::scheduleWaitTimeout(const ExecPtr& x, const flow::Step& step, StepDone done) {
  x->run.token = newToken();
  int64_t after = step.timeout_ms.value_or(parts_.config.flows.wait_expiry.count());
  Scheduler::Job j;
  j.id = fmt::format("timeout:{}:{}", x->run.id, x->run.token);
  j.kind = "run.timeout";
  j.due_at = flowNowMs() + after;
  j.conversation = x->entry->key;
  j.payload = {{"run_id", x->run.id},
               {"token", x->run.token},
               {"channel", x->entry->channel},
               {"contact", x->entry->contact}};
  parts_.scheduler.add({std::move(j)}, false, [done = std::move(done)](bool stored) {
    done(stored ? StepOutcome::suspended()
                : StepOutcome::failed("its timeout could not be stored"));
  });
}

void StepContext::scheduleResume(const ExecPtr& x, const char* waiting, int64_t due_at,
                                 const char* what, StepDone done) {
  x->run.waiting = waiting;
  x->run.token = newToken();
  Scheduler::Job j;
  j.id = fmt::format("resume:{}:{}", x->run.id, x->run.token);
  j.kind = "run.resume";
  j.due_at = due_at;
  j.conversation = x->entry->key;
  j.payload = {{"run_id", x->run.id},
               {"token", x->run.token},
               {"channel", x->entry->channel},
               {"contact", x->entry->contact}};
  parts_.scheduler.add({std::move(j)}, false,
                       [x, what = std::string(what), done = std::move(done)](bool stored) {
                         if (!stored) {
                           x->run.waiting.clear();
                           return done(StepOutcome::failed("the " + what + " could not be stored"));
                         }
                         done(StepOutcome::suspended());
                       });
}

bool needsContact(const ExecPtr& x, const flow::Step& step, const StepDone& done) {
  if (x->entry != nullptr) {
    return true;
  }
  done(StepOutcome::failed("a '" + step.kind +
                           "' step needs a contact, and this run has none (it was started by "
                           "a schedule or an event without one)"));
  return false;
}

}  // namespace waflow::core::engine::steps
