// The control steps: call another flow and come back, goto another flow, stop the run.
#include "engine/steps/runners.h"

namespace waflow::core::engine::steps {

void run(StepContext& ctx, ExecPtr x, const flow::Step& step, const flow::CallStep& c,
         StepDone done) {
  const int line = step.pos.line;
  const flow::Flow* target = x->set->find(c.flow);
  if (target == nullptr) {
    return done(StepOutcome::failed("there is no flow '" + c.flow + "'"));
  }
  if (x->run.calls.size() >= 16) {
    return done(StepOutcome::failed("flows call each other more than 16 deep"));
  }
  Json inputs;
  if (auto e = ctx.renderValue(x, line, c.with, inputs)) {
    return done(StepOutcome::failed(*e));
  }
  x->run.calls.push_back(
      CallFrame{x->flow->id, x->run.step + 1, x->run.steps, x->run.inputs, step.id});
  x->flow = target;
  x->run.flow = target->id;
  x->run.step = 0;
  x->run.steps = Json::object();
  x->run.inputs = inputs.is_object() ? inputs : Json::object();
  return done(StepOutcome::jumped());
}

void run(StepContext&, ExecPtr x, const flow::Step&, const flow::GotoStep& g, StepDone done) {
  const flow::Flow* target = x->set->find(g.flow);
  if (target == nullptr) {
    return done(StepOutcome::failed("there is no flow '" + g.flow + "'"));
  }
  x->flow = target;
  x->run.flow = target->id;
  x->run.step = 0;
  x->run.steps = Json::object();
  x->run.inputs = Json::object();
  x->run.calls.clear();
  return done(StepOutcome::jumped());
}

void run(StepContext&, ExecPtr, const flow::Step&, const flow::StopStep& st, StepDone done) {
  StepOutcome o;
  o.control = StepOutcome::Control::kStop;
  o.stop_reason = st.reason;
  return done(std::move(o));
}

}  // namespace waflow::core::engine::steps
