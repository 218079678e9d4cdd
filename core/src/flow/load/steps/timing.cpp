// Loading the timing steps: delay the run, wait for an event, schedule a reply or a flow for later.
//
// Thread-safety: see step_loaders.h.
#include "flow/load/steps/step_loaders.h"
#include "text/names.h"
#include "time/time_check.h"

namespace waflow::core::flow::load {

using time::parseDateTime;

using text::isEventName;

DelayStep loadSpec(LoadContext& ctx, const StepInput& in, std::type_identity<DelayStep>) {
  const auto& [node, value, where, anchor] = in;
  DelayStep step;
  step.duration_ms = value.is_number_integer() ? value.get<int64_t>() : 0;
  if (value.is_number_integer() && step.duration_ms <= 0) {
    ctx.reportAt(node, "flow-value", where + ": must be longer than 0", "", anchor);
  }
  return step;
}

WaitStep loadSpec(LoadContext& ctx, const StepInput& in, std::type_identity<WaitStep>) {
  const auto& [node, value, where, anchor] = in;
  WaitStep step;
  if (value.is_string()) {
    step.event = value.get<std::string>();
    if (!isEventName(step.event)) {
      ctx.reportAt(node, "flow-schema", where + ": " + quote(step.event) + " is not an event name",
                   "use letters, digits and . _ : -, e.g. payment.paid", anchor);
    }
  } else if (value.is_object()) {
    step.event = str(value, "event");
    if (value.contains("match") && value["match"].is_string()) {
      step.match = ctx.makeExpression(child(node, "match"), value["match"], where + ".match");
    }
  }
  return step;
}

ScheduleStep loadSpec(LoadContext& ctx, const StepInput& in, std::type_identity<ScheduleStep>) {
  const auto& [node, value, where, anchor] = in;
  ScheduleStep step;
  if (!value.is_object()) {
    return step;
  }
  if (value.contains("after") && value["after"].is_number_integer()) {
    step.after_ms = value["after"].get<int64_t>();
  }
  if (value.contains("at")) {
    step.at = ctx.makeText(child(node, "at"), value["at"], where + ".at");
  }
  step.tz = str(value, "tz");
  if (value.contains("reply")) {
    step.reply = ctx.makeText(child(node, "reply"), value["reply"], where + ".reply");
  }
  step.flow = str(value, "flow");
  step.cancel_on_reply = value.value("cancel_on_reply", false);
  const bool has_after = child(node, "after").IsDefined();
  const bool has_at = child(node, "at").IsDefined();
  if (has_after == has_at) {
    ctx.reportAt(node.IsMap() ? node : keyNode(node, "after"), "flow-schema",
                 where + (has_after ? ": takes after or at, not both" : ": needs after or at"),
                 "e.g. after: 24h", anchor);
  }
  const bool has_reply = child(node, "reply").IsDefined();
  const bool has_flow = child(node, "flow").IsDefined();
  if (has_reply == has_flow) {
    ctx.reportAt(node, "flow-schema",
                 where + (has_reply ? ": takes reply or flow, not both" : ": needs reply or flow"),
                 "reply: sends a message then; flow: runs a flow then", anchor);
  }
  if (!step.flow.empty()) {
    ctx.referToFlow({step.flow, posOf(child(node, "flow")), where + ".flow", anchor});
  }
  if (!step.tz.empty()) {
    ctx.checkTimeZone(child(node, "tz"), step.tz, "time-zones");
  }
  if (has_at && !step.at.isTemplate()) {
    if (!parseDateTime(step.at.value)) {
      ctx.reportAt(child(node, "at"), "flow-value",
                   where + ".at: " + quote(step.at.value) + " is not a valid date and time",
                   "write YYYY-MM-DD HH:MM, e.g. \"2025-12-24 09:00\"", anchor);
    } else if (step.tz.empty()) {
      ctx.reportAt(child(node, "at"), "flow-value", where + ".at: needs tz",
                   "add tz: Asia/Jakarta (or your time zone)", anchor);
    }
  }
  return step;
}

}  // namespace waflow::core::flow::load
