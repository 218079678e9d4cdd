// The messaging steps: reply (text, media, buttons, lists, templates) and ask (a question whose
// answer the run waits for, checked by answer()).
#include "engine/steps/run_step.h"
#include "engine/steps/runners.h"

#include "engine/basics.h"
#include "engine/reply_message.h"
#include "flow/answer/answer.h"
#include "time/time_zone.h"

#include <fmt/format.h>

#include <tuple>

namespace waflow::core::engine::steps {

void run(StepContext& ctx, ExecPtr x, const flow::Step&, const flow::ReplyStep& r, StepDone done) {
  auto sent = [done](bool ok, std::string id) {
    done(ok ? StepOutcome::next({{"id", id}}) : StepOutcome::failed(id));
  };
  if (auto fixed = x->set->fixed_replies.find(&r); fixed != x->set->fixed_replies.end()) {
    const OutgoingReply& m = fixed->second;  // built when the flows loaded
    return ctx.send(x, m.type, m.text, m.payload_json, sent);
  }
  ReplyTexts t;
  for (const auto& [from, to, spin] :
       {std::tuple{&r.text, &t.text, true}, std::tuple{&r.header, &t.header, true},
        std::tuple{&r.footer, &t.footer, true}}) {
    if (auto e = ctx.render(x, *from, spin, *to)) {
      return done(StepOutcome::failed(*e));
    }
  }
  if (r.media) {
    if (auto e = ctx.render(x, r.media->url, false, t.url)) {
      return done(StepOutcome::failed(*e));
    }
    if (auto e = ctx.render(x, r.media->caption, true, t.caption)) {
      return done(StepOutcome::failed(*e));
    }
  }
  if (r.template_message) {
    for (const auto& p : r.template_message->params) {
      if (auto e = ctx.render(x, p, false, t.params.emplace_back())) {
        return done(StepOutcome::failed(*e));
      }
    }
  }
  OutgoingReply m = buildReply(r, t);
  return ctx.send(x, std::move(m.type), std::move(m.text), std::move(m.payload_json), sent);
}

void run(StepContext& ctx, ExecPtr x, const flow::Step& step, const flow::AskStep& a,
         StepDone done) {
  if (!needsContact(x, step, done)) {
    return;
  }
  std::string question;
  if (auto e = ctx.render(x, a.question, true, question)) {
    return done(StepOutcome::failed(*e));
  }
  x->run.waiting = "ask";
  x->run.attempts = 0;
  auto asked = [&ctx, x, step_ptr = &step, done](bool ok, std::string id) {
    if (!ok) {
      x->run.waiting.clear();
      return done(StepOutcome::failed(id));
    }
    ctx.scheduleWaitTimeout(x, *step_ptr, done);
  };
  if (!a.buttons.empty()) {
    flow::ReplyStep r;
    r.buttons = a.buttons;
    return ctx.send(x, "interactive", question,
                    interactivePayload(r, question, "", "")
                        .dump(-1, ' ', false, Json::error_handler_t::replace),
                    asked);
  }
  return ctx.send(x, "text", question, "", asked);
}

void answer(StepContext& ctx, ExecPtr x, StepDone done) {
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
    lua::RuleContext rules = ruleContext(*x);
    rules.globals["answer"] = text;
    lua::CallResult r = ctx.lua(x->set).evaluate(*a->rule, rules);
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
    const time::TimeZone* zone = time::TimeZone::locate(ctx.flowsConfig().time_zone, &error);
    time::LocalTime today = zone != nullptr ? zone->toLocal(flowNowMs() / 1000) : time::LocalTime{};
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
    ctx.scheduler().cancel({fmt::format("timeout:{}:{}", x->run.id, x->run.token)}, [](bool) {});
    x->run.waiting.clear();
    x->run.token.clear();
    x->run.attempts = 0;
    if (a->save_as.empty()) {
      return done(StepOutcome::next(std::move(output)));
    }
    Json set = {{a->save_as, output["answer"]}};
    return ctx.updateContact(
        x->entry, set, {}, {}, [done, output](bool ok, std::string error) mutable {
          done(ok ? StepOutcome::next(std::move(output)) : StepOutcome::failed(error));
        });
  }
  ++x->run.attempts;
  if (x->run.attempts > a->retries) {
    x->run.waiting.clear();
    ctx.scheduler().cancel({fmt::format("timeout:{}:{}", x->run.id, x->run.token)}, [](bool) {});
    // An optional question never swallows the customer's next message.
    x->not_an_answer = a->retries == 0;
    return done(StepOutcome::failed(fmt::format("no valid answer after {} tries (last: '{}', {})",
                                                x->run.attempts, text.substr(0, 80), problem)));
  }
  std::string again;
  const flow::Text& reask = a->reask.empty() ? a->question : a->reask;
  if (auto e = ctx.render(x, reask, true, again)) {
    return done(StepOutcome::failed(*e));
  }
  auto resend = [x, done](bool ok, std::string id) {
    if (!ok) {
      return done(StepOutcome::failed(id));
    }
    done(StepOutcome::suspended());  // same wait, same deadline
  };
  if (!a->buttons.empty()) {
    flow::ReplyStep r;
    r.buttons = a->buttons;
    return ctx.send(
        x, "interactive", again,
        interactivePayload(r, again, "", "").dump(-1, ' ', false, Json::error_handler_t::replace),
        resend);
  }
  ctx.send(x, "text", again, "", resend);
}

}  // namespace waflow::core::engine::steps
