// What the engine's run loop asks of the steps: run the step a run is at, and the two ways a
// customer's message continues a waiting step (the answer to an ask; one more message of the
// burst an ai step gathers). The loop applies the StepOutcome.
//
// Thread-safety: see StepContext.
#pragma once

#include "engine/exec.h"
#include "engine/steps/step_context.h"
#include "flow/flow.h"

namespace waflow::core::engine::steps {

// Runs `step` with its kind's runner (dispatched over flow::StepSpec).
void runStep(StepContext& ctx, ExecPtr x, const flow::Step& step, StepDone done);
// The message answers the ask the run waits at: checked, saved, or asked again.
void answer(StepContext& ctx, ExecPtr x, StepDone done);
// The message joins the burst the run's ai step gathers; the quiet wait starts over.
void gatherMore(StepContext& ctx, ExecPtr x, StepDone done);

}  // namespace waflow::core::engine::steps
