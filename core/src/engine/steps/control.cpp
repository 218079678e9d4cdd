// The control steps: call another flow and come back, goto another flow, stop the run.
#include "delivery/events.h"
#include "engine/flow_engine_impl.h"
#include "engine/reply_message.h"
#include "flow/answer/answer.h"
#include "flow/spintax.h"
#include "json/bounded_parse.h"
#include "log/log.h"
#include "storage/storage_client.h"
#include "time/time_zone.h"

#include <fmt/format.h>

#include <random>
#include <tuple>

namespace waflow::core::engine {

void FlowEngine::Impl::run(ExecPtr x, const flow::Step& step, const flow::CallStep& c,
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
  if (auto e = renderValue(x, line, c.with, inputs)) {
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

void FlowEngine::Impl::run(ExecPtr x, const flow::Step&, const flow::GotoStep& g, StepDone done) {
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
  StepOutcome o;
  o.control = StepOutcome::Control::kJumped;
  return done(std::move(o));
}

void FlowEngine::Impl::run(ExecPtr, const flow::Step&, const flow::StopStep& st, StepDone done) {
  StepOutcome o;
  o.control = StepOutcome::Control::kStop;
  o.stop_reason = st.reason;
  return done(std::move(o));
}

}  // namespace waflow::core::engine
