#include "flow/flow.h"

namespace waflow::core::flow {

std::vector<ClassifyField> defaultClassifyFields() {
  return {
      {"sentiment", "string", {"positive", "neutral", "negative"}, "how the customer feels"},
      {"lead",
       "string",
       {"hot", "warm", "cold"},
       "hot: ready to buy now; warm: interested, not decided; cold: no buying interest"},
      {"intent", "string", {}, "what the customer wants, in a few words"},
      {"product", "string", {}, "the product or service they are interested in, \"\" if none"},
  };
}

std::string_view modeName(Mode mode) {
  switch (mode) {
    case Mode::kSingle:
      return "single";
    case Mode::kRestart:
      return "restart";
    case Mode::kQueued:
      return "queued";
    case Mode::kParallel:
      return "parallel";
  }
  return "single";
}

std::string_view answerKindName(AnswerKind kind) {
  switch (kind) {
    case AnswerKind::kText:
      return "text";
    case AnswerKind::kName:
      return "name";
    case AnswerKind::kNumber:
      return "number";
    case AnswerKind::kDate:
      return "date";
    case AnswerKind::kEmail:
      return "email";
    case AnswerKind::kPhone:
      return "phone";
    case AnswerKind::kRegex:
      return "regex";
    case AnswerKind::kLua:
      return "lua";
  }
  return "text";
}

namespace {

template <typename... Kinds>
std::vector<std::string> kindNames(const std::variant<Kinds...>*) {
  return {std::string(Kinds::kKind)...};
}

}  // namespace

const std::vector<std::string>& stepKinds() {
  static const std::vector<std::string> kKinds = kindNames(static_cast<const StepSpec*>(nullptr));
  return kKinds;
}

std::string_view stepKindOf(const StepSpec& spec) {
  return std::visit([](const auto& kind) { return std::decay_t<decltype(kind)>::kKind; }, spec);
}

std::string Step::label(size_t index) const {
  if (!id.empty()) {
    return "'" + id + "'";
  }
  return "#" + std::to_string(index + 1) + " (" + kind + ")";
}

const Step* Flow::findStep(std::string_view step_id) const {
  for (const Step& step : steps) {
    if (!step.id.empty() && step.id == step_id) {
      return &step;
    }
  }
  return nullptr;
}

bool runsBefore(const Flow& a, const Flow& b) {
  if (a.priority != b.priority) {
    return a.priority > b.priority;
  }
  return a.id < b.id;
}

}  // namespace waflow::core::flow
