// Statuses, custom events and releases reaching flows: `on: message.status` and `on: event`
// triggers, and `wait` steps. Part of FlowEngine::Impl.
#include "delivery/events.h"
#include "engine/flow_engine_impl.h"
#include "log/log.h"
#include "storage/storage_client.h"
#include "time/time_zone.h"

#include <fmt/format.h>

#include <algorithm>

namespace waflow::core::engine {

// ---- statuses and custom events --------------------------------------------------------

void FlowEngine::Impl::startEach(std::shared_ptr<const FlowSet> set, EntryPtr entry,
                                 std::vector<size_t> flows, size_t at, std::string run_prefix,
                                 Json trigger, Json message, Json globals, std::string request_id,
                                 std::function<void()> done) {
  if (at >= flows.size()) {
    done();
    return;
  }
  const flow::Flow& f = set->flows[flows[at]];
  auto rest = [this, set, entry, flows, at, run_prefix, trigger, message, globals, request_id,
               done]() mutable {
    startEach(std::move(set), std::move(entry), std::move(flows), at + 1, std::move(run_prefix),
              std::move(trigger), std::move(message), std::move(globals), std::move(request_id),
              std::move(done));
  };
  Json t = trigger;
  t["flow"] = f.id;
  Json g = globals;
  g["trigger"] = t;
  std::string run_id = run_prefix + ":" + f.id;
  if (!startRun(set, entry, f, run_id, t, message, request_id, g, rest)) {
    rest();
  }
}

void FlowEngine::Impl::runStatusFlows(const Json& status, EntryPtr entry,
                                      const std::string& request_id, std::function<void()> done) {
  auto set = current();
  std::vector<size_t> flows;
  Json trigger;
  for (size_t fi = 0; fi < set->flows.size(); ++fi) {
    const flow::Flow& f = set->flows[fi];
    if (quietForHandoff(f, entry.get())) {
      continue;  // a human has the conversation: the bot stays quiet
    }
    for (const auto& t : f.triggers) {
      const auto* s = std::get_if<flow::MessageStatusTrigger>(&t.spec);
      if (s == nullptr || s->status != jsonString(status, "status") ||
          (!s->channels.empty() && std::find(s->channels.begin(), s->channels.end(),
                                             jsonString(status, "channel")) == s->channels.end())) {
        continue;
      }
      Json globals = {{"status", status}, {"trigger", {{"id", t.id}, {"on", t.kind}}}};
      if (conditionsPass(set, fi, Json::object(), entry.get(), globals)) {
        flows.push_back(fi);
        trigger = {{"id", t.id}, {"on", t.kind}};
      }
      break;
    }
  }
  std::string prefix = fmt::format("{}:{}:{}", jsonString(status, "channel"),
                                   jsonString(status, "message_id"), jsonString(status, "status"));
  startEach(set, std::move(entry), std::move(flows), 0, prefix, trigger, Json::object(),
            {{"status", status}}, request_id, std::move(done));
}

void FlowEngine::Impl::onStatus(const bus::Event& event, bus::Done done) {
  auto finished = shareDone(std::move(done));
  auto set = current();
  if (!set->has_status_triggers) {
    finished();
    return;
  }
  Json status = Json::parse(event.payload, nullptr, false);
  std::string channel = jsonString(status, "channel");
  std::string recipient = jsonString(status, "recipient");
  if (!status.is_object() || channel.empty() || recipient.empty()) {
    finished();
    return;
  }
  conversations_.withEntry(
      channel, recipient,
      [this, status, request_id = event.request_id, finished](EntryPtr entry) mutable {
        runStatusFlows(status, std::move(entry), request_id, std::move(finished));
      });
}

void FlowEngine::Impl::onAnyEvent(const bus::Event& event, bus::Done done) {
  auto set = current();
  if (set->event_names.count(event.type) == 0) {
    done();
    return;
  }
  auto finished = shareDone(std::move(done));
  Json data = Json::parse(event.payload, nullptr, false);
  if (data.is_discarded()) {
    data = Json::object();
  }
  std::string channel = data.is_object() ? jsonString(data, "channel") : "";
  std::string contact = data.is_object() ? jsonString(data, "contact") : "";
  if ((channel.empty() || contact.empty()) && !event.conversation.empty()) {
    std::tie(channel, contact) = splitConversationKey(event.conversation);
  }
  if (!channel.empty() && !contact.empty()) {
    std::string key = delivery::conversationKey(channel, contact);
    if (event.conversation != key) {
      // Handle it in order with the conversation's messages.
      bus::Event ev;
      ev.type = kFlowDispatch;
      ev.conversation = key;
      ev.request_id = event.request_id;
      ev.native =
          std::make_shared<const Dispatch>(Dispatch{"event", event.type, data, channel, contact});
      if (services_.bus.tryPublish(std::move(ev)) != bus::EventBus::PublishResult::kAccepted) {
        flowLogger()->error("event {} for {} dropped: the bus is full", event.type, key);
      }
      finished();
      return;
    }
    conversations_.withEntry(channel, contact,
                             [this, name = event.type, data, request_id = event.request_id,
                              finished](EntryPtr entry) mutable {
                               deliverEvent(name, data, std::move(entry), request_id,
                                            std::move(finished));
                             });
    return;
  }
  // No conversation: flows triggered by the event run without a contact, and each
  // conversation with a run waiting for it gets it.
  services_.storage.call(
      waflow::storage::kConversationWaiting, {{"event", event.type}},
      [this, name = event.type, data, request_id = event.request_id](const plugin::CallOutcome& o,
                                                                     const Json& out) {
        if (!o.ok()) {
          flowLogger()->error("conversation.waiting failed: {}", o.error);
          return;
        }
        for (const auto& c : out.value("conversations", Json::array())) {
          bus::Event ev;
          ev.type = kFlowDispatch;
          ev.conversation =
              delivery::conversationKey(jsonString(c, "channel"), jsonString(c, "contact"));
          ev.request_id = request_id;
          ev.native = std::make_shared<const Dispatch>(
              Dispatch{"wait", name, data, jsonString(c, "channel"), jsonString(c, "contact")});
          services_.bus.tryPublish(std::move(ev));
        }
      });
  deliverEvent(event.type, data, nullptr, event.request_id, std::move(finished));
}

void FlowEngine::Impl::onFlowEvent(const bus::Event& event, bus::Done done) {
  auto finished = shareDone(std::move(done));
  auto dispatch = std::static_pointer_cast<const Dispatch>(event.native);
  if (!dispatch) {
    finished();
    return;
  }
  conversations_.withEntry(
      dispatch->channel, dispatch->contact,
      [this, dispatch, request_id = event.request_id, finished](EntryPtr entry) mutable {
        if (dispatch->kind == "release") {
          if (entry->state.handoff) {
            entry->state.handoff = false;
            entry->dirty = true;
            publish("conversation.released", entry->key,
                    {{"channel", entry->channel}, {"contact", entry->contact}, {"by", "api"}},
                    request_id);
          }
          conversations_.saveState(entry, std::move(finished));
          return;
        }
        if (dispatch->kind == "wait") {
          // Only the waiting runs: the event's flows ran once, without a contact.
          Json data = dispatch->data;
          data["__waits_only"] = true;
          deliverEvent(dispatch->name, data, std::move(entry), request_id, std::move(finished));
          return;
        }
        deliverEvent(dispatch->name, dispatch->data, std::move(entry), request_id,
                     std::move(finished));
      });
}

namespace {

// Gives an event to the runs listed in `waiting` (from index `at`) whose `match` accepts it,
// one after the other, then calls `then`. The list is taken when the event arrives: a run that
// starts waiting while it is delivered (a queued run starting, a run going back to its wait)
// waits for the next such event instead of taking this one again.
void resumeWaiting(FlowEngine::Impl& impl, const std::string& name, const Json& data,
                   const EntryPtr& entry, const std::string& request_id,
                   std::vector<std::string> waiting, size_t at, std::function<void()> then) {
  auto set = impl.current();
  for (; at < waiting.size(); ++at) {
    const FlowRun* r = entry->state.findRun(waiting[at]);
    if (r == nullptr || r->waiting != "wait" || r->wait_event != name) {
      continue;
    }
    const flow::Flow* f = set->find(r->flow);
    if (f == nullptr || r->step >= f->steps.size()) {
      continue;
    }
    const auto* wait = std::get_if<flow::WaitStep>(&f->steps[r->step].spec);
    if (wait == nullptr) {
      continue;
    }
    if (wait->match) {
      lua::RuleContext ctx =
          baseRuleContext(Json::object(), entry.get(),
                          {{"event", data}, {"trigger", r->trigger}, {"inputs", r->inputs}});
      ctx.steps = r->steps;
      lua::CallResult m = impl.lua(set).evaluate(*wait->match, ctx);
      if (!m.ok()) {
        flowLogger()->warn("{}: wait match failed: {}", f->id, m.error->text());
        continue;
      }
      if (!m.truthy()) {
        continue;
      }
    }
    std::string run_id = r->id;
    impl.scheduler_.cancel({fmt::format("timeout:{}:{}", r->id, r->token)}, [](bool) {});
    impl.resumeRun(
        entry, run_id, Json::object(), request_id,
        [&impl, data](ExecPtr x) {
          x->run.waiting.clear();
          x->run.token.clear();
          if (impl.afterStep(x, StepOutcome::next(data))) {
            impl.next(x);
          }
        },
        [&impl, name, data, entry, request_id, waiting = std::move(waiting), at,
         then = std::move(then)]() mutable {
          resumeWaiting(impl, name, data, entry, request_id, std::move(waiting), at + 1,
                        std::move(then));
        });
    return;
  }
  then();
}

// 2. Flows triggered by the event start (not for an event already given to flows without a
// contact, `waits_only`).
void startEventFlows(FlowEngine::Impl& impl, const std::string& name, const Json& data,
                     EntryPtr entry, const std::string& request_id, bool waits_only,
                     std::function<void()> done) {
  if (waits_only) {
    done();
    return;
  }
  auto set = impl.current();
  std::vector<size_t> flows;
  Json trigger;
  Json globals = {{"event", data}};
  for (size_t fi = 0; fi < set->flows.size(); ++fi) {
    const flow::Flow& f = set->flows[fi];
    if (quietForHandoff(f, entry.get())) {
      continue;
    }
    for (const auto& t : f.triggers) {
      const auto* e = std::get_if<flow::EventTrigger>(&t.spec);
      if (e == nullptr || e->name != name) {
        continue;
      }
      Json g = globals;
      g["trigger"] = {{"id", t.id}, {"on", "event"}};
      if (impl.conditionsPass(set, fi, Json::object(), entry.get(), g)) {
        flows.push_back(fi);
        trigger = {{"id", t.id}, {"on", "event"}, {"event", name}};
      }
      break;
    }
  }
  std::string prefix = fmt::format("event:{}:{}", name, request_id);
  if (entry != nullptr) {
    prefix += ":" + entry->key;
  }
  impl.startEach(set, std::move(entry), std::move(flows), 0, prefix, trigger, Json::object(),
                 globals, request_id, std::move(done));
}

}  // namespace

void FlowEngine::Impl::deliverEvent(const std::string& name, const Json& data_in, EntryPtr entry,
                                    const std::string& request_id, std::function<void()> done) {
  Json data = data_in;
  bool waits_only = data.is_object() && data.value("__waits_only", false);
  if (waits_only) {
    data.erase("__waits_only");
  }
  // 1. Runs waiting for this event whose `match` accepts it continue; then 2.
  if (entry != nullptr) {
    std::vector<std::string> waiting;
    for (const FlowRun& r : entry->state.runs) {
      if (r.waiting == "wait" && r.wait_event == name) {
        waiting.push_back(r.id);
      }
    }
    if (!waiting.empty()) {
      resumeWaiting(
          *this, name, data, entry, request_id, std::move(waiting), 0,
          [this, name, data, entry, request_id, waits_only, done = std::move(done)]() mutable {
            startEventFlows(*this, name, data, std::move(entry), request_id, waits_only,
                            std::move(done));
          });
      return;
    }
  }
  startEventFlows(*this, name, data, std::move(entry), request_id, waits_only, std::move(done));
}

void FlowEngine::Impl::publish(const std::string& type, const std::string& conversation,
                               const Json& payload, const std::string& request_id) {
  engine::publishEvent(services_.bus, type, conversation, payload, request_id);
}

}  // namespace waflow::core::engine
