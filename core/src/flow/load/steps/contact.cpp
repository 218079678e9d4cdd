// Loading the contact steps: set attributes, tag and untag, hand the conversation to a human and
// take it back (release).
//
// Thread-safety: see step_loaders.h.
#include "flow/load/steps/step_loaders.h"
#include "text/names.h"

namespace waflow::core::flow::load {

using text::isIdentifier;

SetStep loadSpec(LoadContext& ctx, const StepInput& in, std::type_identity<SetStep>) {
  const auto& [node, value, where, anchor] = in;
  SetStep step;
  if (value.is_object()) {
    for (auto it = node.begin(); node.IsMap() && it != node.end(); ++it) {
      const std::string name = it->first.Scalar();
      if (!value.contains(name)) {
        continue;
      }
      Assignment assignment;
      assignment.attribute = name;
      assignment.value = value[name];
      if (value[name].is_string()) {
        assignment.text = ctx.makeText(it->second, value[name], where + "." + name);
      }
      if (!isIdentifier(name)) {
        ctx.reportAt(it->first, "flow-value",
                     where + ": " + quote(name) + " is not a valid attribute name",
                     "use letters, digits and '_', starting with a letter", anchor);
      }
      step.values.push_back(std::move(assignment));
    }
  }
  if (!node.IsMap() || node.size() == 0) {
    ctx.reportAt(node, "flow-value", where + ": has nothing to set", "e.g. set: { city: Bandung }",
                 anchor);
  }
  return step;
}

TagStep loadSpec(LoadContext& /*ctx*/, const StepInput& in, std::type_identity<TagStep>) {
  return TagStep{stringList(in.value)};
}

UntagStep loadSpec(LoadContext& /*ctx*/, const StepInput& in, std::type_identity<UntagStep>) {
  return UntagStep{stringList(in.value)};
}

HandoffStep loadSpec(LoadContext& ctx, const StepInput& in, std::type_identity<HandoffStep>) {
  const auto& [node, value, where, anchor] = in;
  HandoffStep step;
  if (value.is_string()) {
    step.note = ctx.makeText(node, value, where);
  } else if (value.is_object()) {
    if (value.contains("note")) {
      step.note = ctx.makeText(child(node, "note"), value["note"], where + ".note");
    }
    step.team = str(value, "team");
    if (value.contains("release_after") && value["release_after"].is_number_integer()) {
      step.release_after_ms = value["release_after"].get<int64_t>();
    }
  }
  return step;
}

ReleaseStep loadSpec(LoadContext& ctx, const StepInput& in, std::type_identity<ReleaseStep>) {
  const auto& [node, value, where, anchor] = in;
  ReleaseStep step;
  if (value.is_object() && value.contains("note")) {
    step.note = ctx.makeText(child(node, "note"), value["note"], where + ".note");
  }
  return step;
}

}  // namespace waflow::core::flow::load
