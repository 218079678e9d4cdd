// The parts of the flow loader and what each one offers the others: one flow file is read by
// loadFile (load_file.cpp), which hands its triggers, conditions and steps to their parts
// (triggers.cpp, conditions.cpp, steps/load_step.cpp) and checks what refers to what within the
// flow (references.cpp); loadFlowSources (flow_loader.cpp) then checks references between flows.
// Internal to the loader.
//
// Thread-safety: the functions touch only what they are given.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "diag/diagnostic.h"
#include "flow/flow.h"
#include "flow/flow_loader.h"
#include "flow/load/load_context.h"

namespace waflow::core::flow::load {

// ---- load_file.cpp ---------------------------------------------------------------------------

// One file: its flow (nullopt when it has none: empty, not YAML, not a mapping) and the
// references it makes to other flows. Adds the file's diagnostics to `out` and the ${...}
// values the logger must redact to `secrets`.
struct LoadedFile {
  std::optional<Flow> flow;
  std::vector<FlowRef> flow_refs;
};
LoadedFile loadFile(const FlowSource& source, const FlowLoadOptions& options,
                    diag::DiagnosticList& out, std::vector<std::string>& secrets);

// ---- triggers.cpp ----------------------------------------------------------------------------

// triggers[index]; nullopt when it has no usable `on:` (the schema check reported it).
std::optional<Trigger> loadTrigger(LoadContext& ctx, const YAML::Node& item, size_t index);

// ---- conditions.cpp --------------------------------------------------------------------------

// The condition kinds, in the order messages list them: "keywords", ..., "lua".
const std::vector<std::string>& conditionKinds();
// conditions[index]; nullopt when it is not a mapping or has no kind.
std::optional<Condition> loadCondition(LoadContext& ctx, const YAML::Node& item, size_t index);

// ---- steps/load_step.cpp ---------------------------------------------------------------------

// The keys every step may have beside its kind: id, name, if, on_error, timeout, retry.
const std::vector<std::string>& stepCommonKeys();
// steps[index] (a mapping), which becomes flow.steps[step_index].
Step loadStep(LoadContext& ctx, const YAML::Node& item, size_t index, size_t step_index);
// The kinds the step loader table holds, in its order: StepSpec's kinds, each once (a test
// compares them with stepKinds()).
std::vector<std::string_view> stepLoaderKinds();

// ---- references.cpp --------------------------------------------------------------------------

// Within one flow: duplicate step ids, on_error goto: targets, steps.<id> read by Lua snippets
// (flow.snippets, placed by ctx.snippetSteps()), steps after a stop or goto that never run.
// `step_nodes` are the YAML items of flow.steps, index for index.
void checkSteps(LoadContext& ctx, const Flow& flow, const std::vector<YAML::Node>& step_nodes);

// Between flows: duplicate flow ids, and each file's references (refs[i] belongs to flows[i])
// to flows not defined or to the flow itself.
void checkFlowReferences(const std::vector<Flow>& flows,
                         const std::vector<std::vector<FlowRef>>& refs,
                         const FlowLoadOptions& options, diag::DiagnosticList& out);

}  // namespace waflow::core::flow::load
