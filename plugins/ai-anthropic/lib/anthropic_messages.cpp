#include "anthropic_messages.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace waflow::anthropic {
namespace {

using Json = nlohmann::json;

// Sent before a conversation window that starts with the assistant. The Messages API has
// required the first turn to be the user's; the bot's opening message (e.g. a greeting whose
// prompt fell out of the history window) is context the customer saw, so it is kept behind this
// placeholder rather than dropped.
constexpr const char* kLeadingPlaceholder = "(earlier messages omitted)";

struct Turn {
  std::string role;  // "user" or "assistant"
  Json blocks = Json::array();
};

// j[key] when it is a string, else "" (a malformed answer must not throw a JSON type error).
std::string stringField(const Json& j, const char* key) {
  if (!j.is_object()) {
    return "";
  }
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

Json textBlock(const std::string& text) {
  return {{"type", "text"}, {"text", text}};
}

// An OpenAI image_url part to an Anthropic image block: data: URLs carry base64 data, other
// URLs are fetched by Anthropic.
Json imageBlock(const Json& part, const std::string& where) {
  const Json image = part.value("image_url", Json());
  std::string url;
  if (image.is_object() && image.contains("url") && image["url"].is_string()) {
    url = image["url"].get<std::string>();
  } else if (image.is_string()) {
    url = image.get<std::string>();
  }
  if (url.empty()) {
    throw Error(Rc::kInvalid, where + ".image_url.url is missing");
  }
  if (url.rfind("data:", 0) == 0) {
    std::size_t semi = url.find(";base64,");
    if (semi == std::string::npos) {
      throw Error(Rc::kInvalid, where + ".image_url.url is a data: URL without ;base64,");
    }
    return {{"type", "image"},
            {"source",
             {{"type", "base64"},
              {"media_type", url.substr(5, semi - 5)},
              {"data", url.substr(semi + 8)}}}};
  }
  return {{"type", "image"}, {"source", {{"type", "url"}, {"url", url}}}};
}

// A message's content (a string or OpenAI content parts) as Anthropic blocks. Empty text is
// left out: the API rejects empty text blocks.
Json contentBlocks(const Json& content, const std::string& where) {
  Json blocks = Json::array();
  if (content.is_string()) {
    if (!content.get<std::string>().empty()) {
      blocks.push_back(textBlock(content.get<std::string>()));
    }
    return blocks;
  }
  if (!content.is_array()) {
    throw Error(Rc::kInvalid, where + ".content must be text or an array of content parts");
  }
  for (std::size_t i = 0; i < content.size(); ++i) {
    const Json& part = content[i];
    const std::string at = where + ".content[" + std::to_string(i) + "]";
    const std::string type = stringField(part, "type");
    if (type == "text" && part.contains("text") && part["text"].is_string()) {
      if (!part["text"].get<std::string>().empty()) {
        blocks.push_back(textBlock(part["text"].get<std::string>()));
      }
    } else if (type == "image_url") {
      blocks.push_back(imageBlock(part, at));
    } else if (type == "image" || type == "document") {
      blocks.push_back(part);  // already Anthropic's shape
    } else {
      throw Error(Rc::kInvalid, at + " must be a text or image_url part");
    }
  }
  return blocks;
}

// Text of a system or tool message's content (a string or text parts).
std::string plainText(const Json& content, const std::string& where) {
  if (content.is_string()) {
    return content.get<std::string>();
  }
  std::string out;
  for (const Json& block : contentBlocks(content, where)) {
    if (block["type"] == "text") {
      out += block["text"].get<std::string>();
    }
  }
  return out;
}

Json toolUseBlock(const Json& call, const std::string& where) {
  if (!call.is_object() || !call.contains("id") || !call["id"].is_string() ||
      !call.contains("function") || !call["function"].is_object() ||
      !call["function"].contains("name") || !call["function"]["name"].is_string()) {
    throw Error(Rc::kInvalid, where + " must be {\"id\", \"type\": \"function\", \"function\": " +
                                  "{\"name\", \"arguments\"}}");
  }
  const Json& fn = call["function"];
  Json input = Json::object();
  if (auto args = fn.find("arguments"); args != fn.end() && !args->is_null()) {
    if (args->is_object()) {
      input = *args;
    } else if (args->is_string() && !args->get<std::string>().empty()) {
      input = Json::parse(args->get<std::string>(), nullptr, false);
      if (input.is_discarded() || !input.is_object()) {
        throw Error(Rc::kInvalid, where + ".function.arguments is not a JSON object");
      }
    }
  }
  return {{"type", "tool_use"}, {"id", call["id"]}, {"name", fn["name"]}, {"input", input}};
}

// One waflow message as a turn; system messages are added to `system` instead.
std::optional<Turn> buildTurn(const Json& m, std::size_t index, std::string& system) {
  const std::string where = "request_json.messages[" + std::to_string(index) + "]";
  if (!m.is_object()) {
    throw Error(Rc::kInvalid, where + " is not an object");
  }
  const std::string role = stringField(m, "role");
  const Json content = m.value("content", Json());
  const bool has_tool_calls =
      m.contains("tool_calls") && m["tool_calls"].is_array() && !m["tool_calls"].empty();
  if (content.is_null() && !has_tool_calls) {
    throw Error(Rc::kInvalid, where + " has no content");
  }
  if (role == "system" || role == "developer") {
    std::string text = plainText(content, where);
    if (!text.empty()) {
      system += (system.empty() ? "" : "\n\n") + text;
    }
    return std::nullopt;
  }
  if (role == "user") {
    return Turn{"user", contentBlocks(content, where)};
  }
  if (role == "assistant") {
    Turn turn{"assistant", content.is_null() ? Json::array() : contentBlocks(content, where)};
    if (has_tool_calls) {
      const Json& calls = m["tool_calls"];
      for (std::size_t i = 0; i < calls.size(); ++i) {
        turn.blocks.push_back(
            toolUseBlock(calls[i], where + ".tool_calls[" + std::to_string(i) + "]"));
      }
    }
    return turn;
  }
  if (role == "tool") {
    if (!m.contains("tool_call_id") || !m["tool_call_id"].is_string()) {
      throw Error(Rc::kInvalid, where + " (a tool result) needs tool_call_id");
    }
    Json result = {{"type", "tool_result"},
                   {"tool_use_id", m["tool_call_id"]},
                   {"content", content.is_null() ? "" : plainText(content, where)}};
    if (m.contains("is_error") && m["is_error"] == true) {
      result["is_error"] = true;
    }
    return Turn{"user", Json::array({result})};
  }
  throw Error(Rc::kInvalid,
              where + ".role must be \"user\" or \"assistant\" (or system, " + "developer, tool)");
}

Json buildTurns(const Json& in, std::string& system) {
  std::vector<Turn> turns;
  for (std::size_t i = 0; i < in.size(); ++i) {
    std::optional<Turn> turn = buildTurn(in[i], i, system);
    if (!turn || turn->blocks.empty()) {
      continue;  // the API rejects empty turns
    }
    if (!turns.empty() && turns.back().role == turn->role) {
      // The API wants alternating turns: a customer's several messages are one user turn.
      for (Json& block : turn->blocks) {
        turns.back().blocks.push_back(std::move(block));
      }
    } else {
      turns.push_back(std::move(*turn));
    }
  }
  if (turns.empty()) {
    throw Error(Rc::kInvalid,
                "request_json.messages has no user or assistant message with content");
  }
  if (turns.front().role == "assistant") {
    turns.insert(turns.begin(), Turn{"user", Json::array({textBlock(kLeadingPlaceholder)})});
  }
  Json out = Json::array();
  for (Turn& turn : turns) {
    if (turn.role == "user") {
      // tool_result blocks must open the user turn that answers the tool calls.
      auto& blocks = turn.blocks.get_ref<Json::array_t&>();
      std::stable_partition(blocks.begin(), blocks.end(),
                            [](const Json& b) { return b["type"] == "tool_result"; });
    }
    out.push_back({{"role", turn.role}, {"content", std::move(turn.blocks)}});
  }
  return out;
}

Json buildTool(const Json& tool, std::size_t index) {
  const std::string where = "request_json.tools[" + std::to_string(index) + "]";
  if (tool.is_object() && tool.contains("name") && tool.contains("input_schema")) {
    return tool;  // already Anthropic's shape
  }
  if (!tool.is_object() || !tool.contains("function") || !tool["function"].is_object() ||
      !tool["function"].contains("name") || !tool["function"]["name"].is_string()) {
    throw Error(Rc::kInvalid, where +
                                  " must be {\"type\": \"function\", \"function\": {\"name\", " +
                                  "\"description\", \"parameters\"}}");
  }
  const Json& fn = tool["function"];
  Json out = {{"name", fn["name"]}};
  if (fn.contains("description") && fn["description"].is_string()) {
    out["description"] = fn["description"];
  }
  out["input_schema"] = fn.contains("parameters") && fn["parameters"].is_object()
                            ? fn["parameters"]
                            : Json{{"type", "object"}, {"properties", Json::object()}};
  return out;
}

Json buildToolChoice(const Json& choice) {
  if (choice.is_string()) {
    const std::string c = choice.get<std::string>();
    if (c == "auto" || c == "none") {
      return {{"type", c}};
    }
    if (c == "required") {
      return {{"type", "any"}};
    }
  } else if (choice.is_object()) {
    const std::string type = stringField(choice, "type");
    if (type == "function" && choice.contains("function") && choice["function"].is_object() &&
        choice["function"].contains("name") && choice["function"]["name"].is_string()) {
      return {{"type", "tool"}, {"name", choice["function"]["name"]}};
    }
    if (type == "auto" || type == "any" || type == "none" ||
        (type == "tool" && choice.contains("name"))) {
      return choice;  // already Anthropic's shape
    }
  }
  throw Error(Rc::kInvalid,
              "request_json.tool_choice must be \"auto\", \"required\", \"none\" " +
                  std::string("or {\"type\": \"function\", \"function\": {\"name\"}}"));
}

std::string finishReason(const std::string& stop_reason) {
  if (stop_reason == "end_turn" || stop_reason == "stop_sequence") {
    return "stop";
  }
  if (stop_reason == "max_tokens") {
    return "length";
  }
  if (stop_reason == "tool_use") {
    return "tool_calls";
  }
  if (stop_reason == "refusal") {
    return "content_filter";
  }
  return stop_reason;
}

int64_t count(const Json& usage, const char* key) {
  auto it = usage.find(key);
  return it != usage.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

Json mapUsage(const Json& usage) {
  if (!usage.is_object()) {
    return Json::object();
  }
  // input_tokens excludes cached input; waflow's prompt_tokens (as OpenAI's) includes it.
  const int64_t cached = count(usage, "cache_read_input_tokens");
  const int64_t prompt =
      count(usage, "input_tokens") + count(usage, "cache_creation_input_tokens") + cached;
  const int64_t completion = count(usage, "output_tokens");
  return {{"prompt_tokens", prompt},
          {"completion_tokens", completion},
          {"total_tokens", prompt + completion},
          {"cached_tokens", cached}};
}

// Anthropic's error types and the status each comes with (docs.claude.com/en/api/errors).
int statusOfErrorType(const std::string& type) {
  static const std::pair<const char*, int> kTypes[] = {
      {"invalid_request_error", 400}, {"authentication_error", 401},
      {"billing_error", 402},         {"permission_error", 403},
      {"not_found_error", 404},       {"request_too_large", 413},
      {"rate_limit_error", 429},      {"api_error", 500},
      {"timeout_error", 504},         {"overloaded_error", 529}};
  for (const auto& [name, status] : kTypes) {
    if (type == name) {
      return status;
    }
  }
  return 500;
}

ai_provider::Failure classify(int status, const Headers& headers, const std::string& base) {
  ai_provider::Failure f;
  f.retry_after = ai_provider::parseRetryAfter(headers);
  if (status == 401) {
    f.rc = Rc::kAuth;
    f.message = base + " (check api_key in the AI provider's config)";
  } else if (status == 403) {
    f.rc = Rc::kAuth;
    f.message = base + " (the key may not use this model or feature: check api_key and model)";
  } else if (status == 402) {
    f.rc = Rc::kError;
    f.message = base + " (billing: add credit to the Anthropic account; waiting will not help)";
  } else if (status == 400 || status == 404 || status == 413 || status == 422) {
    f.rc = Rc::kInvalid;
    f.message = base + (status == 404   ? " (check model and base_url)"
                        : status == 413 ? " (the request is too large)"
                                        : "");
  } else if (status == 408 || status == 409 || status == 429 || status >= 500) {
    f.rc = Rc::kRetry;
    f.retryable = true;
    f.message = base + (status == 529 ? " (Anthropic is overloaded)" : "");
  } else {
    f.rc = Rc::kError;
    f.message = base;
  }
  ai_provider::applyShouldRetry(headers, f);
  return f;
}

std::string describe(const ai_provider::ErrorBody& error) {
  return error.type.empty() ? error.message : error.type + ": " + error.message;
}

}  // namespace

Json buildMessagesRequest(const Json& request, const MessagesDefaults& defaults) {
  if (!request.is_object()) {
    throw Error(Rc::kInvalid, "request_json must be a JSON object");
  }
  Json body = Json::object();
  body["model"] = ai_provider::requestModel(request, defaults.model);

  int64_t max_tokens = defaults.max_tokens;
  if (auto it = request.find("max_tokens"); it != request.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 1) {
      throw Error(Rc::kInvalid, "request_json.max_tokens must be a positive integer");
    }
    max_tokens = it->get<int64_t>();
  }
  body["max_tokens"] = max_tokens;

  std::string system;
  if (auto it = request.find("system"); it != request.end() && !it->is_null()) {
    if (!it->is_string()) {
      throw Error(Rc::kInvalid, "request_json.system must be a string");
    }
    system = it->get<std::string>();
  }
  auto in = request.find("messages");
  if (in == request.end() || !in->is_array() || in->empty()) {
    throw Error(Rc::kInvalid, "request_json.messages must be a non-empty array");
  }
  Json turns = buildTurns(*in, system);
  if (!system.empty()) {
    body["system"] = system;
  }
  body["messages"] = std::move(turns);

  std::optional<double> temperature = defaults.temperature;
  if (auto it = request.find("temperature"); it != request.end() && !it->is_null()) {
    if (!it->is_number()) {
      throw Error(Rc::kInvalid, "request_json.temperature must be a number");
    }
    temperature = it->get<double>();
  }
  if (temperature) {
    // Anthropic accepts 0..1; flows written for OpenAI may use up to 2.
    body["temperature"] = std::clamp(*temperature, 0.0, 1.0);
  }

  Json tools = Json::array();
  if (auto it = request.find("tools"); it != request.end() && !it->is_null()) {
    if (!it->is_array()) {
      throw Error(Rc::kInvalid, "request_json.tools must be an array");
    }
    for (std::size_t i = 0; i < it->size(); ++i) {
      tools.push_back(buildTool((*it)[i], i));
    }
  }
  if (auto it = request.find("tool_choice"); it != request.end() && !it->is_null()) {
    body["tool_choice"] = buildToolChoice(*it);
  }
  if (auto it = request.find("json_schema"); it != request.end() && !it->is_null()) {
    if (!it->is_object()) {
      throw Error(Rc::kInvalid, "request_json.json_schema must be a JSON Schema object");
    }
    if (it->contains("type") && (*it)["type"] != "object") {
      throw Error(Rc::kInvalid,
                  "request_json.json_schema must describe an object (\"type\": " +
                      std::string("\"object\"): Claude returns it as a tool's input"));
    }
    // Claude has no response_format: a forced tool call whose input is the answer is the
    // documented way to get JSON that follows a schema.
    tools.push_back({{"name", kAnswerTool},
                     {"description", "Give your answer in exactly this shape."},
                     {"input_schema", *it}});
    body["tool_choice"] = {{"type", "tool"}, {"name", kAnswerTool}};
  }
  if (!tools.empty()) {
    body["tools"] = std::move(tools);
  }
  return body;
}

MessagesReply parseMessagesResponse(std::string_view body, bool answer_tool) {
  Json doc = ai_provider::parseJsonBody(body);
  if (doc.is_discarded() || !doc.is_object()) {
    throw Error(Rc::kError, "Anthropic answered with a body that is not JSON: " +
                                ai_provider::bodyExcerpt(body) +
                                " (is base_url the Messages API root, e.g. "
                                "https://api.anthropic.com/v1?)");
  }
  if (auto failure = classifyErrorBody(body, "Anthropic")) {
    throw Error(failure->rc, failure->message, failure->retry_after);
  }
  auto content = doc.find("content");
  if (content == doc.end() || !content->is_array()) {
    throw Error(Rc::kError,
                "Anthropic answered without a content array: " + ai_provider::bodyExcerpt(body));
  }
  MessagesReply reply;
  std::string text;
  std::optional<std::string> answer;
  Json tool_calls = Json::array();
  for (const Json& block : *content) {
    const std::string type = stringField(block, "type");
    if (type == "text" && block.contains("text") && block["text"].is_string()) {
      text += block["text"].get<std::string>();
    } else if (type == "tool_use") {
      const Json input = block.contains("input") ? block["input"] : Json::object();
      const std::string name = stringField(block, "name");
      if (answer_tool && name == kAnswerTool) {
        answer = input.dump();
      } else {
        tool_calls.push_back({{"id", stringField(block, "id")},
                              {"type", "function"},
                              {"function", {{"name", name}, {"arguments", input.dump()}}}});
      }
    }
    // thinking and redacted_thinking blocks are the model's reasoning, never the reply.
  }
  const std::string stop_reason = stringField(doc, "stop_reason");
  std::string finish = finishReason(stop_reason);
  if (answer && tool_calls.empty() && stop_reason == "tool_use") {
    finish = "stop";  // the forced "answer" call is the reply, not a tool to run
  }
  reply.content = answer ? *answer : text;
  reply.result = {{"model", stringField(doc, "model")},
                  {"finish_reason", finish},
                  {"stop_reason", stop_reason},
                  {"usage", mapUsage(doc.value("usage", Json::object()))}};
  if (doc.contains("id") && doc["id"].is_string()) {
    reply.result["id"] = doc["id"];
  }
  if (!tool_calls.empty()) {
    reply.result["assistant_message"] = {{"role", "assistant"},
                                         {"content", text.empty() ? Json(nullptr) : Json(text)},
                                         {"tool_calls", tool_calls}};
    reply.result["tool_calls"] = std::move(tool_calls);
  }
  if (reply.content.empty() && !reply.result.contains("tool_calls")) {
    if (stop_reason == "refusal") {
      throw Error(Rc::kError, "Claude refused to answer (stop_reason \"refusal\")");
    }
    throw Error(Rc::kError, "Anthropic returned an empty reply (stop_reason \"" + stop_reason +
                                "\")" + (stop_reason == "max_tokens" ? "; raise max_tokens" : ""));
  }
  return reply;
}

ai_provider::Failure classifyHttpError(int status, const Headers& headers, std::string_view body,
                                       std::string_view provider) {
  const ai_provider::ErrorBody error = ai_provider::parseErrorBody(body);
  const std::string base =
      std::string(provider) + " answered HTTP " + std::to_string(status) + ": " + describe(error);
  return classify(status, headers, base);
}

std::optional<ai_provider::Failure> classifyErrorBody(std::string_view body,
                                                      std::string_view provider) {
  Json doc = ai_provider::parseJsonBody(body);
  if (stringField(doc, "type") != "error") {
    return std::nullopt;
  }
  const ai_provider::ErrorBody error = ai_provider::parseErrorBody(body);
  const std::string base = std::string(provider) + " reported an error: " + describe(error);
  return classify(statusOfErrorType(error.type), {}, base);
}

}  // namespace waflow::anthropic
