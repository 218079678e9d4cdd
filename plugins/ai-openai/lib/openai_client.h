// ChatClient: POSTs Chat Completions bodies to an OpenAI-compatible server through the host's
// HTTP client, with the OpenAI SDKs' retry policy (protocols.md §F.1): connection errors,
// timeouts, 408/409/429/5xx are retried up to max_retries times after min(0.5 s * 2^n, 8 s) with
// jitter, or after the server's retry-after-ms / retry-after when that is at most 120 s;
// x-should-retry overrides. What still fails is thrown as waflow::Error; a retryable failure
// comes out as Rc::kRetry with the wait the caller should observe.
//
// Thread-safety: post() may run concurrently from any threads; options are immutable.
#pragma once

#include <waflow/sdk/host.hpp>
#include <waflow/sdk/task.hpp>
#include <waflow/sdk/types.hpp>

#include <chrono>
#include <mutex>
#include <random>
#include <string>

namespace waflow::openai {

struct ClientOptions {
  std::string provider = "OpenAI";  // names the server in error messages and logs
  std::string base_url;             // e.g. "https://api.openai.com/v1"; a trailing '/' is dropped
  std::string api_key;              // sent as Authorization: Bearer; "" sends none (local Ollama)
  Headers extra_headers;            // added last; one named like a built-in header replaces it
  std::chrono::milliseconds timeout{60000};  // per attempt
  int max_retries = 2;
};

class ChatClient {
 public:
  ChatClient(const Host& host, ClientOptions options);

  // POSTs `body` to {base_url}/chat/completions and returns the 2xx response body. `budget`
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

}  // namespace waflow::openai
