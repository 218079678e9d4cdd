#include "engine/steps/ai/classify_fields.h"

#include "json/bounded_parse.h"
#include "text/ascii.h"
#include "text/normalize.h"

#include <cmath>

namespace waflow::core::engine {

using Json = nlohmann::json;
using text::lowerAscii;
using text::trimSpace;

Json firstJsonObject(const std::string& answer) {
  Json j = json_input::parseOrDiscarded(answer);
  if (j.is_object()) {
    return j;
  }
  size_t open = answer.find('{');
  size_t close = answer.rfind('}');
  if (open != std::string::npos && close != std::string::npos && close > open) {
    j = json_input::parseOrDiscarded(answer.substr(open, close - open + 1));
    if (j.is_object()) {
      return j;
    }
  }
  return Json();
}

std::optional<std::string> categoryIn(const std::string& answer,
                                      const std::vector<std::pair<std::string, std::string>>& cs) {
  std::string said = answer;
  Json j = firstJsonObject(answer);
  if (j.is_object() && j.contains("category") && j["category"].is_string()) {
    said = j["category"].get<std::string>();
  }
  std::string norm = text::normalizeText(said);
  for (const auto& [name, _] : cs) {
    if (text::normalizeText(name) == norm) {
      return name;
    }
  }
  for (const auto& [name, _] : cs) {
    if (text::KeywordMatcher({name}).match(said)) {
      return name;
    }
  }
  return std::nullopt;
}

std::variant<Json, std::string> checkFields(const std::string& answer,
                                            const std::vector<flow::ClassifyField>& fields) {
  Json j = firstJsonObject(answer);
  if (!j.is_object()) {
    return std::string("the answer is not a JSON object");
  }
  Json out = Json::object();
  for (const auto& f : fields) {
    if (!j.contains(f.name) || j[f.name].is_null()) {
      return "the field '" + f.name + "' is missing";
    }
    const Json& v = j[f.name];
    if (f.type == "boolean") {
      if (v.is_boolean()) {
        out[f.name] = v;
      } else if (v.is_string() && (lowerAscii(v.get<std::string>()) == "true" ||
                                   lowerAscii(v.get<std::string>()) == "false")) {
        out[f.name] = lowerAscii(v.get<std::string>()) == "true";
      } else {
        return "the field '" + f.name + "' must be true or false";
      }
    } else if (f.type == "number" || f.type == "integer") {
      double d = 0;
      if (v.is_number()) {
        d = v.get<double>();
      } else if (v.is_string()) {
        char* end = nullptr;
        const std::string raw = v.get<std::string>();
        const std::string s(trimSpace(raw));
        d = std::strtod(s.c_str(), &end);
        if (s.empty() || end == nullptr || *end != '\0') {
          return "the field '" + f.name + "' must be a number";
        }
      } else {
        return "the field '" + f.name + "' must be a number";
      }
      if (f.type == "integer") {
        if (std::floor(d) != d) {
          return "the field '" + f.name + "' must be a whole number";
        }
        out[f.name] = static_cast<int64_t>(d);
      } else {
        out[f.name] = d;
      }
    } else {
      std::string s = v.is_string() ? v.get<std::string>()
                                    : v.dump(-1, ' ', false, Json::error_handler_t::replace);
      if (!f.values.empty()) {
        std::string norm = text::normalizeText(s);
        auto match = std::find_if(f.values.begin(), f.values.end(), [&](const std::string& value) {
          return text::normalizeText(value) == norm;
        });
        if (match == f.values.end()) {
          std::string allowed;
          for (const auto& value : f.values) {
            allowed += (allowed.empty() ? "" : ", ") + value;
          }
          return "the field '" + f.name + "' is '" + s.substr(0, 40) + "', not one of " + allowed;
        }
        s = *match;
      }
      out[f.name] = s;
    }
  }
  return out;
}

Json fieldsSchema(const std::vector<flow::ClassifyField>& fields) {
  Json properties = Json::object();
  Json required = Json::array();
  for (const auto& f : fields) {
    Json p = {{"type", f.type}};
    if (!f.values.empty()) {
      p["enum"] = f.values;
    }
    if (!f.description.empty()) {
      p["description"] = f.description;
    }
    properties[f.name] = std::move(p);
    required.push_back(f.name);
  }
  return {{"type", "object"},
          {"properties", std::move(properties)},
          {"required", std::move(required)},
          {"additionalProperties", false}};
}

std::string fieldsInstructions(const std::vector<flow::ClassifyField>& fields) {
  std::string s =
      "Read the customer's message and fill in these fields. Answer with one JSON object and "
      "nothing else.\n";
  for (const auto& f : fields) {
    s += "- " + f.name + ": ";
    if (!f.values.empty()) {
      s += "one of";
      for (size_t i = 0; i < f.values.size(); ++i) {
        s += (i == 0 ? " " : ", ") + f.values[i];
      }
    } else {
      s += "a " + f.type;
    }
    if (!f.description.empty()) {
      s += " (" + f.description + ")";
    }
    s += "\n";
  }
  return s;
}

}  // namespace waflow::core::engine
