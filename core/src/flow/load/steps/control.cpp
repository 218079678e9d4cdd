// Loading the control steps: call another flow and come back, goto another flow, stop the run.
//
// Thread-safety: see step_loaders.h.
#include "flow/load/steps/step_loaders.h"

namespace waflow::core::flow::load {

CallStep loadSpec(LoadContext& ctx, const StepInput& in, std::type_identity<CallStep>) {
  const auto& [node, value, where, anchor] = in;
  CallStep step;
  YAML::Node flow_node = node;
  if (value.is_string()) {
    step.flow = value.get<std::string>();
  } else if (value.is_object()) {
    step.flow = str(value, "flow");
    flow_node = child(node, "flow");
    if (value.contains("with")) {
      step.with = value["with"];
      ctx.collectTemplates(child(node, "with"), step.with, where + ".with");
    }
  }
  if (!step.flow.empty()) {
    ctx.referToFlow({step.flow, posOf(flow_node), where, anchor});
  }
  return step;
}

GotoStep loadSpec(LoadContext& ctx, const StepInput& in, std::type_identity<GotoStep>) {
  const auto& [node, value, where, anchor] = in;
  GotoStep step{value.is_string() ? value.get<std::string>() : ""};
  if (!step.flow.empty()) {
    ctx.referToFlow({step.flow, posOf(node), where, anchor});
  }
  return step;
}

StopStep loadSpec(LoadContext& /*ctx*/, const StepInput& in, std::type_identity<StopStep>) {
  StopStep step;
  if (in.value.is_string()) {
    step.reason = in.value.get<std::string>();
  } else {
    step.reason = str(in.value, "reason");
  }
  return step;
}

}  // namespace waflow::core::flow::load
