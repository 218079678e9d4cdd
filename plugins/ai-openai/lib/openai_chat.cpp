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
using std::chrono::milliseconds;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

std::string_view trim(std::string_view s) {
  const char* kSpace = " \t\r\n";
  std::size_t begin = s.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) {
    return {};
  }
  return s.substr(begin, s.find_last_not_of(kSpace) - begin + 1);
}

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

std::optional<milliseconds> parseSeconds(std::string_view text, double scale) {
  std::string s(trim(text));
  if (s.empty()) {
    return std::nullopt;
  }
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !std::isfinite(v)) {
    return std::nullopt;
  }
  return milliseconds(static_cast<int64_t>(std::ceil(v * scale)));
}

std::optional<milliseconds> parseHttpDate(std::string_view text,
                                          std::chrono::system_clock::time_point now) {
  std::string s(trim(text));
  std::tm tm{};
  const char* end = strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S", &tm);
  if (end == nullptr) {
    return std::nullopt;
  }
  auto when = std::chrono::system_clock::from_time_t(timegm(&tm));
  return std::chrono::duration_cast<milliseconds>(when - now);
}

}  // namespace

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

milliseconds parseRetryAfter(const Headers& headers, std::chrono::system_clock::time_point now) {
  if (auto ms = detail::findHeader(headers, "retry-after-ms")) {
    if (auto v = parseSeconds(*ms, 1.0); v && v->count() > 0) {
      return *v;
    }
  }
  if (auto s = detail::findHeader(headers, "retry-after")) {
    if (auto v = parseSeconds(*s, 1000.0); v && v->count() > 0) {
      return *v;
    }
    if (auto v = parseHttpDate(*s, now); v && v->count() > 0) {
      return *v;
    }
  }
  return milliseconds(0);
}

Json parseJsonBody(std::string_view body) {
  return Json::parse(trim(body), nullptr, false);
}

std::string bodyExcerpt(std::string_view body) {
  std::string_view t = trim(body);
  constexpr std::size_t kMax = 200;
  std::string out(t.substr(0, kMax));
  if (t.size() > kMax) {
    out += "...";
  }
  return out.empty() ? "(empty body)" : out;
}

ErrorBody parseErrorBody(std::string_view body) {
  ErrorBody out;
  Json doc = parseJsonBody(body);
  if (!doc.is_discarded() && doc.is_object() && doc.contains("error")) {
    const Json& e = doc["error"];
    if (e.is_object()) {
      auto text = [&e](const char* key) {
        return e.contains(key) && e[key].is_string() ? e[key].get<std::string>() : "";
      };
      out.message = text("message");
      out.code = text("code");
      out.type = text("type");
    } else if (e.is_string()) {
      out.message = e.get<std::string>();  // Ollama: {"error": "model 'x' not found"}
    }
  }
  if (out.message.empty()) {
    out.message = bodyExcerpt(body);
  }
  return out;
}

void applyShouldRetry(const Headers& headers, Failure& f) {
  if (auto should = detail::findHeader(headers, "x-should-retry")) {
    std::string v = lower(trim(*should));
    if (v == "true") {
      f.retryable = true;
      f.rc = Rc::kRetry;
    } else if (v == "false") {
      f.retryable = false;
    }
  }
}

Failure classifyHttpError(int status, const Headers& headers, std::string_view body,
                          std::string_view provider) {
  const std::string who(provider);
  const ErrorBody error = parseErrorBody(body);
  const std::string& code = error.code;
  const std::string base = who + " answered HTTP " + std::to_string(status) + ": " + error.message;

  Failure f;
  f.retry_after = parseRetryAfter(headers);
  if (status == 401 || status == 403) {
    f.rc = Rc::kAuth;
    f.message = base + " (check api_key" + (status == 403 ? ", organization and project" : "") +
                " in the AI provider's config)";
  } else if (status == 402 || (status == 429 && code == "insufficient_quota")) {
    f.rc = Rc::kError;
    f.message = base + " (the account is out of credit or quota: check billing; waiting will " +
                "not help)";
  } else if (status == 400 || status == 404 || status == 422) {
    f.rc = Rc::kInvalid;
    f.message = base;
    if (status == 404) {
      f.message += " (check model and base_url)";
    }
  } else if (status == 408 || status == 409 || status == 429 || status >= 500) {
    f.rc = Rc::kRetry;
    f.retryable = true;
    f.message = base;
  } else {
    f.rc = Rc::kError;
    f.message = base;
  }
  applyShouldRetry(headers, f);
  return f;
}

Failure classifyTransportError(waflow_http_error error, std::string_view detail,
                               std::string_view provider, milliseconds timeout) {
  const std::string who(provider);
  Failure f;
  switch (error) {
    case WAFLOW_HTTP_TIMEOUT:
      f = {Rc::kRetry,
           true,
           {},
           who + " did not answer within " + std::to_string(timeout.count()) + " ms"};
      break;
    case WAFLOW_HTTP_CONNECT:
      f = {Rc::kRetry, true, {}, "cannot connect to " + who + ": " + std::string(detail)};
      break;
    case WAFLOW_HTTP_TLS:
      f = {Rc::kError, false, {}, "TLS failed with " + who + ": " + std::string(detail)};
      break;
    case WAFLOW_HTTP_TOO_LARGE:
      f = {Rc::kError, false, {}, who + "'s answer is too large: " + std::string(detail)};
      break;
    case WAFLOW_HTTP_CANCELLED:
    case WAFLOW_HTTP_SHUTDOWN:
      f = {Rc::kRetry, false, {}, "the call to " + who + " was cancelled: " + std::string(detail)};
      break;
    default:
      f = {Rc::kRetry, true, {}, "the call to " + who + " failed: " + std::string(detail)};
      break;
  }
  return f;
}

milliseconds backoffDelay(int retry, double jitter) {
  double seconds = std::min(0.5 * std::pow(2.0, std::max(0, retry)), 8.0);
  double scaled = seconds * (1.0 - 0.25 * std::clamp(jitter, 0.0, 1.0));
  return milliseconds(static_cast<int64_t>(scaled * 1000.0));
}

}  // namespace waflow::openai
