#include "ai_request.h"

namespace waflow::ai_provider {

using Json = nlohmann::json;

std::string requestModel(const nlohmann::json& request, const std::string& configured) {
  std::string model = configured;
  if (auto it = request.find("model"); it != request.end() && !it->is_null()) {
    if (!it->is_string() || it->get<std::string>().empty()) {
      throw Error(Rc::kInvalid, "request_json.model must be a non-empty string");
    }
    model = it->get<std::string>();
  }
  if (model.empty()) {
    throw Error(Rc::kInvalid, "no model: set `model` in the AI provider's config");
  }
  return model;
}

nlohmann::json parseAiRequest(std::string_view request_json) {
  nlohmann::json req = nlohmann::json::parse(request_json, nullptr, false);
  if (!req.is_object()) {
    throw Error(Rc::kInvalid, "request_json is not a JSON object");
  }
  return req;
}

std::chrono::milliseconds requestBudget(const nlohmann::json& request) {
  auto it = request.find("timeout_ms");
  return it != request.end() && it->is_number_integer()
             ? std::chrono::milliseconds(it->get<int64_t>())
             : std::chrono::milliseconds(0);
}

}  // namespace waflow::ai_provider
