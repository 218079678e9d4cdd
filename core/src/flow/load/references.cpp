// What refers to what: within a flow, step ids (unique), on_error goto: targets, steps.<id> read
// by Lua snippets (defined, and run before the code that reads them) and steps that never run
// after a stop or goto; between flows, flow ids (unique) and the flows that call, goto,
// schedule flow: and conversation in_flow name.
//
// Thread-safety: see loaders.h.
#include <map>

#include "flow/load/loaders.h"
#include "flow/template_text.h"

namespace waflow::core::flow::load {
namespace {

// Step ids used twice are reported; returns each id and the index of its first step.
std::map<std::string, size_t> checkStepIds(LoadContext& ctx, const Flow& flow,
                                           const std::vector<YAML::Node>& step_nodes) {
  std::map<std::string, size_t> first;
  for (size_t i = 0; i < flow.steps.size(); ++i) {
    const Step& step = flow.steps[i];
    if (step.id.empty()) {
      continue;
    }
    auto [it, inserted] = first.emplace(step.id, i);
    if (!inserted) {
      ctx.reportAt(child(step_nodes[i], "id"), "flow-ids",
                   "step id " + quote(step.id) + " is used twice in flow " + quote(flow.id),
                   "the first is at line " + std::to_string(flow.steps[it->second].pos.line) +
                       "; give each step its own id",
                   "step-options");
    }
  }
  return first;
}

// on_error: goto:<step>, to a step of the flow other than itself; returns the targets.
std::set<std::string> checkOnErrorTargets(LoadContext& ctx, const Flow& flow,
                                          const std::vector<YAML::Node>& step_nodes,
                                          const std::set<std::string>& ids) {
  std::set<std::string> goto_targets;
  for (size_t i = 0; i < flow.steps.size(); ++i) {
    const Step& step = flow.steps[i];
    if (step.on_error.action != OnErrorAction::kGoto) {
      continue;
    }
    goto_targets.insert(step.on_error.step);
    const YAML::Node node = child(step_nodes[i], "on_error");
    if (ids.count(step.on_error.step) == 0) {
      ctx.reportAt(node, "flow-refs",
                   "step " + step.label(i) + ": on_error goes to step " +
                       quote(step.on_error.step) + ", which is not defined",
                   didYouMean(step.on_error.step, ids), "step-options");
    } else if (step.on_error.step == step.id) {
      ctx.reportAt(node, "flow-refs",
                   "step " + step.label(i) + ": on_error goes to the step itself",
                   "use retry: to try a step again", "step-options");
    }
  }
  return goto_targets;
}

// The position of the reference at `offset` inside the snippet.
Position positionIn(const LuaSnippet& snippet, size_t offset) {
  Position pos{snippet.line, snippet.column};
  for (size_t c = 0; c < offset && c < snippet.code.size(); ++c) {
    if (snippet.code[c] == '\n') {
      ++pos.line;
      pos.column = 1;
    } else {
      ++pos.column;
    }
  }
  return pos;
}

// steps.<id> in Lua: defined, and run before the code that reads it.
void checkStepReferences(LoadContext& ctx, const Flow& flow,
                         const std::map<std::string, size_t>& first,
                         const std::set<std::string>& ids) {
  for (size_t s = 0; s < flow.snippets.size(); ++s) {
    const LuaSnippet& snippet = flow.snippets[s];
    const int at_step = ctx.snippetSteps()[s];
    for (const StepReference& ref : stepReferences(snippet.code)) {
      const Position pos = positionIn(snippet, ref.offset);
      const int length = static_cast<int>(ref.length);
      auto it = first.find(ref.step);
      if (it == first.end()) {
        ctx.report(
            pos, "flow-refs",
            snippet.where + ": steps." + ref.step + " is not a step of flow " + quote(flow.id),
            didYouMean(ref.step, ids), "templates", diag::Severity::kError, length);
      } else if (at_step < 0) {
        ctx.report(pos, "flow-refs",
                   snippet.where + ": steps." + ref.step + " is read before any step has run",
                   "triggers and conditions are checked before the steps", "templates",
                   diag::Severity::kError, length);
      } else if (static_cast<int>(it->second) >= at_step) {
        ctx.report(pos, "flow-refs",
                   snippet.where + ": steps." + ref.step +
                       (static_cast<int>(it->second) == at_step ? " is the step itself"
                                                                : " runs later in the flow"),
                   "a step can only read the output of steps above it", "templates",
                   diag::Severity::kError, length);
      }
    }
  }
}

// Steps after an unconditional stop or goto never run, unless an on_error jumps to them.
void checkUnreachable(LoadContext& ctx, const Flow& flow,
                      const std::set<std::string>& goto_targets) {
  for (size_t i = 0; i + 1 < flow.steps.size(); ++i) {
    const Step& step = flow.steps[i];
    if ((step.kind == "stop" || step.kind == "goto") && !step.if_expression) {
      const Step& next = flow.steps[i + 1];
      if (next.id.empty() || goto_targets.count(next.id) == 0) {
        ctx.report(next.pos, "flow-unreachable",
                   "step " + next.label(i + 1) + " never runs: the " + step.kind +
                       " step before it always ends the flow",
                   "remove it, or give the " + step.kind + " step an if:", "steps",
                   diag::Severity::kWarning);
      }
    }
  }
}

// Flow ids are global: the second definition is the one reported. Returns the ids.
std::set<std::string> checkFlowIds(const std::vector<Flow>& flows, const FlowLoadOptions& options,
                                   diag::DiagnosticList& out) {
  std::map<std::string, const Flow*> by_id;
  std::set<std::string> ids;
  for (const Flow& flow : flows) {
    if (flow.id.empty()) {
      continue;
    }
    auto [it, inserted] = by_id.emplace(flow.id, &flow);
    if (!inserted) {
      out.add(flow.file, flow.pos.line, flow.pos.column, "flow-ids",
              "flow id " + quote(flow.id) + " is already used by " + it->second->file + ":" +
                  std::to_string(it->second->pos.line),
              "give each flow its own id; see " + options.docs_page + "#flow-file");
    }
    ids.insert(flow.id);
  }
  return ids;
}

}  // namespace

void checkSteps(LoadContext& ctx, const Flow& flow, const std::vector<YAML::Node>& step_nodes) {
  const std::map<std::string, size_t> first = checkStepIds(ctx, flow, step_nodes);
  std::set<std::string> ids;
  for (const auto& [id, unused] : first) {
    ids.insert(id);
  }
  const std::set<std::string> goto_targets = checkOnErrorTargets(ctx, flow, step_nodes, ids);
  checkStepReferences(ctx, flow, first, ids);
  checkUnreachable(ctx, flow, goto_targets);
}

void checkFlowReferences(const std::vector<Flow>& flows,
                         const std::vector<std::vector<FlowRef>>& refs,
                         const FlowLoadOptions& options, diag::DiagnosticList& out) {
  const std::set<std::string> ids = checkFlowIds(flows, options, out);
  for (size_t f = 0; f < refs.size(); ++f) {
    const Flow& flow = flows[f];
    for (const FlowRef& ref : refs[f]) {
      if (ids.count(ref.flow) > 0) {
        if (ref.flow == flow.id && (ref.anchor == "step-call" || ref.anchor == "step-goto")) {
          out.add(flow.file, ref.pos.line, ref.pos.column, "flow-refs",
                  ref.what + ": flow " + quote(flow.id) + " calls itself, which never ends",
                  "see " + options.docs_page + "#" + ref.anchor);
        }
        continue;
      }
      std::string hint = didYouMean(ref.flow, ids);
      const std::string link = "see " + options.docs_page + "#" + ref.anchor;
      out.add(flow.file, ref.pos.line, ref.pos.column, "flow-refs",
              ref.what + ": flow " + quote(ref.flow) + " is not defined",
              hint.empty() ? link : hint + "; " + link);
    }
  }
}

}  // namespace waflow::core::flow::load
