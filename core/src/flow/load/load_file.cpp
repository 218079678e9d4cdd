// Loading one flow file: UTF-8 and YAML first, then the whole file against the flow schema (its
// diagnostics get a link to the docs section of the path they name), the flow's own keys (id,
// mode, max, priority), its triggers, conditions and steps by their parts, the references
// within the flow and, when asked, every Lua snippet.
//
// Thread-safety: see loaders.h.
#include <cstdlib>

#include "config/schema_validator.h"
#include "config/yaml_documents.h"
#include "diag/text_encoding.h"
#include "flow/flow_schema.h"
#include "flow/load/loaders.h"

namespace waflow::core::flow::load {
namespace {

// A flow file holds one document; past the second, more "second document" errors add nothing.
constexpr std::size_t kMaxDocumentsReported = 16;

std::string triggerAnchor(const YAML::Node& item) {
  const YAML::Node on = child(item, "on");
  if (on.IsScalar() && triggerKeys().count(on.Scalar()) > 0) {
    return "trigger-" + dotsToDashes(on.Scalar());
  }
  return "triggers";
}

std::string conditionAnchor(const YAML::Node& item, const std::string& next_key) {
  if (contains(conditionKinds(), next_key)) {
    return "condition-" + dotsToDashes(next_key);
  }
  for (const std::string& kind : conditionKinds()) {
    if (child(item, kind).IsDefined()) {
      return "condition-" + dotsToDashes(kind);
    }
  }
  return "conditions";
}

std::string stepAnchor(const YAML::Node& item, const std::string& next_key) {
  if (contains(stepKinds(), next_key)) {
    return "step-" + next_key;
  }
  if (contains(stepCommonKeys(), next_key)) {
    return "step-options";
  }
  for (const std::string& kind : stepKinds()) {
    if (child(item, kind).IsDefined()) {
      return "step-" + kind;
    }
  }
  return "steps";
}

// The docs section for a schema diagnostic's path ("steps[2].reply.text" -> "step-reply").
std::string anchorForPath(const YAML::Node& root, const std::string& path) {
  const size_t end = path.find_first_of(".[");
  const std::string head = path.substr(0, end);
  if (head == "mode" || head == "max") {
    return "mode";
  }
  if (head == "priority") {
    return "priority";
  }
  if (head != "triggers" && head != "conditions" && head != "steps") {
    return "flow-file";
  }
  size_t index = 0;
  std::string rest;
  if (end != std::string::npos && path[end] == '[') {
    const size_t close = path.find(']', end);
    index = static_cast<size_t>(std::strtoul(path.c_str() + end + 1, nullptr, 10));
    rest = close == std::string::npos ? "" : path.substr(close + 1);
  } else {
    return head;
  }
  const std::string next_key = rest.size() > 1 && rest[0] == '.'
                                   ? rest.substr(1, rest.find_first_of(".[", 1) - 1)
                                   : std::string();
  const YAML::Node list = child(root, head);
  const YAML::Node item = list.IsSequence() && index < list.size() ? list[index] : YAML::Node();
  if (head == "triggers") {
    return triggerAnchor(item);
  }
  if (head == "conditions") {
    return conditionAnchor(item, next_key);
  }
  return stepAnchor(item, next_key);
}

// The file's text as YAML: false (reported) when it is not UTF-8, not YAML, or empty.
bool parseFile(LoadContext& ctx, YAML::Node& root) {
  const FlowSource& source = ctx.source();
  if (std::optional<diag::Diagnostic> encoding =
          diag::checkUtf8(source.text, source.file, "flow-yaml")) {
    ctx.report({encoding->line, encoding->column}, encoding->kind, encoding->message,
               encoding->hint, "flow-file", diag::Severity::kError, encoding->length);
    return false;
  }
  config::YamlDocuments documents;
  try {
    documents = config::scanYamlDocuments(source.text, kMaxDocumentsReported);
    if (!documents.stuck_at) {
      root = YAML::Load(source.text);
    }
  } catch (const YAML::ParserException& e) {
    ctx.report({e.mark.line + 1, e.mark.column + 1}, "flow-yaml", "invalid YAML: " + e.msg,
               "check the indentation and that every ':' inside a text is within quotes",
               "flow-file");
    return false;
  }
  if (documents.stuck_at) {
    ctx.report({documents.stuck_at->line + 1, documents.stuck_at->column + 1}, "flow-yaml",
               config::describeStuckToken(documents),
               "a flow file is a mapping that starts with 'id:'; quote any text that starts with "
               "a sign such as ',' or '['",
               "flow-file");
    return false;
  }
  if (root.IsNull()) {
    ctx.report({}, "flow-yaml", "the file is empty", "a flow needs at least id, triggers and steps",
               "flow-file", diag::Severity::kWarning);
    return false;
  }
  for (size_t i = 1; i < documents.starts.size(); ++i) {
    ctx.report({documents.starts[i].line + 1, documents.starts[i].column + 1}, "flow-yaml",
               "a flow file holds one flow; this is a second document", "move it to its own file",
               "flow-file");
  }
  return true;
}

// The whole file against the schema: its diagnostics, each linked to the docs section of the
// path it names, and the typed value.
json validateFile(LoadContext& ctx, const YAML::Node& root, diag::DiagnosticList& out,
                  std::vector<std::string>& secrets) {
  config::ValidateOptions validate_options;
  validate_options.kind_prefix = "flow";
  validate_options.fallback_line = 1;
  validate_options.fallback_column = 1;
  config::ValidationResult validated = config::validateNode(
      root, flowSchema(), ctx.options().subst, ctx.source().file, "", validate_options);
  secrets.insert(secrets.end(), validated.secrets.begin(), validated.secrets.end());
  for (diag::Diagnostic& d : validated.diagnostics) {
    std::string path;
    constexpr std::string_view kUnknown = "unknown key '";
    if (d.message.rfind(kUnknown, 0) == 0) {
      const size_t close = d.message.find('\'', kUnknown.size());
      const std::string key = d.message.substr(kUnknown.size(), close - kUnknown.size());
      const size_t in = d.message.find(" in '", close);
      path = in == std::string::npos
                 ? key
                 : d.message.substr(in + 5, d.message.size() - in - 6) + "." + key;
    } else {
      path = d.message.substr(0, d.message.find(": "));
    }
    const std::string link = "see " + ctx.options().docs_page + "#" + anchorForPath(root, path);
    d.hint = d.hint.empty() ? link : d.hint + "; " + link;
    out.add(std::move(d));
  }
  return std::move(validated.value);
}

// The flow's own keys: id, name, description, mode, max, priority.
void loadHeader(LoadContext& ctx, const YAML::Node& root, const json& value, Flow& flow) {
  flow.file = ctx.source().file;
  flow.pos = root.begin() != root.end() ? posOf(root.begin()->first) : Position{1, 1};
  flow.id = str(value, "id");
  flow.name = str(value, "name");
  flow.description = str(value, "description");
  const std::string mode = value.value("mode", std::string("single"));
  flow.mode = mode == "restart"    ? Mode::kRestart
              : mode == "queued"   ? Mode::kQueued
              : mode == "parallel" ? Mode::kParallel
                                   : Mode::kSingle;
  flow.max = value.value("max", 10);
  flow.priority = value.value("priority", 0);
  // Only when both values are valid: an invalid mode or max is reported already.
  const bool mode_known = !child(root, "mode").IsDefined() || value.contains("mode");
  if (value.contains("max") && child(root, "max").IsDefined() && mode_known &&
      (flow.mode == Mode::kSingle || flow.mode == Mode::kRestart)) {
    ctx.reportAt(keyNode(root, "max"), "flow-value",
                 "max has no effect with mode " + std::string(modeName(flow.mode)),
                 "it limits queued and parallel runs; remove it or change mode", "mode",
                 diag::Severity::kWarning);
  }
}

// Triggers, conditions and steps, each by its part; then what the steps refer to.
void loadBody(LoadContext& ctx, const YAML::Node& root, Flow& flow) {
  const YAML::Node triggers = child(root, "triggers");
  for (size_t i = 0; triggers.IsSequence() && i < triggers.size(); ++i) {
    if (std::optional<Trigger> trigger = loadTrigger(ctx, triggers[i], i)) {
      flow.triggers.push_back(std::move(*trigger));
    }
  }
  const YAML::Node conditions = child(root, "conditions");
  for (size_t i = 0; conditions.IsSequence() && i < conditions.size(); ++i) {
    if (std::optional<Condition> condition = loadCondition(ctx, conditions[i], i)) {
      flow.conditions.push_back(std::move(*condition));
    }
  }
  const YAML::Node steps = child(root, "steps");
  std::vector<YAML::Node> step_nodes;
  for (size_t i = 0; steps.IsSequence() && i < steps.size(); ++i) {
    if (steps[i].IsMap()) {
      step_nodes.push_back(steps[i]);
      flow.steps.push_back(loadStep(ctx, steps[i], i, flow.steps.size()));
    }
  }
  flow.snippets = ctx.takeSnippets();
  checkSteps(ctx, flow, step_nodes);
}

// FlowLoadOptions::check_lua on every snippet; its diagnostics default to the snippet's place.
void checkLua(const FlowLoadOptions& options, const Flow& flow, diag::DiagnosticList& out) {
  if (!options.check_lua) {
    return;
  }
  for (const LuaSnippet& snippet : flow.snippets) {
    if (std::optional<diag::Diagnostic> d = options.check_lua(snippet)) {
      if (d->file.empty()) {
        d->file = snippet.file;
      }
      if (d->line == 0) {
        d->line = snippet.line;
        d->column = snippet.column;
      }
      out.add(std::move(*d));
    }
  }
}

}  // namespace

LoadedFile loadFile(const FlowSource& source, const FlowLoadOptions& options,
                    diag::DiagnosticList& out, std::vector<std::string>& secrets) {
  LoadContext ctx(source, options, out);
  YAML::Node root;
  if (!parseFile(ctx, root)) {
    return {};
  }
  const json value = validateFile(ctx, root, out, secrets);
  if (!root.IsMap()) {
    return {};
  }
  Flow flow;
  loadHeader(ctx, root, value, flow);
  loadBody(ctx, root, flow);
  checkLua(options, flow, out);
  return {std::move(flow), ctx.takeFlowRefs()};
}

}  // namespace waflow::core::flow::load
