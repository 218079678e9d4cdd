// ai-openai: OpenAI Chat Completions (non-streaming) and every server that speaks it: OpenAI,
// OpenRouter, Ollama's /v1, vLLM, LM Studio and the like. base_url, model, API key and extra
// headers are configuration. The wire format lives in lib/ (openai_chat.h) and the retrying client
// in plugins/lib/ai_provider, so other OpenAI-compatible provider plugins reuse it.
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
      "type": "string", "default": "https://api.openai.com/v1", "pattern": "^https?://",
      "description": "API root before /chat/completions, e.g. http://localhost:11434/v1."
    },
    "api_key": {
      "type": "string", "secret": true, "default": "",
      "description": "Bearer token; write ${OPENAI_API_KEY}. Empty: no auth (Ollama)."
    },
    "model": {
      "type": "string", "minLength": 1,
      "description": "Model id, e.g. gpt-4o-mini; a flow step may override it."
    },
    "organization": {
      "type": "string", "default": "", "description": "Sent as OpenAI-Organization when set."
    },
    "project": {"type": "string", "default": "", "description": "Sent as OpenAI-Project when set."},
    "extra_headers": {
      "type": "object", "default": {}, "additionalProperties": {"type": "string"},
      "x-secret-substitutions": true,
      "description": "More request headers, e.g. OpenRouter's HTTP-Referer and X-Title."
    },
    "timeout": {
      "type": "string", "format": "duration", "default": "60s", "minimum": 100,
      "description": "Longest wait for one answer; a timed-out attempt is retried."
    },
    "max_retries": {
      "type": "integer", "default": 2, "minimum": 0, "maximum": 10,
      "description": "Retries after 429, 5xx, timeouts and connection errors."
    },
    "temperature": {
      "type": "number", "minimum": 0, "maximum": 2,
      "description": "Sampling temperature when a flow step does not set one."
    },
    "max_tokens": {
      "type": "integer", "minimum": 1,
      "description": "Reply length limit in tokens when a flow step does not set one."
    },
    "max_tokens_field": {
      "type": "string", "enum": ["max_completion_tokens", "max_tokens"],
      "default": "max_completion_tokens",
      "description": "Request field for the limit; older compatible servers need max_tokens."
    },
    "json_mode": {
      "type": "string", "enum": ["json_schema", "json_object"], "default": "json_schema",
      "description": "How JSON output is requested; json_object for servers without schemas."
    }
  },
  "required": ["model"]
})";

ai_provider::ClientOptions clientOptions(const waflow::Config& config) {
  ai_provider::ClientOptions o = ai_provider::clientOptionsFrom(config, "OpenAI-compatible server",
                                                                "https://api.openai.com/v1");
  if (std::string org = config.value("organization", ""); !org.empty()) {
    o.extra_headers.emplace_back("OpenAI-Organization", org);
  }
  if (std::string project = config.value("project", ""); !project.empty()) {
    o.extra_headers.emplace_back("OpenAI-Project", project);
  }
  return o;
}

openai::ChatDefaults chatDefaults(const waflow::Config& config) {
  openai::ChatDefaults d = openai::chatDefaultsFrom(config);
  d.tokens_field = config.value("max_tokens_field", "max_completion_tokens") == "max_tokens"
                       ? openai::TokensField::kMaxTokens
                       : openai::TokensField::kMaxCompletionTokens;
  d.json_mode = config.value("json_mode", "json_schema") == "json_object"
                    ? openai::JsonMode::kJsonObject
                    : openai::JsonMode::kJsonSchema;
  return d;
}

class OpenAiChat {
 public:
  static constexpr waflow::PluginInfo kInfo{
      waflow::Kind::kAi, "ai-openai", "0.1.0",
      "OpenAI Chat Completions and compatible servers (OpenRouter, Ollama, vLLM, ...)", kSchema};

  OpenAiChat(waflow::Host& host, const waflow::Config& config)
      : defaults_(chatDefaults(config)), client_(host, clientOptions(config)) {
    if (defaults_.model.empty()) {
      throw waflow::Error(waflow::Rc::kInvalid, "model is required, e.g. model: gpt-4o-mini");
    }
    if (!client_.options().api_key.empty()) {
      host.registerSecret(client_.options().api_key);
    }
  }

  waflow::Task<waflow::AiResult> complete(waflow::AiRequest request) {
    return openai::completeChat(client_, defaults_, std::move(request));
  }

 private:
  const openai::ChatDefaults defaults_;
  ai_provider::ProviderClient client_;
};

}  // namespace

WAFLOW_PLUGIN(OpenAiChat)
