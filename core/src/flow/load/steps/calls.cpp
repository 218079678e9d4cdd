// Loading the steps that reach outside the flow: http (a request), emit (an event on the bus) and
// lua (a function of scripts/).
//
// Thread-safety: see step_loaders.h.
#include "flow/load/steps/step_loaders.h"
#include "text/names.h"

namespace waflow::core::flow::load {

using text::isEventName;
using text::isHeaderToken;

HttpStep loadSpec(LoadContext& ctx, const StepInput& in, std::type_identity<HttpStep>) {
  const auto& [node, value, where, anchor] = in;
  HttpStep step;
  if (!value.is_object()) {
    return step;
  }
  step.method = value.value("method", std::string("GET"));
  if (value.contains("url")) {
    step.url = ctx.makeText(child(node, "url"), value["url"], where + ".url");
    const std::string& url = step.url.value;
    if (!step.url.isTemplate() && url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
      ctx.reportAt(child(node, "url"), "flow-value",
                   where + ".url: " + quote(url) + " is not an http:// or https:// URL",
                   "write the full address, e.g. https://api.toko.id/orders", anchor);
    }
  }
  if (value.contains("headers") && value["headers"].is_object()) {
    const YAML::Node headers = child(node, "headers");
    for (auto it = headers.begin(); headers.IsMap() && it != headers.end(); ++it) {
      const std::string name = it->first.Scalar();
      if (!value["headers"].contains(name)) {
        continue;
      }
      if (!isHeaderToken(name)) {
        ctx.reportAt(it->first, "flow-value",
                     where + ".headers: " + quote(name) + " is not a valid header name",
                     "header names have no spaces or ':', e.g. Authorization", anchor);
      }
      step.headers.emplace_back(
          name, ctx.makeText(it->second, value["headers"][name], where + ".headers." + name));
    }
  }
  if (value.contains("body")) {
    step.body = value["body"];
    if (step.body.is_string()) {
      step.body_text = ctx.makeText(child(node, "body"), step.body, where + ".body");
    } else {
      ctx.collectTemplates(child(node, "body"), step.body, where + ".body");
    }
    if (step.method == "GET") {
      ctx.reportAt(keyNode(node, "body"), "flow-value", where + ": a GET request has no body",
                   "add method: POST (or PUT, PATCH)", anchor);
    }
  }
  return step;
}

EmitStep loadSpec(LoadContext& ctx, const StepInput& in, std::type_identity<EmitStep>) {
  const auto& [node, value, where, anchor] = in;
  EmitStep step;
  if (value.is_string()) {
    step.event = value.get<std::string>();
    if (!isEventName(step.event)) {
      ctx.reportAt(node, "flow-schema", where + ": " + quote(step.event) + " is not an event name",
                   "use letters, digits and . _ : -, e.g. order.created", anchor);
    }
  } else if (value.is_object()) {
    step.event = str(value, "event");
    if (value.contains("data")) {
      step.data = value["data"];
      ctx.collectTemplates(child(node, "data"), step.data, where + ".data");
    }
  }
  return step;
}

LuaStep loadSpec(LoadContext& ctx, const StepInput& in, std::type_identity<LuaStep>) {
  const auto& [node, value, where, anchor] = in;
  LuaStep step;
  YAML::Node function_node = node;
  if (value.is_string()) {
    step.function = value.get<std::string>();
  } else if (value.is_object()) {
    step.function = str(value, "function");
    function_node = child(node, "function");
    if (value.contains("args")) {
      step.args = value["args"];
      ctx.collectTemplates(child(node, "args"), step.args, where + ".args");
    }
  }
  ctx.checkKnown(function_node, step.function, ctx.known().script_functions, "script function",
                 anchor);
  return step;
}

}  // namespace waflow::core::flow::load
