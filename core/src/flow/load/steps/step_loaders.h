// The step loaders: one per alternative of StepSpec (flow.h), each in its family's file beside
// this one, as the engine's runners are in engine/steps/. An overload of loadSpec per kind,
// told apart by std::type_identity<Kind>: load_step.cpp builds its key -> loader table from the
// variant, so a kind added to StepSpec without a loadSpec here does not compile. Internal to
// the loader.
//
// Thread-safety: the loaders touch only the LoadContext they are given.
#pragma once

#include <string>
#include <type_traits>

#include <yaml-cpp/yaml.h>

#include "flow/flow.h"
#include "flow/load/load_context.h"

namespace waflow::core::flow::load {

// What a step kind's loader reads: `<kind>: <node>` in a step.
struct StepInput {
  const YAML::Node& node;     // the value under the kind's key
  const json& value;          // its typed value (defaults filled, durations in ms)
  const std::string& where;   // "step 'ask_name' (ask)", how messages name the step
  const std::string& anchor;  // "step-ask", the docs section
};

// messaging.cpp
ReplyStep loadSpec(LoadContext& ctx, const StepInput& in, std::type_identity<ReplyStep>);
AskStep loadSpec(LoadContext& ctx, const StepInput& in, std::type_identity<AskStep>);
// ai.cpp
AiStep loadSpec(LoadContext& ctx, const StepInput& in, std::type_identity<AiStep>);
ClassifyStep loadSpec(LoadContext& ctx, const StepInput& in, std::type_identity<ClassifyStep>);
// contact.cpp
SetStep loadSpec(LoadContext& ctx, const StepInput& in, std::type_identity<SetStep>);
TagStep loadSpec(LoadContext& ctx, const StepInput& in, std::type_identity<TagStep>);
UntagStep loadSpec(LoadContext& ctx, const StepInput& in, std::type_identity<UntagStep>);
HandoffStep loadSpec(LoadContext& ctx, const StepInput& in, std::type_identity<HandoffStep>);
ReleaseStep loadSpec(LoadContext& ctx, const StepInput& in, std::type_identity<ReleaseStep>);
// timing.cpp
DelayStep loadSpec(LoadContext& ctx, const StepInput& in, std::type_identity<DelayStep>);
WaitStep loadSpec(LoadContext& ctx, const StepInput& in, std::type_identity<WaitStep>);
ScheduleStep loadSpec(LoadContext& ctx, const StepInput& in, std::type_identity<ScheduleStep>);
// calls.cpp
HttpStep loadSpec(LoadContext& ctx, const StepInput& in, std::type_identity<HttpStep>);
EmitStep loadSpec(LoadContext& ctx, const StepInput& in, std::type_identity<EmitStep>);
LuaStep loadSpec(LoadContext& ctx, const StepInput& in, std::type_identity<LuaStep>);
// control.cpp
CallStep loadSpec(LoadContext& ctx, const StepInput& in, std::type_identity<CallStep>);
GotoStep loadSpec(LoadContext& ctx, const StepInput& in, std::type_identity<GotoStep>);
StopStep loadSpec(LoadContext& ctx, const StepInput& in, std::type_identity<StopStep>);

}  // namespace waflow::core::flow::load
