// What an AI provider's failure means, for every provider plugin: an HTTP error answer or a
// transport failure classified into a result code and whether (and when) to retry; the
// server's retry hints; error bodies in the shapes OpenAI, DeepSeek, Anthropic and Ollama use;
// and the retry backoff of the OpenAI and Anthropic SDKs (protocols.md §F.1, §F.2). No I/O here,
// so every rule is unit-tested without a server; ProviderClient (provider_client.h) uses them.
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

namespace waflow::ai_provider {

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

}  // namespace waflow::ai_provider
