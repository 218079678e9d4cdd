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

namespace {

// Sends an ask's question (with its buttons, if any).
void sendQuestion(StepContext& ctx, const ExecPtr& x, const flow::AskStep& a,
                  const std::string& question, std::function<void(bool, std::string)> sent) {
  if (a.buttons.empty()) {
    return ctx.send(x, "text", question, "", std::move(sent));
  }
  flow::ReplyStep r;
  r.buttons = a.buttons;
  ctx.send(
      x, "interactive", question,
      interactivePayload(r, question, "", "").dump(-1, ' ', false, Json::error_handler_t::replace),
      std::move(sent));
}

// What the customer's message says as an answer to `a`: the output when it answers, else
// why not (`problem`), or the rule's error.
struct Checked {
  Json output;  // null when it does not answer
  std::string problem;
  std::optional<std::string> error;
};

Checked checkAnswer(StepContext& ctx, const ExecPtr& x, const flow::AskStep& a,
                    const std::string& text, const std::string& reply_id) {
  for (const auto& b : a.buttons) {
    if (!reply_id.empty() && b.id == reply_id) {
      return {{{"answer", reply_id}, {"title", b.title}, {"text", x->message.value("text", "")}},
              {},
              std::nullopt};
    }
  }
  if (a.validate == flow::AnswerKind::kLua && a.rule) {
    lua::RuleContext rules = ruleContext(*x);
    rules.globals["answer"] = text;
    lua::CallResult r = ctx.lua(x->set).evaluate(*a.rule, rules);
    if (!r.ok()) {
      return {nullptr, {}, r.error->text()};
    }
    if (!r.truthy()) {
      return {nullptr, "the rule did not accept it", std::nullopt};
    }
    return {{{"answer", r.value.is_boolean() ? Json(text) : r.value}, {"text", text}},
            {},
            std::nullopt};
  }
  std::string error;
  const time::TimeZone* zone = time::TimeZone::locate(ctx.flowsConfig().time_zone, &error);
  time::LocalTime today = zone != nullptr ? zone->toLocal(flowNowMs() / 1000) : time::LocalTime{};
  flow::AnswerCheck check = flow::checkAnswer(
      flow::AnswerRules::fromStep(a), text,
      std::chrono::year_month_day{std::chrono::year(today.year), std::chrono::month(today.month),
                                  std::chrono::day(today.day)});
  if (!check.ok) {
    return {nullptr, check.problem, std::nullopt};
  }
  return {{{"answer", check.value}, {"text", text}}, {}, std::nullopt};
}

void endWait(StepContext& ctx, const ExecPtr& x) {
  ctx.scheduler().cancel({fmt::format("timeout:{}:{}", x->run.id, x->run.token)}, [](bool) {});
  x->run.waiting.clear();
}

// The answer is accepted: the wait ends and the answer is saved on the contact (save_as).
void acceptAnswer(StepContext& ctx, const ExecPtr& x, const flow::AskStep& a, Json output,
                  StepDone done) {
  endWait(ctx, x);
  x->run.token.clear();
  x->run.attempts = 0;
  if (a.save_as.empty()) {
    return done(StepOutcome::next(std::move(output)));
  }
  Json set = {{a.save_as, output["answer"]}};
  ctx.updateContact(x->entry, set, {}, {}, [done, output](bool ok, std::string error) mutable {
    done(ok ? StepOutcome::next(std::move(output)) : StepOutcome::failed(error));
  });
}

// Not an answer: asked again (same wait, same deadline), or, after the step's retries, the
// step fails naming the last try.
void askAgainOrGiveUp(StepContext& ctx, const ExecPtr& x, const flow::AskStep& a,
                      const std::string& text, const std::string& problem, StepDone done) {
  ++x->run.attempts;
  if (x->run.attempts > a.retries) {
    endWait(ctx, x);
    // An optional question never swallows the customer's next message.
    x->not_an_answer = a.retries == 0;
    return done(StepOutcome::failed(fmt::format("no valid answer after {} tries (last: '{}', {})",
                                                x->run.attempts, text.substr(0, 80), problem)));
  }
  std::string again;
  if (auto e = ctx.render(x, a.reask.empty() ? a.question : a.reask, true, again)) {
    return done(StepOutcome::failed(*e));
  }
  sendQuestion(ctx, x, a, again, [done](bool ok, std::string id) {
    done(ok ? StepOutcome::suspended() : StepOutcome::failed(id));
  });
}

}  // namespace

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
  sendQuestion(ctx, x, a, question, [&ctx, x, step_ptr = &step, done](bool ok, std::string id) {
    if (!ok) {
      x->run.waiting.clear();
      return done(StepOutcome::failed(id));
    }
    ctx.scheduleWaitTimeout(x, *step_ptr, done);
  });
}

void answer(StepContext& ctx, ExecPtr x, StepDone done) {
  const auto* a = std::get_if<flow::AskStep>(&x->flow->steps[x->run.step].spec);
  if (a == nullptr) {
    return done(StepOutcome::failed("the run waited at a step that is no longer an ask"));
  }
  // A tapped button or list row answers with its id (its title is the message text).
  const std::string reply_id = x->message.value("reply_id", "");
  const std::string text = reply_id.empty() ? x->message.value("text", "") : reply_id;
  Checked checked = checkAnswer(ctx, x, *a, text, reply_id);
  if (checked.error) {
    return done(StepOutcome::failed(*checked.error));
  }
  if (!checked.output.is_null()) {
    return acceptAnswer(ctx, x, *a, std::move(checked.output), std::move(done));
  }
  askAgainOrGiveUp(ctx, x, *a, text, checked.problem, std::move(done));
}

}  // namespace waflow::core::engine::steps
