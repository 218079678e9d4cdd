// The step runners: one run() per alternative of flow::StepSpec, each in its family's file
// beside this header (messaging, contact, timing, calls, control, ai/). A runner does its step
// with what the StepContext offers and ends it through `done` exactly once, on any thread.
//
// Thread-safety: see StepContext.
#pragma once

#include "engine/basics.h"
#include "engine/exec.h"
#include "engine/steps/step_context.h"
#include "flow/flow.h"

namespace waflow::core::engine::steps {

// messaging.cpp
void run(StepContext& ctx, ExecPtr x, const flow::Step& step, const flow::ReplyStep& r,
         StepDone done);
void run(StepContext& ctx, ExecPtr x, const flow::Step& step, const flow::AskStep& a,
         StepDone done);
// contact.cpp
void run(StepContext& ctx, ExecPtr x, const flow::Step& step, const flow::SetStep& s,
         StepDone done);
void run(StepContext& ctx, ExecPtr x, const flow::Step& step, const flow::TagStep& t,
         StepDone done);
void run(StepContext& ctx, ExecPtr x, const flow::Step& step, const flow::UntagStep& u,
         StepDone done);
void run(StepContext& ctx, ExecPtr x, const flow::Step& step, const flow::HandoffStep& h,
         StepDone done);
void run(StepContext& ctx, ExecPtr x, const flow::Step& step, const flow::ReleaseStep& r,
         StepDone done);
// timing.cpp
void run(StepContext& ctx, ExecPtr x, const flow::Step& step, const flow::DelayStep& d,
         StepDone done);
void run(StepContext& ctx, ExecPtr x, const flow::Step& step, const flow::WaitStep& w,
         StepDone done);
void run(StepContext& ctx, ExecPtr x, const flow::Step& step, const flow::ScheduleStep& s,
         StepDone done);
// calls.cpp
void run(StepContext& ctx, ExecPtr x, const flow::Step& step, const flow::HttpStep& h,
         StepDone done);
void run(StepContext& ctx, ExecPtr x, const flow::Step& step, const flow::EmitStep& e,
         StepDone done);
void run(StepContext& ctx, ExecPtr x, const flow::Step& step, const flow::LuaStep& l,
         StepDone done);
// control.cpp
void run(StepContext& ctx, ExecPtr x, const flow::Step& step, const flow::CallStep& c,
         StepDone done);
void run(StepContext& ctx, ExecPtr x, const flow::Step& step, const flow::GotoStep& g,
         StepDone done);
void run(StepContext& ctx, ExecPtr x, const flow::Step& step, const flow::StopStep& s,
         StepDone done);
// ai/ai_step.cpp, ai/classify_step.cpp
void run(StepContext& ctx, ExecPtr x, const flow::Step& step, const flow::AiStep& a, StepDone done);
void run(StepContext& ctx, ExecPtr x, const flow::Step& step, const flow::ClassifyStep& c,
         StepDone done);

}  // namespace waflow::core::engine::steps
