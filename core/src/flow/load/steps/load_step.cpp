// Loading one step: its kind (exactly one of stepKinds() per step), the options every step may
// have (id, name, if, on_error, timeout, retry), then its kind's loader. The key -> loader table
// is built from the StepSpec variant, one entry per alternative, so it cannot miss a kind or
// hold one the model does not have.
//
// Thread-safety: see loaders.h; the table is built once, on first use (a function-local static).
#include <array>
#include <utility>
#include <variant>

#include "flow/flow_schema.h"
#include "flow/load/loaders.h"
#include "flow/load/steps/step_loaders.h"

namespace waflow::core::flow::load {
namespace {

using SpecLoader = StepSpec (*)(LoadContext& ctx, const StepInput& in);

struct KindLoader {
  std::string_view kind;
  SpecLoader load;
};

// One entry per alternative of StepSpec, in its order; the loadSpec overload of a kind that
// has none is a compile error here.
template <typename... Kinds>
constexpr std::array<KindLoader, sizeof...(Kinds)> loaderTable(
    std::type_identity<std::variant<Kinds...>>) {
  return {{{Kinds::kKind, [](LoadContext& ctx, const StepInput& in) -> StepSpec {
              return loadSpec(ctx, in, std::type_identity<Kinds>{});
            }}...}};
}

constexpr auto kLoaders = loaderTable(std::type_identity<StepSpec>{});

constexpr bool kindsAreUnique() {
  for (size_t i = 0; i < kLoaders.size(); ++i) {
    for (size_t j = i + 1; j < kLoaders.size(); ++j) {
      if (kLoaders[i].kind == kLoaders[j].kind) {
        return false;
      }
    }
  }
  return true;
}
static_assert(kindsAreUnique(), "two alternatives of StepSpec have the same kKind");

StepSpec loadKind(LoadContext& ctx, const std::string& kind, const StepInput& in) {
  for (const KindLoader& entry : kLoaders) {
    if (entry.kind == kind) {
      return entry.load(ctx, in);
    }
  }
  return StopStep{};  // not reached: `kind` is one of stepKinds(), and each has an entry
}

// The kinds `item` has; one is right, and none or several are reported.
std::vector<std::string> kindsOf(LoadContext& ctx, const YAML::Node& item,
                                 const std::string& path) {
  std::vector<std::string> kinds;
  for (const std::string& kind : stepKinds()) {
    if (child(item, kind).IsDefined()) {
      kinds.push_back(kind);
    }
  }
  // A misspelt kind ("replay:") is reported as an unknown key with a suggestion already.
  bool has_unknown_key = false;
  for (auto it = item.begin(); it != item.end(); ++it) {
    has_unknown_key =
        has_unknown_key ||
        (it->first.IsScalar() &&
         !flowSchema()["properties"]["steps"]["items"]["properties"].contains(it->first.Scalar()));
  }
  if (kinds.size() > 1 || (kinds.empty() && !has_unknown_key)) {
    ctx.reportAt(item, "flow-schema",
                 kinds.empty() ? path + ": the step has no kind"
                               : path + ": one step has several kinds: " + joinList(kinds),
                 kinds.empty() ? "add one of: " + joinList(stepKinds())
                               : "split it into one step per kind, each starting with '- '",
                 "steps");
  }
  return kinds;
}

// if, on_error, timeout and retry: what every step may have beside its kind.
void loadStepOptions(LoadContext& ctx, const YAML::Node& item, const json& value,
                     const std::string& where, Step& step) {
  if (value.contains("if") && value["if"].is_string()) {
    step.if_expression = ctx.makeExpression(child(item, "if"), value["if"], where + ", if");
  }
  if (value.contains("on_error") && value["on_error"].is_string()) {
    const std::string on_error = value["on_error"].get<std::string>();
    step.on_error.pos = posOf(child(item, "on_error"));
    if (on_error == "continue") {
      step.on_error.action = OnErrorAction::kContinue;
    } else if (on_error.rfind("goto:", 0) == 0) {
      step.on_error.action = OnErrorAction::kGoto;
      step.on_error.step = on_error.substr(5);
    }
  }
  if (value.contains("timeout") && value["timeout"].is_number_integer()) {
    step.timeout_ms = value["timeout"].get<int64_t>();
  }
  if (value.contains("retry")) {
    const json& retry = value["retry"];
    if (retry.is_number_integer()) {
      step.retry.attempts = retry.get<int>();
    } else if (retry.is_object()) {
      step.retry.attempts = retry.value("attempts", 0);
      step.retry.backoff_ms = retry.value("backoff", int64_t{1000});
    }
  }
}

}  // namespace

const std::vector<std::string>& stepCommonKeys() {
  static const std::vector<std::string> kKeys = {"id",       "name",    "if",
                                                 "on_error", "timeout", "retry"};
  return kKeys;
}

std::vector<std::string_view> stepLoaderKinds() {
  std::vector<std::string_view> kinds;
  for (const KindLoader& entry : kLoaders) {
    kinds.push_back(entry.kind);
  }
  return kinds;
}

Step loadStep(LoadContext& ctx, const YAML::Node& item, size_t index, size_t step_index) {
  const std::string path = "steps[" + std::to_string(index) + "]";
  const std::vector<std::string> kinds = kindsOf(ctx, item, path);
  ctx.enterStep(static_cast<int>(step_index));
  const json value = ctx.convertItem(item, flowSchema()["properties"]["steps"]["items"], path);
  Step step;
  step.pos = posOf(item);
  step.id = str(value, "id");
  step.name = str(value, "name");
  step.kind = kinds.empty() ? "" : kinds.front();
  const std::string where = "step " +
                            (step.id.empty() ? std::to_string(index + 1) : quote(step.id)) +
                            (step.kind.empty() ? "" : " (" + step.kind + ")");
  loadStepOptions(ctx, item, value, where, step);
  if (!step.kind.empty()) {
    ctx.setStepId(step.id);
    const std::string anchor = "step-" + step.kind;
    const json spec_value = value.value(step.kind, json());
    step.spec = loadKind(ctx, step.kind, {child(item, step.kind), spec_value, where, anchor});
  }
  ctx.leaveStep();
  return step;
}

}  // namespace waflow::core::flow::load
