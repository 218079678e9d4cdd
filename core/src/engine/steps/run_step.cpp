#include "engine/steps/run_step.h"

#include "engine/steps/runners.h"

namespace waflow::core::engine::steps {

void runStep(StepContext& ctx, ExecPtr x, const flow::Step& step, StepDone done) {
  // One run() overload per alternative of flow::StepSpec: a step kind without one does not compile.
  std::visit([&](const auto& spec) { run(ctx, std::move(x), step, spec, std::move(done)); },
             step.spec);
}

}  // namespace waflow::core::engine::steps
