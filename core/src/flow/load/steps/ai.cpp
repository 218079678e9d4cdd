// Loading the AI steps: ai (an answer from a model, with knowledge, tools and a fallback) and
// classify (categories or fields), and what they share: providers and field lists.
//
// Thread-safety: see step_loaders.h.
#include <set>

#include "flow/load/steps/step_loaders.h"
#include "text/names.h"

namespace waflow::core::flow::load {
namespace {

using text::isIdentifier;

// provider: one AI instance or a list tried in order, each defined, none twice.
std::vector<std::string> loadProviders(LoadContext& ctx, const YAML::Node& node, const json& value,
                                       const std::string& where, std::string_view anchor) {
  std::vector<std::string> providers = stringList(value.value("provider", json()));
  std::set<std::string> seen;
  for (const std::string& p : providers) {
    ctx.checkKnown(child(node, "provider"), p, ctx.known().ai, "AI instance", anchor);
    if (!seen.insert(p).second) {
      ctx.reportAt(child(node, "provider"), "flow-value",
                   where + ".provider: " + quote(p) + " is listed twice", "", anchor);
    }
  }
  return providers;
}

// fields: (classify, ai) or a tool's parameters: names, types and allowed values, in the
// file's order.
std::vector<ClassifyField> loadClassifyFields(LoadContext& ctx, const YAML::Node& node,
                                              const json& value, const std::string& where,
                                              std::string_view anchor,
                                              const std::string& key = "fields") {
  std::vector<ClassifyField> fields;
  const json spec = value.value(key, json());
  const YAML::Node map = child(node, key);
  if (!spec.is_object()) {
    return fields;
  }
  static const std::set<std::string> kTypes = {"string", "number", "integer", "boolean"};
  // Keep the file's order: the AI sees the fields in the order written.
  for (auto it = map.begin(); map.IsMap() && it != map.end(); ++it) {
    ClassifyField f;
    f.name = it->first.Scalar();
    const json& v = spec.value(f.name, json());
    if (v.is_array()) {
      f.values = stringList(v);
    } else if (v.is_string()) {
      f.type = v.get<std::string>();
    } else if (v.is_object()) {
      f.type = v.value("type", std::string("string"));
      f.values = stringList(v.value("values", json()));
      f.description = v.value("description", std::string());
    }
    if (kTypes.count(f.type) == 0) {
      ctx.reportAt(it->second, "flow-value",
                   where + "." + key + "." + f.name + ": unknown type " + quote(f.type),
                   "write one of string, number, integer, boolean, or a list of allowed values",
                   anchor);
    }
    if (!f.values.empty() && f.type != "string") {
      ctx.reportAt(it->second, "flow-value",
                   where + "." + key + "." + f.name + ": a list of values is for string fields", "",
                   anchor);
    }
    if (!isIdentifier(f.name)) {
      ctx.reportAt(it->first, "flow-value",
                   where + "." + key + ": " + quote(f.name) + " is not a usable name",
                   "use letters, digits and '_'", anchor);
    }
    fields.push_back(std::move(f));
  }
  if (fields.empty() && key == "fields") {
    ctx.reportAt(map, "flow-value", where + ".fields: names no field", "", anchor);
  }
  return fields;
}

// tools: the Lua functions an ai step lets the model call.
std::vector<AiTool> loadAiTools(LoadContext& ctx, const YAML::Node& node, const json& value,
                                const std::string& where, std::string_view anchor) {
  std::vector<AiTool> tools;
  const json list = value.value("tools", json());
  const YAML::Node items = child(node, "tools");
  std::set<std::string> seen;
  for (size_t i = 0; list.is_array() && i < list.size(); ++i) {
    const json& t = list[i];
    const YAML::Node item = items.IsSequence() && i < items.size() ? items[i] : YAML::Node();
    AiTool tool;
    tool.pos = posOf(item);
    tool.name = str(t, "name");
    tool.description = str(t, "description");
    tool.function = t.contains("lua") ? str(t, "lua") : tool.name;
    const std::string at = where + ".tools[" + std::to_string(i) + "]";
    tool.parameters = loadClassifyFields(ctx, item, t, at, anchor, "parameters");
    if (!seen.insert(tool.name).second) {
      ctx.reportAt(child(item, "name"), "flow-ids",
                   at + ": the tool " + quote(tool.name) + " is listed twice", "", anchor);
    }
    ctx.checkKnown(t.contains("lua") ? child(item, "lua") : child(item, "name"), tool.function,
                   ctx.known().script_functions, "Lua function", anchor);
    tools.push_back(std::move(tool));
  }
  return tools;
}

// fallback: what an ai step does when no provider answers (or a grounded one cannot).
AiFallback loadFallback(LoadContext& ctx, const YAML::Node& fnode, const json& f,
                        const std::string& where, const std::string& anchor) {
  AiFallback fallback;
  if (f.is_string()) {
    fallback.reply = ctx.makeText(fnode, f, where + ".fallback");
  } else {
    if (f.contains("reply")) {
      fallback.reply = ctx.makeText(child(fnode, "reply"), f["reply"], where + ".fallback.reply");
    }
    if (const json& h = f.value("handoff", json()); h.is_string()) {
      fallback.handoff = true;
      fallback.note = ctx.makeText(child(fnode, "handoff"), h, where + ".fallback.handoff");
    } else {
      fallback.handoff = h.is_boolean() && h.get<bool>();
    }
  }
  if (fallback.reply.empty() && !fallback.handoff) {
    ctx.reportAt(fnode, "flow-value", where + ".fallback: does nothing",
                 "give a reply, handoff: true, or both", anchor);
  }
  return fallback;
}

// grounded: needs knowledge to ground in, and a fallback for what it does not cover.
void checkGrounded(LoadContext& ctx, const StepInput& in, const AiStep& step) {
  const auto& [node, value, where, anchor] = in;
  if (step.grounded && step.knowledge.empty()) {
    ctx.reportAt(keyNode(node, "grounded"), "flow-value",
                 where + ": grounded needs a knowledge base to ground the answer in",
                 "add knowledge: <id of a knowledge base in waflow.yaml>", anchor);
  }
  if (step.grounded && !step.fallback) {
    ctx.reportAt(keyNode(node, "grounded"), "flow-value",
                 where +
                     ": a grounded answer needs a fallback for questions the knowledge "
                     "base cannot answer",
                 "add fallback: {reply: \"...\", handoff: true}", anchor);
  }
}

// categories: a list of names or names with descriptions, in the file's order; at least two,
// none twice.
void loadCategories(LoadContext& ctx, const StepInput& in, const json& object, ClassifyStep& step) {
  const auto& [node, value, where, anchor] = in;
  const json categories = object.value("categories", json());
  std::set<std::string> seen;
  if (categories.is_array()) {
    for (const json& c : categories) {
      step.categories.emplace_back(c.get<std::string>(), "");
    }
  } else if (categories.is_object()) {
    // Keep the file's order: the AI sees them in the order written.
    const YAML::Node map = child(node, "categories");
    for (auto it = map.begin(); map.IsMap() && it != map.end(); ++it) {
      const std::string name = it->first.Scalar();
      step.categories.emplace_back(name, str(categories, name.c_str()));
    }
  }
  for (const auto& [name, unused] : step.categories) {
    if (!seen.insert(name).second) {
      ctx.reportAt(child(node, "categories"), "flow-ids",
                   where + ".categories: " + quote(name) + " is listed twice", "", anchor);
    }
  }
  if (child(node, "categories").IsDefined() && step.categories.size() < 2) {
    ctx.reportAt(child(node, "categories"), "flow-value",
                 where + ".categories: needs at least 2 categories", "", anchor);
  }
}

}  // namespace

AiStep loadSpec(LoadContext& ctx, const StepInput& in, std::type_identity<AiStep>) {
  const auto& [node, value, where, anchor] = in;
  AiStep step;
  if (!value.is_object()) {
    return step;
  }
  step.providers = loadProviders(ctx, node, value, where, anchor);
  if (value.contains("prompt")) {
    step.prompt = ctx.makeText(child(node, "prompt"), value["prompt"], where + ".prompt");
  }
  if (value.contains("system")) {
    step.system = ctx.makeText(child(node, "system"), value["system"], where + ".system");
  }
  step.history = value.value("history", 10);
  step.history_tokens = value.value("history_tokens", 0);
  step.contact_attributes = stringList(value.value("contact", json()));
  step.debounce_ms = value.value("debounce", int64_t{0});
  step.knowledge = stringList(value.value("knowledge", json()));
  for (const std::string& k : step.knowledge) {
    ctx.checkKnown(child(node, "knowledge"), k, ctx.known().knowledge, "knowledge base", anchor);
  }
  step.passages = value.value("passages", 3);
  step.grounded = value.value("grounded", false);
  step.recall = value.value("recall", 0);
  step.typing = value.value("typing", true);
  step.tools = loadAiTools(ctx, node, value, where, anchor);
  step.reply = value.value("reply", true);
  if (value.contains("max_tokens") && value["max_tokens"].is_number_integer()) {
    step.max_tokens = value["max_tokens"].get<int>();
  }
  if (value.contains("temperature") && value["temperature"].is_number()) {
    step.temperature = value["temperature"].get<double>();
  }
  if (const json& f = value.value("fallback", json()); f.is_string() || f.is_object()) {
    step.fallback = loadFallback(ctx, child(node, "fallback"), f, where, anchor);
  }
  checkGrounded(ctx, in, step);
  return step;
}

ClassifyStep loadSpec(LoadContext& ctx, const StepInput& in, std::type_identity<ClassifyStep>) {
  const auto& [node, value, where, anchor] = in;
  ClassifyStep step;
  const json object = value.is_object() ? value : json::object();
  step.providers = loadProviders(ctx, node, object, where, anchor);
  if (object.contains("text")) {
    step.text = ctx.makeText(child(node, "text"), object["text"], where + ".text");
  }
  loadCategories(ctx, in, object, step);
  step.fields = loadClassifyFields(ctx, node, object, where, anchor);
  if (!step.categories.empty() && child(node, "fields").IsDefined()) {
    ctx.reportAt(
        keyNode(node, "fields"), "flow-value", where + ": categories and fields cannot be combined",
        "use categories for one answer, fields for several (a field can list values)", anchor);
  }
  if (step.categories.empty() && step.fields.empty() && !child(node, "fields").IsDefined()) {
    step.fields = defaultClassifyFields();
  }
  step.history = object.value("history", 0);
  if (const json& i = object.value("insight", json()); i.is_string()) {
    step.insight = i.get<std::string>();
  } else if (!(i.is_boolean() && !i.get<bool>())) {
    step.insight = ctx.stepId().empty() ? "classification" : ctx.stepId();
  }
  step.save_to_contact = object.value("save_to_contact", false);
  step.background = object.value("background", false);
  if (step.save_to_contact && !step.categories.empty()) {
    ctx.reportAt(keyNode(node, "save_to_contact"), "flow-value",
                 where + ": save_to_contact stores fields; a categories answer has none",
                 "use fields: {category: [a, b]} to store the category on the contact", anchor);
  }
  return step;
}

}  // namespace waflow::core::flow::load
