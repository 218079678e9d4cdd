// ProviderClient: POSTs JSON bodies to an AI provider through the host's HTTP client, with the
// OpenAI and Anthropic SDKs' retry policy (protocols.md §F.1, §F.2): connection errors, timeouts
// and the answers the error classifier calls retryable (408/409/429/5xx) are retried up to
// max_retries times after min(0.5 s * 2^n, 8 s) with jitter, or after the server's
// retry-after-ms / retry-after when that is at most 120 s; x-should-retry overrides. What still
// fails is thrown as waflow::Error; a retryable failure comes out as Rc::kRetry with the wait the
// caller should observe. By default it speaks Chat Completions (POST /chat/completions,
// Authorization: Bearer); the path, the key header and the error classifier are options, so
// ai-anthropic uses it for POST /messages with x-api-key.
//
// Thread-safety: post() may run concurrently from any threads; options are immutable.
#pragma once

#include <waflow/sdk/host.hpp>
#include <waflow/sdk/task.hpp>
#include <waflow/sdk/types.hpp>

#include "provider_errors.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <string>

namespace waflow::ai_provider {

// How the API key is sent.
enum class KeyHeader {
  kBearer,   // Authorization: Bearer <key> (OpenAI and compatible servers)
  kXApiKey,  // x-api-key: <key> (Anthropic)
};

// Classifies an HTTP error answer (status not 2xx); see classifyHttpError.
using HttpErrorClassifier = std::function<Failure(
    int status, const Headers& headers, std::string_view body, std::string_view provider)>;
// Looks at a 2xx body for an error the server reported inside it (Anthropic's
// {"type": "error"}); nullopt when the body is an answer.
using OkBodyCheck =
    std::function<std::optional<Failure>(std::string_view body, std::string_view provider)>;

struct ClientOptions {
  std::string provider = "OpenAI";  // names the server in error messages and logs
  std::string base_url;             // e.g. "https://api.openai.com/v1"; a trailing '/' is dropped
  std::string path = "/chat/completions";  // appended to base_url
  std::string api_key;                     // sent as key_header says; "" sends none (local Ollama)
  KeyHeader key_header = KeyHeader::kBearer;
  Headers extra_headers;  // added last; one named like a built-in header replaces it
  std::chrono::milliseconds timeout{60000};  // per attempt
  int max_retries = 2;
  HttpErrorClassifier classify_http_error = classifyHttpError;
  OkBodyCheck ok_body_error;  // none: every 2xx body is an answer
};

// The connection settings every provider plugin reads the same way from its config block:
// base_url (default `default_base_url`), api_key, extra_headers, timeout (ms, default 60 s) and
// max_retries (default 2). `provider` names the server in messages. Plugins add their own
// headers and hooks afterwards.
ClientOptions clientOptionsFrom(const nlohmann::json& config, std::string provider,
                                std::string default_base_url);

class ProviderClient {
 public:
  ProviderClient(const Host& host, ClientOptions options);

  // POSTs `body` to {base_url}{path} and returns the 2xx response body. `budget`
  // bounds the whole call, retries and waits included (0 = only the per-attempt timeout).
  Task<std::string> post(std::string body, std::chrono::milliseconds budget);

  const ClientOptions& options() const { return options_; }
  const std::string& url() const { return url_; }

 private:
  double jitter();

  const Host& host_;
  const ClientOptions options_;
  const std::string url_;
  Headers headers_;
  std::mutex rng_mutex_;
  std::minstd_rand rng_;
};

}  // namespace waflow::ai_provider
