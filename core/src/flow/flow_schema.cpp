#include "flow/flow_schema.h"

#include <set>
#include <stdexcept>

#include "flow/flow_schema_text.h"

namespace waflow::core::flow {
namespace {

using nlohmann::json;

json resolve(const json& node, const json& definitions, std::set<std::string>& active) {
  if (node.is_array()) {
    json out = json::array();
    for (const json& item : node) {
      out.push_back(resolve(item, definitions, active));
    }
    return out;
  }
  if (!node.is_object()) {
    return node;
  }
  json out = json::object();
  if (auto ref = node.find("$ref"); ref != node.end()) {
    constexpr std::string_view kPrefix = "#/definitions/";
    const std::string target = ref->is_string() ? ref->get<std::string>() : "";
    if (target.rfind(kPrefix, 0) != 0) {
      throw std::runtime_error("flow schema: unsupported $ref '" + target + "'");
    }
    const std::string name = target.substr(kPrefix.size());
    if (!definitions.contains(name)) {
      throw std::runtime_error("flow schema: $ref to undefined definition '" + name + "'");
    }
    if (!active.insert(name).second) {
      throw std::runtime_error("flow schema: recursive definition '" + name + "'");
    }
    out = resolve(definitions[name], definitions, active);
    active.erase(name);
  }
  for (const auto& [key, value] : node.items()) {
    if (key == "$ref") {
      continue;
    }
    out[key] = resolve(value, definitions, active);
  }
  return out;
}

}  // namespace

std::string_view flowSchemaText() {
  return generated::kFlowSchemaText;
}

json inlineDefinitions(const json& document) {
  const json definitions = document.value("definitions", json::object());
  std::set<std::string> active;
  json out = resolve(document, definitions, active);
  out.erase("definitions");
  return out;
}

const json& flowSchema() {
  static const json kSchema = inlineDefinitions(json::parse(flowSchemaText()));
  return kSchema;
}

const std::map<std::string, TriggerKeys>& triggerKeys() {
  static const std::map<std::string, TriggerKeys> kKeys = [] {
    std::map<std::string, TriggerKeys> keys;
    const json& trigger = flowSchema()["properties"]["triggers"]["items"];
    const json rules = trigger.value("allOf", json::array());
    for (const json& rule : rules) {
      const std::string kind = rule["if"]["properties"]["on"].value("const", "");
      TriggerKeys entry;
      const json& then = rule["then"];
      const json properties = then.value("properties", json::object());
      for (auto it = properties.begin(); it != properties.end(); ++it) {
        entry.allowed.push_back(it.key());
      }
      const json required = then.value("required", json::array());
      for (const json& key : required) {
        entry.required.push_back(key.get<std::string>());
      }
      keys[kind] = std::move(entry);
    }
    return keys;
  }();
  return kKeys;
}

}  // namespace waflow::core::flow
