// The Anthropic Messages wire format (protocols.md §F.2), as pure functions: waflow's AI request
// (OpenAI-style messages and tools, abi.h) to a Messages body, a Messages response to waflow's
// AI result in the same normalized shape ai-openai returns, and an HTTP failure to a result code
// plus whether to retry. No I/O here, so every rule is unit-tested without a server; the plugin
// sends the body with ai_provider::ProviderClient (path /messages, x-api-key).
//
// Thread-safety: pure functions and plain values.
#pragma once

#include "ai_request.h"
#include "provider_errors.h"

#include <waflow/sdk/types.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace waflow::anthropic {

// The tool a request's json_schema becomes: Claude is made to call it, and its input is the
// JSON answer.
inline constexpr const char* kAnswerTool = "answer";

// Per-instance settings the request builder applies when the request does not say.
struct MessagesDefaults {
  std::string model;
  int64_t max_tokens = 1024;  // Anthropic requires a limit on every request
  std::optional<double> temperature;
};

// waflow's request_json to a Messages body:
//   - "system" (and any system/developer messages) -> the top-level "system" string;
//   - user/assistant messages -> alternating turns of content blocks, consecutive turns of one
//     role merged into one turn;
//   - assistant "tool_calls" -> tool_use blocks; "tool" messages -> tool_result blocks in a user
//     turn;
//   - "tools" [{type: function, function: {name, description, parameters}}] ->
//     [{name, description, input_schema}]; "tool_choice" auto/required/none/{function} ->
//     {type: auto|any|none|tool};
//   - "json_schema" -> a tool named "answer" with that input_schema, forced with
//     tool_choice {type: tool, name: answer};
//   - "max_tokens" (else the default), "temperature" (capped at Anthropic's 1.0), "model".
// "history" and "timeout_ms" (the engine's bookkeeping) are not sent. Throws
// waflow::Error(kInvalid) naming what is wrong with the request.
nlohmann::json buildMessagesRequest(const nlohmann::json& request,
                                    const MessagesDefaults& defaults);

// What a successful response amounts to.
struct MessagesReply {
  // The text blocks joined; with json_schema, the "answer" tool's input as JSON text. Thinking
  // blocks are never part of it.
  std::string content;
  // {"id", "model", "finish_reason", "stop_reason", "usage": {"prompt_tokens",
  //  "completion_tokens", "total_tokens", "cached_tokens"}, "tool_calls"?,
  //  "assistant_message"?}: "finish_reason" in OpenAI's terms (end_turn and stop_sequence ->
  // stop, max_tokens -> length, tool_use -> tool_calls, refusal -> content_filter, others as
  // is), "stop_reason" as Anthropic said it; "prompt_tokens" counts cache reads and writes too.
  // tool_use blocks come back in OpenAI's shape: "tool_calls" [{"id", "type": "function",
  // "function": {"name", "arguments": "<JSON text>"}}] and "assistant_message" {"role":
  // "assistant", "content": <text or null>, "tool_calls": [...]}, the message to append before
  // the tool results.
  nlohmann::json result;
};

// Parses a 2xx body. `answer_tool` says the request had a json_schema (the "answer" tool's
// input is then the content). Throws waflow::Error: the error the body reports when it is
// {"type": "error"} (see classifyErrorBody); kError when it is not a Messages response or holds
// neither text nor tool calls.
MessagesReply parseMessagesResponse(std::string_view body, bool answer_tool);

// An HTTP error answer ({"type": "error", "error": {"type", "message"}}): 401/403 auth;
// 400/404/413 invalid; 402 billing (not retried); 408/409/429/5xx including 529 overloaded
// retryable; x-should-retry: true|false overrides whether to retry.
ai_provider::Failure classifyHttpError(int status, const Headers& headers, std::string_view body,
                                       std::string_view provider);

// A 2xx body that is an error ({"type": "error", ...}), classified by its error type as the
// matching HTTP status would be; nullopt for any other body.
std::optional<ai_provider::Failure> classifyErrorBody(std::string_view body,
                                                      std::string_view provider);

}  // namespace waflow::anthropic
