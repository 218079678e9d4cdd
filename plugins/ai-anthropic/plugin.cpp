// ai-anthropic: Claude through the Anthropic Messages API (non-streaming, protocols.md §F.2).
// waflow's OpenAI-style AI requests are mapped to Messages bodies by lib/anthropic_messages.h
// and sent by plugins/lib/ai_provider's ProviderClient (POST {base_url}/messages with x-api-key and
// anthropic-version, the same retry policy); results come back in the shape ai-openai returns.
//
// Thread-safety: configuration is immutable after construction; ProviderClient is thread-safe, so
// complete() runs concurrently.
#include "anthropic_messages.h"
#include "provider_client.h"

#include <waflow/sdk/plugin.hpp>

#include <string>

namespace {

using Json = nlohmann::json;
namespace anthropic = waflow::anthropic;
namespace ai_provider = waflow::ai_provider;

constexpr const char* kSchema = R"({
  "type": "object",
  "properties": {
    "base_url": {
      "type": "string", "default": "https://api.anthropic.com/v1", "pattern": "^https?://",
      "description": "API root before /messages."
    },
    "api_key": {
      "type": "string", "secret": true, "minLength": 1,
      "description": "Sent as x-api-key; write ${ANTHROPIC_API_KEY}."
    },
    "model": {
      "type": "string", "minLength": 1,
      "description": "Model id, e.g. claude-haiku-4-5; a flow step may override it."
    },
    "anthropic_version": {
      "type": "string", "default": "2023-06-01",
      "description": "Sent as the anthropic-version header."
    },
    "anthropic_beta": {
      "type": "string",
      "description": "Sent as the anthropic-beta header when set (comma-separated features)."
    },
    "max_tokens": {
      "type": "integer", "default": 1024, "minimum": 1,
      "description": "Reply token limit when a flow step sets none (the API needs one)."
    },
    "temperature": {
      "type": "number", "minimum": 0, "maximum": 1,
      "description": "Sampling temperature when a flow step does not set one."
    },
    "extra_headers": {
      "type": "object", "default": {}, "additionalProperties": {"type": "string"},
      "x-secret-substitutions": true,
      "description": "More request headers."
    },
    "timeout": {
      "type": "string", "format": "duration", "default": "60s", "minimum": 100,
      "description": "Longest wait for one answer; a timed-out attempt is retried."
    },
    "max_retries": {
      "type": "integer", "default": 2, "minimum": 0, "maximum": 10,
      "description": "Retries after 429, 5xx (529 included), timeouts and connection errors."
    }
  },
  "required": ["model", "api_key"]
})";

ai_provider::ClientOptions clientOptions(const waflow::Config& config) {
  ai_provider::ClientOptions o =
      ai_provider::clientOptionsFrom(config, "Anthropic", "https://api.anthropic.com/v1");
  o.path = "/messages";
  o.key_header = ai_provider::KeyHeader::kXApiKey;
  // Ahead of the user's extra_headers, so one of those with the same name replaces it.
  waflow::Headers built_in = {
      {"anthropic-version", config.value("anthropic_version", "2023-06-01")}};
  if (std::string beta = config.value("anthropic_beta", ""); !beta.empty()) {
    built_in.emplace_back("anthropic-beta", beta);
  }
  o.extra_headers.insert(o.extra_headers.begin(), built_in.begin(), built_in.end());
  o.classify_http_error = anthropic::classifyHttpError;
  o.ok_body_error = anthropic::classifyErrorBody;
  return o;
}

anthropic::MessagesDefaults messagesDefaults(const waflow::Config& config) {
  anthropic::MessagesDefaults d;
  d.model = config.value("model", "");
  d.max_tokens = config.value("max_tokens", int64_t{1024});
  if (auto it = config.find("temperature"); it != config.end() && it->is_number()) {
    d.temperature = it->get<double>();
  }
  return d;
}

class AnthropicMessages {
 public:
  static constexpr waflow::PluginInfo kInfo{waflow::Kind::kAi, "ai-anthropic", "0.1.0",
                                            "Anthropic Claude (Messages API)", kSchema};

  AnthropicMessages(waflow::Host& host, const waflow::Config& config)
      : defaults_(messagesDefaults(config)), client_(host, clientOptions(config)) {
    if (defaults_.model.empty()) {
      throw waflow::Error(waflow::Rc::kInvalid, "model is required, e.g. model: claude-haiku-4-5");
    }
    if (client_.options().api_key.empty()) {
      throw waflow::Error(waflow::Rc::kInvalid,
                          "api_key is required, e.g. api_key: ${ANTHROPIC_API_KEY}");
    }
    host.registerSecret(client_.options().api_key);
  }

  waflow::Task<waflow::AiResult> complete(waflow::AiRequest request) {
    const Json req = ai_provider::parseAiRequest(request.request_json);
    Json body = anthropic::buildMessagesRequest(req, defaults_);
    const bool answer_tool = req.contains("json_schema") && !req["json_schema"].is_null();
    std::string answer = co_await client_.post(body.dump(), ai_provider::requestBudget(req));
    anthropic::MessagesReply reply = anthropic::parseMessagesResponse(answer, answer_tool);
    co_return waflow::AiResult{std::move(reply.content), reply.result.dump()};
  }

 private:
  const anthropic::MessagesDefaults defaults_;
  ai_provider::ProviderClient client_;
};

}  // namespace

WAFLOW_PLUGIN(AnthropicMessages)
