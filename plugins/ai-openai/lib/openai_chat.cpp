#include "openai_chat.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <ctime>

namespace waflow::openai {
namespace {

using Json = nlohmann::json;
using ai_provider::bodyExcerpt;
using ai_provider::parseAiRequest;
using ai_provider::parseJsonBody;
using ai_provider::requestBudget;
using ai_provider::requestModel;
using std::chrono::milliseconds;

const std::string kRoles[] = {"system", "developer", "user", "assistant", "tool"};

Json buildMessage(const Json& m, std::size_t index, bool keep_tool_call_reasoning) {
  const std::string where = "request_json.messages[" + std::to_string(index) + "]";
  if (!m.is_object()) {
    throw Error(Rc::kInvalid, where + " is not an object");
  }
  auto role = m.find("role");
  if (role == m.end() || !role->is_string() ||
      std::find(std::begin(kRoles), std::end(kRoles), role->get<std::string>()) ==
          std::end(kRoles)) {
    throw Error(Rc::kInvalid, where + ".role must be \"user\" or \"assistant\" (or system, " +
                                  "developer, tool)");
  }
  Json out = {{"role", *role}};
  auto content = m.find("content");
  bool has_tool_calls = m.contains("tool_calls");
  if (content == m.end() || content->is_null()) {
    if (!has_tool_calls) {
      throw Error(Rc::kInvalid, where + " has no content");
    }
    out["content"] = nullptr;
  } else if (content->is_string() || content->is_array()) {
    out["content"] = *content;
  } else {
    throw Error(Rc::kInvalid, where + ".content must be text or an array of content parts");
  }
  // Tool-calling turns keep the fields that tie a result to its call.
  for (const char* key : {"tool_calls", "tool_call_id", "name"}) {
    if (auto it = m.find(key); it != m.end()) {
      out[key] = *it;
    }
  }
  if (keep_tool_call_reasoning && has_tool_calls && *role == "assistant") {
    if (auto it = m.find("reasoning_content"); it != m.end() && it->is_string()) {
      out["reasoning_content"] = *it;
    }
  }
  return out;
}

// The instruction that tells a json_object-only model which fields to return.
std::string schemaInstruction(const Json& schema) {
  return "Answer with one JSON object and nothing else. It must match this JSON Schema:\n" +
         schema.dump();
}

// Usage with the details waflow records (cost needs the cached share; reasoning tokens are
// billed as output).
Json mapUsage(const Json& usage) {
  Json out = Json::object();
  if (!usage.is_object()) {
    return out;
  }
  for (const char* key : {"prompt_tokens", "completion_tokens", "total_tokens"}) {
    if (auto it = usage.find(key); it != usage.end() && it->is_number_integer()) {
      out[key] = *it;
    }
  }
  if (auto d = usage.find("prompt_tokens_details"); d != usage.end() && d->is_object()) {
    if (auto c = d->find("cached_tokens"); c != d->end() && c->is_number_integer()) {
      out["cached_tokens"] = *c;
    }
  }
  if (auto hit = usage.find("prompt_cache_hit_tokens");
      hit != usage.end() && hit->is_number_integer() && !out.contains("cached_tokens")) {
    out["cached_tokens"] = *hit;  // DeepSeek's name for the same thing
  }
  if (auto d = usage.find("completion_tokens_details"); d != usage.end() && d->is_object()) {
    if (auto r = d->find("reasoning_tokens"); r != d->end() && r->is_number_integer()) {
      out["reasoning_tokens"] = *r;
    }
  }
  return out;
}

// Some compatible servers answer content as an array of parts; the text parts are the reply.
std::string contentText(const Json& content) {
  if (content.is_string()) {
    return content.get<std::string>();
  }
  std::string out;
  if (content.is_array()) {
    for (const Json& part : content) {
      if (part.is_object() && part.value("type", "") == "text" && part.contains("text") &&
          part["text"].is_string()) {
        out += part["text"].get<std::string>();
      }
    }
  }
  return out;
}

}  // namespace

ChatDefaults chatDefaultsFrom(const nlohmann::json& config) {
  ChatDefaults d;
  d.model = config.value("model", "");
  if (auto it = config.find("temperature"); it != config.end() && it->is_number()) {
    d.temperature = it->get<double>();
  }
  if (auto it = config.find("max_tokens"); it != config.end() && it->is_number_integer()) {
    d.max_tokens = it->get<int64_t>();
  }
  return d;
}

// One field of the request after the other, each checked and copied (messages, tools,
// schema, limits); they read as the provider's request document, in its order.
Json buildChatRequest(const Json& request, const ChatDefaults& defaults) {
  if (!request.is_object()) {
    throw Error(Rc::kInvalid, "request_json must be a JSON object");
  }
  Json body = Json::object();
  body["model"] = requestModel(request, defaults.model);

  Json messages = Json::array();
  if (auto it = request.find("system"); it != request.end() && !it->is_null()) {
    if (!it->is_string()) {
      throw Error(Rc::kInvalid, "request_json.system must be a string");
    }
    if (!it->get<std::string>().empty()) {
      messages.push_back({{"role", "system"}, {"content", *it}});
    }
  }
  auto in = request.find("messages");
  if (in == request.end() || !in->is_array() || in->empty()) {
    throw Error(Rc::kInvalid, "request_json.messages must be a non-empty array");
  }
  for (std::size_t i = 0; i < in->size(); ++i) {
    messages.push_back(buildMessage((*in)[i], i, defaults.keep_tool_call_reasoning));
  }
  body["messages"] = std::move(messages);

  std::optional<int64_t> max_tokens = defaults.max_tokens;
  if (auto it = request.find("max_tokens"); it != request.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 1) {
      throw Error(Rc::kInvalid, "request_json.max_tokens must be a positive integer");
    }
    max_tokens = it->get<int64_t>();
  }
  if (max_tokens) {
    body[defaults.tokens_field == TokensField::kMaxTokens ? "max_tokens"
                                                          : "max_completion_tokens"] = *max_tokens;
  }
  std::optional<double> temperature = defaults.temperature;
  if (auto it = request.find("temperature"); it != request.end() && !it->is_null()) {
    if (!it->is_number()) {
      throw Error(Rc::kInvalid, "request_json.temperature must be a number");
    }
    temperature = it->get<double>();
  }
  if (temperature) {
    body["temperature"] = *temperature;
  }
  if (auto it = request.find("json_schema"); it != request.end() && !it->is_null()) {
    if (!it->is_object()) {
      throw Error(Rc::kInvalid, "request_json.json_schema must be a JSON Schema object");
    }
    if (defaults.schema_in_system) {
      Json& sent = body["messages"];
      if (sent[0]["role"] == "system" && sent[0]["content"].is_string()) {
        sent[0]["content"] =
            sent[0]["content"].get<std::string>() + "\n\n" + schemaInstruction(*it);
      } else {
        sent.insert(sent.begin(), Json{{"role", "system"}, {"content", schemaInstruction(*it)}});
      }
    }
    if (defaults.json_mode == JsonMode::kJsonObject) {
      body["response_format"] = {{"type", "json_object"}};
    } else {
      body["response_format"] = {
          {"type", "json_schema"},
          {"json_schema", {{"name", "result"}, {"schema", *it}, {"strict", true}}}};
    }
  }
  if (auto it = request.find("tools"); it != request.end() && !it->is_null()) {
    if (!it->is_array()) {
      throw Error(Rc::kInvalid, "request_json.tools must be an array");
    }
    if (!it->empty()) {
      body["tools"] = *it;
    }
  }
  if (auto it = request.find("tool_choice"); it != request.end() && !it->is_null()) {
    body["tool_choice"] = *it;
  }
  if (defaults.extra_body.is_object()) {
    for (const auto& [key, value] : defaults.extra_body.items()) {
      if (!body.contains(key)) {
        body[key] = value;
      }
    }
  }
  return body;
}

ChatReply parseChatResponse(std::string_view body, std::string_view provider,
                            const ReplyOptions& options) {
  const std::string who(provider);
  Json doc = parseJsonBody(body);
  if (doc.is_discarded() || !doc.is_object()) {
    throw Error(Rc::kError, who + " answered with a body that is not JSON: " + bodyExcerpt(body) +
                                " (is base_url an OpenAI-compatible API, ending in /v1?)");
  }
  auto choices = doc.find("choices");
  if (choices == doc.end() || !choices->is_array() || choices->empty() ||
      !(*choices)[0].is_object() || !(*choices)[0].contains("message") ||
      !(*choices)[0]["message"].is_object()) {
    if (doc.contains("error")) {
      // Some proxies answer 200 with an error object (OpenRouter mid-request failures).
      throw Error(Rc::kRetry, who + " reported an error: " + bodyExcerpt(doc["error"].dump()));
    }
    throw Error(Rc::kError, who + " answered without choices[0].message: " + bodyExcerpt(body));
  }
  const Json& choice = (*choices)[0];
  ChatReply reply;
  reply.message = choice["message"];
  reply.content = contentText(reply.message.value("content", Json()));
  std::string finish = choice.contains("finish_reason") && choice["finish_reason"].is_string()
                           ? choice["finish_reason"].get<std::string>()
                           : "";
  reply.result = {{"model", doc.value("model", "")},
                  {"finish_reason", finish},
                  {"usage", mapUsage(doc.value("usage", Json::object()))}};
  if (doc.contains("id") && doc["id"].is_string()) {
    reply.result["id"] = doc["id"];
  }
  auto tool_calls = reply.message.find("tool_calls");
  bool has_tool_calls =
      tool_calls != reply.message.end() && tool_calls->is_array() && !tool_calls->empty();
  if (has_tool_calls) {
    reply.result["tool_calls"] = *tool_calls;
    Json assistant = {{"role", "assistant"},
                      {"content", reply.content.empty() ? Json(nullptr) : Json(reply.content)},
                      {"tool_calls", *tool_calls}};
    if (options.reasoning_in_assistant_message) {
      if (auto r = reply.message.find("reasoning_content");
          r != reply.message.end() && r->is_string()) {
        assistant["reasoning_content"] = *r;
      }
    }
    reply.result["assistant_message"] = std::move(assistant);
  }
  if (reply.content.empty() && !has_tool_calls) {
    auto refusal = reply.message.find("refusal");
    if (refusal != reply.message.end() && refusal->is_string()) {
      throw Error(Rc::kError, who + " refused to answer: " + refusal->get<std::string>());
    }
    throw Error(Rc::kError, who + " returned an empty reply (finish_reason \"" + finish + "\")" +
                                (finish == "length" ? "; raise max_tokens" : ""));
  }
  return reply;
}

Task<AiResult> completeChat(ai_provider::ProviderClient& client, const ChatDefaults& defaults,
                            AiRequest request, ReplyOptions options) {
  const nlohmann::json req = parseAiRequest(request.request_json);
  const nlohmann::json body = buildChatRequest(req, defaults);
  std::string answer = co_await client.post(body.dump(), requestBudget(req));
  ChatReply reply = parseChatResponse(answer, client.options().provider, options);
  co_return AiResult{std::move(reply.content), reply.result.dump()};
}

}  // namespace waflow::openai
