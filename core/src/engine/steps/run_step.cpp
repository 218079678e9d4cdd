// Running a step: the dispatch to its kind's runner (one per alternative of flow::StepSpec, in
// its family's file beside this one) and what every runner uses: rendering texts and values,
// sending, timeouts of waits and the contact-idle triggers. Part of FlowEngine::Impl.
#include "delivery/events.h"
#include "engine/flow_engine_impl.h"
#include "engine/reply_message.h"
#include "flow/answer/answer.h"
#include "flow/spintax.h"
#include "json/bounded_parse.h"
#include "log/log.h"
#include "storage/storage_client.h"
#include "time/time_zone.h"

#include <fmt/format.h>

#include <random>
#include <tuple>

namespace waflow::core::engine {

std::string newToken() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return fmt::format("{:016x}", rng());
}

namespace {

// Values set on a contact from templates: "true"/"false" and numbers typed as text keep
// their text; a whole {{ }} keeps its value's type (FlowLua::renderValue).
std::string describe(const lua::RuleError& e) {
  return e.text();
}

}  // namespace

std::optional<std::string> FlowEngine::Impl::render(const ExecPtr& x, const flow::Text& text,
                                                    bool spin, std::string& out) {
  if (!text.isTemplate()) {  // no Lua in it: no context to build
    out = spin ? flow::renderSpintax(text.value) : text.value;
    return std::nullopt;
  }
  if (auto error = lua(x->set).render(*x->flow, text, context(*x), spin, out)) {
    return describe(*error);
  }
  return std::nullopt;
}

std::optional<std::string> FlowEngine::Impl::renderValue(const ExecPtr& x, int line,
                                                         const Json& value, Json& out) {
  if (auto error = lua(x->set).renderValue(*x->flow, line, value, context(*x), out)) {
    return describe(*error);
  }
  return std::nullopt;
}

void FlowEngine::Impl::send(ExecPtr x, std::string type, std::string text, std::string payload_json,
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
  services_.outbox.enqueue(std::move(m), [id, done = std::move(done)](bool stored) {
    if (!stored) {
      done(false, "the message could not be stored in the outbox");
      return;
    }
    done(true, id);
  });
}

void FlowEngine::Impl::armIdleTriggers(const ExecPtr& x) {
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
  scheduler_.add(std::move(jobs), true, [](bool) {});
}

void FlowEngine::Impl::scheduleWaitTimeout(ExecPtr x, const flow::Step& step, StepDone done) {
  x->run.token = newToken();
  int64_t after = step.timeout_ms.value_or(config_.flows.wait_expiry.count());
  Scheduler::Job j;
  j.id = fmt::format("timeout:{}:{}", x->run.id, x->run.token);
  j.kind = "run.timeout";
  j.due_at = flowNowMs() + after;
  j.conversation = x->entry->key;
  j.payload = {{"run_id", x->run.id},
               {"token", x->run.token},
               {"channel", x->entry->channel},
               {"contact", x->entry->contact}};
  scheduler_.add({std::move(j)}, false, [done = std::move(done)](bool stored) {
    if (!stored) {
      done(StepOutcome::failed("its timeout could not be stored"));
      return;
    }
    StepOutcome o;
    o.control = StepOutcome::Control::kSuspend;
    done(std::move(o));
  });
}

void FlowEngine::Impl::runStep(ExecPtr x, const flow::Step& step, StepDone done) {
  // One run() overload per alternative of flow::StepSpec: a step kind without one does not compile.
  std::visit([&](const auto& spec) { run(std::move(x), step, spec, std::move(done)); }, step.spec);
}

bool FlowEngine::Impl::needsContact(const ExecPtr& x, const flow::Step& step,
                                    const StepDone& done) {
  if (x->entry != nullptr) {
    return true;
  }
  done(StepOutcome::failed("a '" + step.kind +
                           "' step needs a contact, and this run has none (it was started by "
                           "a schedule or an event without one)"));
  return false;
}

}  // namespace waflow::core::engine
