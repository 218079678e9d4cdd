// What each step kind does (docs/flows.md#steps). Part of FlowEngine::Impl.
#include "app/events.h"
#include "app/flow_engine_impl.h"
#include "app/reply_message.h"
#include "app/storage_call.h"
#include "flow/answer.h"
#include "flow/spintax.h"
#include "json/bounded_parse.h"
#include "log/log.h"
#include "lua/time_zone.h"

#include <fmt/format.h>

#include <random>
#include <tuple>

namespace waflow::core::app {

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
  Outbox::Message m;
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
  const int line = step.pos.line;
  auto need_contact = [&]() {
    if (x->entry != nullptr) {
      return true;
    }
    done(StepOutcome::failed("a '" + step.kind +
                             "' step needs a contact, and this run has none (it was started by "
                             "a schedule or an event without one)"));
    return false;
  };

  if (const auto* r = std::get_if<flow::ReplyStep>(&step.spec)) {
    auto sent = [done](bool ok, std::string id) {
      done(ok ? StepOutcome::next({{"id", id}}) : StepOutcome::failed(id));
    };
    if (auto fixed = x->set->fixed_replies.find(r); fixed != x->set->fixed_replies.end()) {
      const OutgoingReply& m = fixed->second;  // built when the flows loaded
      return send(x, m.type, m.text, m.payload_json, sent);
    }
    ReplyTexts t;
    for (const auto& [from, to, spin] :
         {std::tuple{&r->text, &t.text, true}, std::tuple{&r->header, &t.header, true},
          std::tuple{&r->footer, &t.footer, true}}) {
      if (auto e = render(x, *from, spin, *to)) {
        return done(StepOutcome::failed(*e));
      }
    }
    if (r->media) {
      if (auto e = render(x, r->media->url, false, t.url)) {
        return done(StepOutcome::failed(*e));
      }
      if (auto e = render(x, r->media->caption, true, t.caption)) {
        return done(StepOutcome::failed(*e));
      }
    }
    if (r->template_message) {
      for (const auto& p : r->template_message->params) {
        if (auto e = render(x, p, false, t.params.emplace_back())) {
          return done(StepOutcome::failed(*e));
        }
      }
    }
    OutgoingReply m = buildReply(*r, t);
    return send(x, std::move(m.type), std::move(m.text), std::move(m.payload_json), sent);
  }

  if (const auto* a = std::get_if<flow::AiStep>(&step.spec)) {
    return runAiStep(x, step, *a, std::move(done));
  }

  if (const auto* c = std::get_if<flow::ClassifyStep>(&step.spec)) {
    return runClassifyStep(x, step, *c, std::move(done));
  }

  if (const auto* s = std::get_if<flow::SetStep>(&step.spec)) {
    if (!need_contact()) {
      return;
    }
    Json values = Json::object();
    for (const auto& a : s->values) {
      Json v;
      if (auto e = renderValue(x, line, a.value, v)) {
        return done(StepOutcome::failed(*e));
      }
      values[a.attribute] = std::move(v);
    }
    return updateContact(x->entry, values, {}, {}, [done, values](bool ok, std::string error) {
      done(ok ? StepOutcome::next(values) : StepOutcome::failed(error));
    });
  }

  if (std::holds_alternative<flow::TagStep>(step.spec) ||
      std::holds_alternative<flow::UntagStep>(step.spec)) {
    if (!need_contact()) {
      return;
    }
    bool adding = std::holds_alternative<flow::TagStep>(step.spec);
    const auto& raw = adding ? std::get<flow::TagStep>(step.spec).tags
                             : std::get<flow::UntagStep>(step.spec).tags;
    std::vector<std::string> tags;
    for (const auto& t : raw) {
      Json v;
      if (auto e = renderValue(x, line, t, v)) {
        return done(StepOutcome::failed(*e));
      }
      std::string tag = FlowLua::toText(v);
      if (tag.empty()) {
        return done(StepOutcome::failed("the tag '" + t + "' came out empty"));
      }
      tags.push_back(std::move(tag));
    }
    std::vector<std::string> none;
    return updateContact(x->entry, adding ? Json::object() : Json::object(), adding ? tags : none,
                         adding ? none : tags, [done, tags](bool ok, std::string error) {
                           done(ok ? StepOutcome::next(tags) : StepOutcome::failed(error));
                         });
  }

  if (const auto* h = std::get_if<flow::HandoffStep>(&step.spec)) {
    if (!need_contact()) {
      return;
    }
    std::string note;
    if (auto e = render(x, h->note, false, note)) {
      return done(StepOutcome::failed(*e));
    }
    handOff(x, note, h->team, h->release_after_ms);
    return done(StepOutcome::next({{"note", note}, {"team", h->team}}));
  }

  if (const auto* rel = std::get_if<flow::ReleaseStep>(&step.spec)) {
    if (!need_contact()) {
      return;
    }
    std::string note;
    if (auto e = render(x, rel->note, false, note)) {
      return done(StepOutcome::failed(*e));
    }
    x->entry->state.handoff = false;
    x->entry->dirty = true;
    publish("conversation.released", x->entry->key,
            {{"channel", x->entry->channel},
             {"contact", x->entry->contact},
             {"note", note},
             {"by", "flow"},
             {"flow", x->flow->id}},
            x->request_id);
    return done(StepOutcome::next({{"note", note}}));
  }

  if (const auto* a = std::get_if<flow::AskStep>(&step.spec)) {
    if (!need_contact()) {
      return;
    }
    std::string question;
    if (auto e = render(x, a->question, true, question)) {
      return done(StepOutcome::failed(*e));
    }
    x->run.waiting = "ask";
    x->run.attempts = 0;
    auto asked = [this, x, step_ptr = &step, done](bool ok, std::string id) {
      if (!ok) {
        x->run.waiting.clear();
        return done(StepOutcome::failed(id));
      }
      scheduleWaitTimeout(x, *step_ptr, done);
    };
    if (!a->buttons.empty()) {
      flow::ReplyStep r;
      r.buttons = a->buttons;
      return send(x, "interactive", question,
                  interactivePayload(r, question, "", "")
                      .dump(-1, ' ', false, Json::error_handler_t::replace),
                  asked);
    }
    return send(x, "text", question, "", asked);
  }

  if (const auto* d = std::get_if<flow::DelayStep>(&step.spec)) {
    if (!need_contact()) {
      return;
    }
    x->run.waiting = "delay";
    x->run.token = newToken();
    Scheduler::Job j;
    j.id = fmt::format("resume:{}:{}", x->run.id, x->run.token);
    j.kind = "run.resume";
    j.due_at = flowNowMs() + d->duration_ms;
    j.conversation = x->entry->key;
    j.payload = {{"run_id", x->run.id},
                 {"token", x->run.token},
                 {"channel", x->entry->channel},
                 {"contact", x->entry->contact}};
    return scheduler_.add({std::move(j)}, false, [x, done](bool stored) {
      if (!stored) {
        x->run.waiting.clear();
        return done(StepOutcome::failed("the delay could not be stored"));
      }
      StepOutcome o;
      o.control = StepOutcome::Control::kSuspend;
      done(std::move(o));
    });
  }

  if (const auto* w = std::get_if<flow::WaitStep>(&step.spec)) {
    if (!need_contact()) {
      return;
    }
    x->run.waiting = "wait";
    x->run.wait_event = w->event;
    return scheduleWaitTimeout(x, step, done);
  }

  if (const auto* sc = std::get_if<flow::ScheduleStep>(&step.spec)) {
    if (!need_contact()) {
      return;
    }
    int64_t due = 0;
    if (sc->after_ms) {
      due = flowNowMs() + *sc->after_ms;
    } else {
      std::string at;
      if (auto e = render(x, sc->at, false, at)) {
        return done(StepOutcome::failed(*e));
      }
      auto civil = flow::parseDateTime(at);
      if (!civil) {
        return done(
            StepOutcome::failed("'" + at + "' is not a date and time like \"2025-08-17 09:00\""));
      }
      std::string error;
      const lua::TimeZone* zone =
          lua::TimeZone::locate(sc->tz.empty() ? config_.flows.time_zone : sc->tz, &error);
      if (zone == nullptr) {
        return done(StepOutcome::failed(error));
      }
      int64_t local = flow::secondsFromCivil(*civil);
      int64_t utc = local - zone->utcOffset(local);
      utc = local - zone->utcOffset(utc);
      due = utc * 1000;
    }
    Json payload = {{"channel", x->entry->channel}, {"contact", x->entry->contact}};
    if (!sc->reply.empty()) {
      std::string text;
      if (auto e = render(x, sc->reply, true, text)) {
        return done(StepOutcome::failed(*e));
      }
      payload["text"] = text;
    } else {
      payload["flow"] = sc->flow;
    }
    Scheduler::Job j;
    j.id = fmt::format("followup:{}:{}", x->run.id, ++x->run.sends);
    j.kind = "flow.followup";
    j.due_at = due;
    j.conversation = x->entry->key;
    j.cancel_on_reply = sc->cancel_on_reply;
    j.payload = std::move(payload);
    if (sc->cancel_on_reply) {
      x->entry->scheduled_cancellable = true;
      x->entry->cancellable_jobs = true;
    }
    std::string id = j.id;
    return scheduler_.add({std::move(j)}, false, [done, id, due](bool stored) {
      done(stored ? StepOutcome::next({{"job", id}, {"due_at", due}})
                  : StepOutcome::failed("the follow-up could not be stored"));
    });
  }

  if (const auto* h = std::get_if<flow::HttpStep>(&step.spec)) {
    ClientRequest req;
    req.method = h->method;
    if (auto e = render(x, h->url, false, req.url)) {
      return done(StepOutcome::failed(*e));
    }
    for (const auto& [name, value] : h->headers) {
      std::string v;
      if (auto e = render(x, value, false, v)) {
        return done(StepOutcome::failed(*e));
      }
      req.headers.emplace_back(name, std::move(v));
    }
    if (!h->body_text.empty()) {
      if (auto e = render(x, h->body_text, false, req.body)) {
        return done(StepOutcome::failed(*e));
      }
    } else if (!h->body.is_null()) {
      Json body;
      if (auto e = renderValue(x, line, h->body, body)) {
        return done(StepOutcome::failed(*e));
      }
      req.body = body.dump(-1, ' ', false, Json::error_handler_t::replace);
      bool has_type = false;
      for (const auto& [name, _] : req.headers) {
        has_type |= lua::normalizeText(name) == "content type";
      }
      if (!has_type) {
        req.headers.emplace_back("Content-Type", "application/json");
      }
    }
    if (step.timeout_ms) {
      req.timeout = std::chrono::milliseconds(*step.timeout_ms);
    }
    std::string method = req.method;
    std::string url = req.url.substr(0, req.url.find('?'));
    services_.http.send(std::move(req), [done, method, url](ClientResponse r) {
      if (!r.ok()) {
        return done(StepOutcome::failed(r.error_message.empty() ? std::string(toString(r.error))
                                                                : r.error_message));
      }
      Json headers = Json::object();
      for (const auto& [name, value] : r.headers) {
        headers[name] = value;
      }
      Json body = json_input::parseOrDiscarded(r.body);
      if (body.is_discarded()) {
        body = r.body;
      }
      Json output = {{"status", r.status}, {"headers", headers}, {"body", body}};
      if (r.status < 200 || r.status > 299) {
        return done(StepOutcome::failed(fmt::format("{} {} answered HTTP {}: {}", method, url,
                                                    r.status, r.body.substr(0, 200))));
      }
      done(StepOutcome::next(std::move(output)));
    });
    return;
  }

  if (const auto* em = std::get_if<flow::EmitStep>(&step.spec)) {
    Json data;
    if (auto e = renderValue(x, line, em->data, data)) {
      return done(StepOutcome::failed(*e));
    }
    if (!data.is_object()) {
      data = Json{{"value", data}};
    }
    if (x->entry != nullptr) {
      data.emplace("channel", x->entry->channel);
      data.emplace("contact", x->entry->contact);
    }
    data.emplace("flow", x->flow->id);
    publish(em->event, x->entry ? x->entry->key : "", data, x->request_id);
    return done(StepOutcome::next(data));
  }

  if (const auto* l = std::get_if<flow::LuaStep>(&step.spec)) {
    Json args;
    if (auto e = renderValue(x, line, l->args, args)) {
      return done(StepOutcome::failed(*e));
    }
    Json list = Json::array();
    if (args.is_array()) {
      list = args;
    } else if (!(args.is_object() && args.empty()) && !args.is_null()) {
      list.push_back(args);  // a mapping arrives as one table: function f(args) ... args.x
    }
    lua::CallResult r = lua(x->set).call(l->function, list, context(*x));
    if (!r.ok()) {
      return done(StepOutcome::failed(r.error->text()));
    }
    if (r.contact.empty() || x->entry == nullptr) {
      return done(StepOutcome::next(std::move(r.value)));
    }
    return updateContact(x->entry, r.contact.set, r.contact.tags_added, r.contact.tags_removed,
                         [done, value = r.value](bool ok, std::string error) {
                           done(ok ? StepOutcome::next(value) : StepOutcome::failed(error));
                         });
  }

  if (const auto* c = std::get_if<flow::CallStep>(&step.spec)) {
    const flow::Flow* target = x->set->find(c->flow);
    if (target == nullptr) {
      return done(StepOutcome::failed("there is no flow '" + c->flow + "'"));
    }
    if (x->run.calls.size() >= 16) {
      return done(StepOutcome::failed("flows call each other more than 16 deep"));
    }
    Json inputs;
    if (auto e = renderValue(x, line, c->with, inputs)) {
      return done(StepOutcome::failed(*e));
    }
    x->run.calls.push_back(
        CallFrame{x->flow->id, x->run.step + 1, x->run.steps, x->run.inputs, step.id});
    x->flow = target;
    x->run.flow = target->id;
    x->run.step = 0;
    x->run.steps = Json::object();
    x->run.inputs = inputs.is_object() ? inputs : Json::object();
    StepOutcome o;
    o.control = StepOutcome::Control::kJumped;
    return done(std::move(o));
  }

  if (const auto* g = std::get_if<flow::GotoStep>(&step.spec)) {
    const flow::Flow* target = x->set->find(g->flow);
    if (target == nullptr) {
      return done(StepOutcome::failed("there is no flow '" + g->flow + "'"));
    }
    x->flow = target;
    x->run.flow = target->id;
    x->run.step = 0;
    x->run.steps = Json::object();
    x->run.inputs = Json::object();
    x->run.calls.clear();
    StepOutcome o;
    o.control = StepOutcome::Control::kJumped;
    return done(std::move(o));
  }

  if (const auto* st = std::get_if<flow::StopStep>(&step.spec)) {
    StepOutcome o;
    o.control = StepOutcome::Control::kStop;
    o.stop_reason = st->reason;
    return done(std::move(o));
  }
  done(StepOutcome::failed("unknown step kind '" + step.kind + "'"));
}

void FlowEngine::Impl::answer(ExecPtr x, StepDone done) {
  const flow::Step& step = x->flow->steps[x->run.step];
  const auto* a = std::get_if<flow::AskStep>(&step.spec);
  if (a == nullptr) {
    return done(StepOutcome::failed("the run waited at a step that is no longer an ask"));
  }
  // A tapped button or list row answers with its id (its title is the message text).
  const std::string reply_id = x->message.value("reply_id", "");
  const std::string text = reply_id.empty() ? x->message.value("text", "") : reply_id;
  Json output;
  std::string problem;
  for (const auto& b : a->buttons) {
    if (!reply_id.empty() && b.id == reply_id) {
      output = {{"answer", reply_id}, {"title", b.title}, {"text", x->message.value("text", "")}};
    }
  }
  if (output.is_null() && a->validate == flow::AnswerKind::kLua && a->rule) {
    lua::RuleContext ctx = context(*x);
    ctx.globals["answer"] = text;
    lua::CallResult r = lua(x->set).evaluate(*a->rule, ctx);
    if (!r.ok()) {
      return done(StepOutcome::failed(r.error->text()));
    }
    if (r.truthy()) {
      output = {{"answer", r.value.is_boolean() ? Json(text) : r.value}, {"text", text}};
    } else {
      problem = "the rule did not accept it";
    }
  } else if (output.is_null()) {
    flow::AnswerRules rules = flow::AnswerRules::fromStep(*a);
    std::string error;
    const lua::TimeZone* zone = lua::TimeZone::locate(config_.flows.time_zone, &error);
    lua::LocalTime today = zone != nullptr ? zone->toLocal(flowNowMs() / 1000) : lua::LocalTime{};
    flow::AnswerCheck check = flow::checkAnswer(
        rules, text,
        std::chrono::year_month_day{std::chrono::year(today.year), std::chrono::month(today.month),
                                    std::chrono::day(today.day)});
    if (check.ok) {
      output = {{"answer", check.value}, {"text", text}};
    } else {
      problem = check.problem;
    }
  }
  if (!output.is_null()) {
    scheduler_.cancel({fmt::format("timeout:{}:{}", x->run.id, x->run.token)}, [](bool) {});
    x->run.waiting.clear();
    x->run.token.clear();
    x->run.attempts = 0;
    if (a->save_as.empty()) {
      return done(StepOutcome::next(std::move(output)));
    }
    Json set = {{a->save_as, output["answer"]}};
    return updateContact(x->entry, set, {}, {}, [done, output](bool ok, std::string error) mutable {
      done(ok ? StepOutcome::next(std::move(output)) : StepOutcome::failed(error));
    });
  }
  ++x->run.attempts;
  if (x->run.attempts > a->retries) {
    x->run.waiting.clear();
    scheduler_.cancel({fmt::format("timeout:{}:{}", x->run.id, x->run.token)}, [](bool) {});
    // An optional question never swallows the customer's next message.
    x->not_an_answer = a->retries == 0;
    return done(StepOutcome::failed(fmt::format("no valid answer after {} tries (last: '{}', {})",
                                                x->run.attempts, text.substr(0, 80), problem)));
  }
  std::string again;
  const flow::Text& reask = a->reask.empty() ? a->question : a->reask;
  if (auto e = render(x, reask, true, again)) {
    return done(StepOutcome::failed(*e));
  }
  auto resend = [x, done](bool ok, std::string id) {
    if (!ok) {
      return done(StepOutcome::failed(id));
    }
    StepOutcome o;
    o.control = StepOutcome::Control::kSuspend;  // same wait, same deadline
    done(std::move(o));
  };
  if (!a->buttons.empty()) {
    flow::ReplyStep r;
    r.buttons = a->buttons;
    return send(
        x, "interactive", again,
        interactivePayload(r, again, "", "").dump(-1, ' ', false, Json::error_handler_t::replace),
        resend);
  }
  send(x, "text", again, "", resend);
}

}  // namespace waflow::core::app
