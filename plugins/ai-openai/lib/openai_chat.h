// The OpenAI Chat Completions wire format (protocols.md §F.1), as pure functions: waflow's AI
// request (abi.h, waflow_ai_request) to a request body and a response body to waflow's AI
// result; and completeChat(), one call through the shared ProviderClient. No I/O in the pure
// functions, so every rule is unit-tested without a server. Shared by every OpenAI-compatible
// provider plugin (ai-openai, ai-deepseek); what every provider shares (the retrying client,
// error classification, the request's model and budget) is plugins/lib/ai_provider.
//
// Thread-safety: pure functions and plain values; completeChat() as ProviderClient::post().
#pragma once

#include <waflow/sdk/task.hpp>
#include <waflow/sdk/types.hpp>

#include "ai_request.h"
#include "provider_client.h"
#include "provider_errors.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace waflow::openai {

// Which request field carries the token limit. OpenAI deprecated max_tokens (reasoning models
// reject it); older compatible servers only know max_tokens.
enum class TokensField { kMaxCompletionTokens, kMaxTokens };

// How a request's json_schema is asked for. Servers without structured outputs (DeepSeek)
// support only {"type":"json_object"}.
enum class JsonMode { kJsonSchema, kJsonObject };

// Per-instance settings the request builder applies when the request does not say.
struct ChatDefaults {
  std::string model;
  std::optional<double> temperature;
  std::optional<int64_t> max_tokens;
  TokensField tokens_field = TokensField::kMaxCompletionTokens;
  JsonMode json_mode = JsonMode::kJsonSchema;
  // Also describe a request's json_schema in the system prompt. Servers with only json_object
  // (DeepSeek) otherwise never learn which fields to return.
  bool schema_in_system = false;
  // Keep reasoning_content on assistant turns that made tool calls (DeepSeek thinking mode
  // rejects a later request without it, protocols.md §F.3 "Safe rule"). Otherwise
  // reasoning_content is never sent back.
  bool keep_tool_call_reasoning = false;
  // Provider-specific fields added to every body (e.g. DeepSeek's "thinking"); fields the
  // request sets win.
  nlohmann::json extra_body = nlohmann::json::object();
};

// model, temperature and max_tokens from a provider plugin's config block; the rest default.
ChatDefaults chatDefaultsFrom(const nlohmann::json& config);

// waflow's request_json to a Chat Completions body: "system" becomes the first message,
// "json_schema" becomes response_format, "max_tokens" the configured tokens field, "tools" and
// "tool_choice" pass through; "history" and "timeout_ms" (the engine's bookkeeping) are not sent,
// nor is any message's reasoning_content (see ChatDefaults::keep_tool_call_reasoning).
// Throws waflow::Error(kInvalid) naming what is wrong with the request.
nlohmann::json buildChatRequest(const nlohmann::json& request, const ChatDefaults& defaults);

// What a successful response amounts to.
struct ChatReply {
  // The assistant's text ("" when it only called tools). Never the reasoning_content of
  // thinking models: that is the model's chain of thought, not an answer for customers.
  std::string content;
  // {"model", "finish_reason", "usage": {"prompt_tokens", "completion_tokens", "total_tokens",
  //  "cached_tokens"?, "reasoning_tokens"?}, "id"?, "tool_calls"?, "assistant_message"?}
  // With tool calls, "tool_calls" is [{"id", "type": "function", "function": {"name",
  // "arguments": "<JSON text>"}}] and "assistant_message" is the message to append to
  // request_json.messages before the {"role": "tool", "tool_call_id", "content"} results:
  // {"role": "assistant", "content": <text or null>, "tool_calls": [...]}.
  nlohmann::json result;
  nlohmann::json message;  // choices[0].message as received (providers read their extra fields)
};

struct ReplyOptions {
  // Put the message's reasoning_content into result.assistant_message (DeepSeek thinking mode
  // needs it back on tool-call turns). It never goes into `content`.
  bool reasoning_in_assistant_message = false;
};

// Parses a 2xx body, skipping blank lines before the JSON (DeepSeek keeps busy connections alive
// with them). Throws waflow::Error: kError when the body is not a Chat Completions response or the
// model returned neither text nor tool calls (refusals included).
ChatReply parseChatResponse(std::string_view body, std::string_view provider,
                            const ReplyOptions& options = {});

// One Chat Completions call for an AI plugin's complete(): the request mapped with `defaults`,
// posted with its budget, the answer parsed. Shared by the OpenAI-compatible plugins.
Task<AiResult> completeChat(ai_provider::ProviderClient& client, const ChatDefaults& defaults,
                            AiRequest request, ReplyOptions options = {});

}  // namespace waflow::openai
