// The OpenAI Chat Completions wire format (protocols.md §F.1), as pure functions: waflow's AI
// request (abi.h, waflow_ai_request) to a request body, a response body to waflow's AI result, and
// an HTTP failure to a result code plus whether and when to retry. No I/O here, so every rule is
// unit-tested without a server; ChatClient (openai_client.h) does the HTTP. Shared by every
// OpenAI-compatible provider plugin (ai-openai, ai-deepseek); the provider-neutral parts (retry
// hints, backoff, transport failures, error bodies) are also used by ai-anthropic.
//
// Thread-safety: pure functions and plain values.
#pragma once

#include <waflow/sdk/types.hpp>

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

// The model to ask: the request's "model" (a flow step's choice), else the configured one.
// Throws waflow::Error(kInvalid) when neither names one.
std::string requestModel(const nlohmann::json& request, const std::string& configured);

// The engine's request_json parsed; throws waflow::Error(kInvalid) when it is not a JSON object.
nlohmann::json parseAiRequest(std::string_view request_json);

// How long the whole call may take: the request's "timeout_ms" (the flow step's timeout), 0 =
// only the per-attempt timeout.
std::chrono::milliseconds requestBudget(const nlohmann::json& request);

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

// What to do about one failed attempt.
struct Failure {
  Rc rc = Rc::kError;
  bool retryable = false;                   // worth another attempt now (after a backoff)
  std::chrono::milliseconds retry_after{};  // the server's hint, 0 = none
  std::string message;                      // for the operator; never contains the API key
};

// The server's wait hint: retry-after-ms (milliseconds), else retry-after (seconds, fractions
// allowed, or an HTTP date relative to `now`). 0 when absent, unparsable or not positive.
std::chrono::milliseconds parseRetryAfter(
    const Headers& headers,
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

// A body parsed as JSON after skipping surrounding whitespace and blank lines; discarded (see
// nlohmann::json::is_discarded) when it is not JSON.
nlohmann::json parseJsonBody(std::string_view body);

// The start of a body for an error message, enough to recognise an HTML error page.
std::string bodyExcerpt(std::string_view body);

// The fields of an error answer: {"error": {"message", "type", "code"}} (OpenAI, DeepSeek,
// Anthropic's {"type": "error", "error": {...}}) or {"error": "text"} (Ollama). `message` falls
// back to an excerpt of the body.
struct ErrorBody {
  std::string message;
  std::string type;
  std::string code;
};
ErrorBody parseErrorBody(std::string_view body);

// x-should-retry: true|false, when present, decides whether the failure is retried.
void applyShouldRetry(const Headers& headers, Failure& failure);

// An HTTP error answer: 401/403 auth; 400/404/422 invalid; 429 insufficient_quota and 402 out of
// credit (not retried); 408/409/429/5xx retryable; x-should-retry: true|false overrides whether
// to retry. The message carries the provider's error.message.
Failure classifyHttpError(int status, const Headers& headers, std::string_view body,
                          std::string_view provider);

// A transport failure (no HTTP answer): timeouts and connection errors are retryable; TLS and
// oversize answers are not; a stopping daemon is kRetry but not retried here.
Failure classifyTransportError(waflow_http_error error, std::string_view detail,
                               std::string_view provider, std::chrono::milliseconds timeout);

// The wait before retry number `retry` (0-based): min(0.5 s * 2^retry, 8 s) scaled by
// (1 - 0.25 * jitter), jitter in [0, 1), as the OpenAI SDKs do.
std::chrono::milliseconds backoffDelay(int retry, double jitter);

// Server hints longer than this are not waited for in-process; the caller gets them instead.
inline constexpr std::chrono::milliseconds kMaxRetryAfter{120000};

}  // namespace waflow::openai
