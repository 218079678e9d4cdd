// The timing steps: delay the run, wait for an event, schedule a flow for later.
#include "engine/steps/runners.h"

#include "engine/basics.h"
#include "time/civil_time.h"
#include "time/time_check.h"
#include "time/time_zone.h"

#include <fmt/format.h>

namespace waflow::core::engine::steps {

void run(StepContext& ctx, ExecPtr x, const flow::Step& step, const flow::DelayStep& d,
         StepDone done) {
  if (!needsContact(x, step, done)) {
    return;
  }
  ctx.scheduleResume(x, "delay", flowNowMs() + d.duration_ms, "delay", std::move(done));
}

void run(StepContext& ctx, ExecPtr x, const flow::Step& step, const flow::WaitStep& w,
         StepDone done) {
  if (!needsContact(x, step, done)) {
    return;
  }
  x->run.waiting = "wait";
  x->run.wait_event = w.event;
  return ctx.scheduleWaitTimeout(x, step, done);
}

void run(StepContext& ctx, ExecPtr x, const flow::Step& step, const flow::ScheduleStep& sc,
         StepDone done) {
  if (!needsContact(x, step, done)) {
    return;
  }
  int64_t due = 0;
  if (sc.after_ms) {
    due = flowNowMs() + *sc.after_ms;
  } else {
    std::string at;
    if (auto e = ctx.render(x, sc.at, false, at)) {
      return done(StepOutcome::failed(*e));
    }
    auto civil = time::parseDateTime(at);
    if (!civil) {
      return done(
          StepOutcome::failed("'" + at + "' is not a date and time like \"2025-08-17 09:00\""));
    }
    std::string error;
    const time::TimeZone* zone =
        time::TimeZone::locate(sc.tz.empty() ? ctx.flowsConfig().time_zone : sc.tz, &error);
    if (zone == nullptr) {
      return done(StepOutcome::failed(error));
    }
    int64_t local = time::secondsFromCivil(*civil);
    int64_t utc = local - zone->utcOffset(local);
    utc = local - zone->utcOffset(utc);
    due = utc * 1000;
  }
  Json payload = {{"channel", x->entry->channel}, {"contact", x->entry->contact}};
  if (!sc.reply.empty()) {
    std::string text;
    if (auto e = ctx.render(x, sc.reply, true, text)) {
      return done(StepOutcome::failed(*e));
    }
    payload["text"] = text;
  } else {
    payload["flow"] = sc.flow;
  }
  Scheduler::Job j;
  j.id = fmt::format("followup:{}:{}", x->run.id, ++x->run.sends);
  j.kind = "flow.followup";
  j.due_at = due;
  j.conversation = x->entry->key;
  j.cancel_on_reply = sc.cancel_on_reply;
  j.payload = std::move(payload);
  if (sc.cancel_on_reply) {
    x->entry->scheduled_cancellable = true;
    x->entry->cancellable_jobs = true;
  }
  std::string id = j.id;
  return ctx.scheduler().add({std::move(j)}, false, [done, id, due](bool stored) {
    done(stored ? StepOutcome::next({{"job", id}, {"due_at", due}})
                : StepOutcome::failed("the follow-up could not be stored"));
  });
}

}  // namespace waflow::core::engine::steps
