// ai-deepseek: DeepSeek's Chat Completions API (OpenAI-compatible, protocols.md §F.3), through
// ai-openai's wire format and retrying client with DeepSeek's differences:
//   - the model is always configured (DeepSeek renames models; there is no default);
//   - "thinking" and "reasoning_effort" are sent when configured;
//   - JSON output is json_object (no json_schema), with the schema described in the system
//     prompt so the model knows the fields;
//   - reasoning_content (the chain of thought) is never returned as the reply, and is sent back
//     only on assistant turns that made tool calls, unless thinking is disabled;
//   - the limit field is max_tokens; blank keep-alive lines before the JSON are skipped; 402
//     (insufficient balance) is not retried, 429 and 503 (overloaded) are.
//
// Thread-safety: configuration is immutable after construction; ProviderClient is thread-safe, so
// complete() runs concurrently.
#include "openai_chat.h"
#include "provider_client.h"

#include <waflow/sdk/plugin.hpp>

#include <string>

namespace {

using Json = nlohmann::json;
namespace openai = waflow::openai;
namespace ai_provider = waflow::ai_provider;

constexpr const char* kSchema = R"({
  "type": "object",
  "properties": {
    "base_url": {
      "type": "string", "default": "https://api.deepseek.com", "pattern": "^https?://",
      "description": "API root before /chat/completions."
    },
    "api_key": {
      "type": "string", "secret": true, "minLength": 1,
      "description": "Bearer token; write ${DEEPSEEK_API_KEY}."
    },
    "model": {
      "type": "string", "minLength": 1,
      "description":
        "Required. 2026: deepseek-flash, deepseek-v4-pro; legacy deepseek-chat, deepseek-reasoner."
    },
    "thinking": {
      "type": "string", "enum": ["enabled", "disabled"],
      "description": "Sent as {\"thinking\": {\"type\": ...}}; unset: the model's default."
    },
    "reasoning_effort": {
      "type": "string", "minLength": 1,
      "description": "Sent as reasoning_effort when set, e.g. high or max."
    },
    "temperature": {
      "type": "number", "minimum": 0, "maximum": 2,
      "description": "Sampling temperature when a flow step does not set one."
    },
    "max_tokens": {
      "type": "integer", "minimum": 1,
      "description": "Reply token limit, thinking included, when a flow step sets none."
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
      "description": "Retries after 429, 503 and other 5xx, timeouts and connection errors."
    }
  },
  "required": ["model", "api_key"]
})";

ai_provider::ClientOptions clientOptions(const waflow::Config& config) {
  return ai_provider::clientOptionsFrom(config, "DeepSeek", "https://api.deepseek.com");
}

openai::ChatDefaults chatDefaults(const waflow::Config& config) {
  openai::ChatDefaults d = openai::chatDefaultsFrom(config);
  d.tokens_field = openai::TokensField::kMaxTokens;
  d.json_mode = openai::JsonMode::kJsonObject;
  d.schema_in_system = true;
  const std::string thinking = config.value("thinking", "");
  if (!thinking.empty()) {
    d.extra_body["thinking"] = {{"type", thinking}};
  }
  if (std::string effort = config.value("reasoning_effort", ""); !effort.empty()) {
    d.extra_body["reasoning_effort"] = effort;
  }
  // Thinking mode needs a tool-call turn's reasoning_content back (HTTP 400 otherwise). When
  // thinking is left to the model's default, a turn that has reasoning_content was a thinking
  // turn, so it is kept too; only an explicit "disabled" drops it.
  d.keep_tool_call_reasoning = thinking != "disabled";
  return d;
}

class DeepSeekChat {
 public:
  static constexpr waflow::PluginInfo kInfo{waflow::Kind::kAi, "ai-deepseek", "0.1.0",
                                            "DeepSeek (OpenAI-compatible Chat Completions)",
                                            kSchema};

  DeepSeekChat(waflow::Host& host, const waflow::Config& config)
      : defaults_(chatDefaults(config)), client_(host, clientOptions(config)) {
    if (defaults_.model.empty()) {
      throw waflow::Error(
          waflow::Rc::kInvalid,
          "model is required (DeepSeek renames models), e.g. model: deepseek-flash");
    }
    if (client_.options().api_key.empty()) {
      throw waflow::Error(waflow::Rc::kInvalid,
                          "api_key is required, e.g. api_key: ${DEEPSEEK_API_KEY}");
    }
    host.registerSecret(client_.options().api_key);
  }

  waflow::Task<waflow::AiResult> complete(waflow::AiRequest request) {
    // content only: reasoning_content is the chain of thought and must never reach a customer.
    return openai::completeChat(
        client_, defaults_, std::move(request),
        {.reasoning_in_assistant_message = defaults_.keep_tool_call_reasoning});
  }

 private:
  const openai::ChatDefaults defaults_;
  ai_provider::ProviderClient client_;
};

}  // namespace

WAFLOW_PLUGIN(DeepSeekChat)
