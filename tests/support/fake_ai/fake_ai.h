// FakeAi: an in-process OpenAI-compatible Chat Completions server (protocols.md §F.1, and the
// compatible servers of §F.3-F.5) on real HTTP at 127.0.0.1 (ephemeral port) with its own
// threads, so AI provider plugins are tested over real sockets. It
//   - serves POST <prefix>/chat/completions (prefix "/v1" by default) and checks
//     `Authorization: Bearer <api_key>` (401 with OpenAI's invalid_api_key error otherwise);
//   - records every request (method, target, headers, raw and parsed body);
//   - answers, by default, OpenAI's response shape with "Echo: <last user message>", the
//     requested model and word-count usage, after an optional latency;
//   - answers scripted replies instead, in request order: any status, headers and body, e.g.
//     401, 429 with retry-after, 429 insufficient_quota, 500, malformed JSON, tool calls, slow
//     answers (to make the client time out) and blank lines before the JSON (DeepSeek's
//     keep-alive).
//
// Thread-safety: every method may be called from any thread while requests are being served.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace waflow::test {

using FakeAiHeaders = std::vector<std::pair<std::string, std::string>>;

// One HTTP request the fake received.
struct RecordedAiRequest {
  std::string method;
  std::string target;     // e.g. "/v1/chat/completions"
  FakeAiHeaders headers;  // names lower-cased
  std::string raw_body;
  nlohmann::json body;  // parsed (null if it was not JSON)
  int status = 0;       // what the fake answered
  // The value of a header (name case-insensitive), "" when absent.
  std::string header(std::string_view name) const;
  bool hasHeader(std::string_view name) const;
};

// One answer the fake gives instead of the default.
struct FakeAiReply {
  int status = 200;
  std::string body;
  FakeAiHeaders headers;  // added to Content-Type: application/json
  std::chrono::milliseconds delay{0};

  // 200 with OpenAI's response shape: one choice with `content`, finish_reason "stop" and the
  // given usage details (cached and reasoning tokens included).
  static FakeAiReply ok(const std::string& content, const std::string& model = "gpt-4o-mini",
                        int prompt_tokens = 12, int completion_tokens = 5, int cached_tokens = 0,
                        int reasoning_tokens = 0);
  // 200 with any JSON body.
  static FakeAiReply json(const nlohmann::json& body, int status = 200);
  // 200 whose assistant message calls one function (content null, finish_reason "tool_calls").
  static FakeAiReply toolCall(const std::string& id, const std::string& name,
                              const std::string& arguments_json);
  // OpenAI's error body {"error": {"message", "type", "param": null, "code"}}.
  static FakeAiReply error(int status, const std::string& type, const std::string& code,
                           const std::string& message);
  static FakeAiReply unauthorized();
  // 429 rate_limit_exceeded with retry-after (seconds) and/or retry-after-ms when > 0.
  static FakeAiReply rateLimited(int retry_after_s, int retry_after_ms = 0);
  // 429 insufficient_quota: must not be retried.
  static FakeAiReply insufficientQuota();
  static FakeAiReply serverError(int status = 500);
  // 200 whose body is not JSON (a proxy's HTML page).
  static FakeAiReply malformed();
  // This reply after `delay`.
  FakeAiReply after(std::chrono::milliseconds delay) const;
  FakeAiReply withHeader(std::string name, std::string value) const;
  // This reply's body preceded by `n` blank lines, as DeepSeek sends while a request waits.
  FakeAiReply withBlankLines(int n) const;
};

class FakeAi {
 public:
  struct Options {
    std::string api_key = "sk-test";  // "" accepts any or no Authorization
    std::string path_prefix = "/v1";
    int threads = 1;
  };

  FakeAi();
  explicit FakeAi(Options options);
  ~FakeAi();  // stops the loop (unanswered requests are dropped) and joins the threads
  FakeAi(const FakeAi&) = delete;
  FakeAi& operator=(const FakeAi&) = delete;

  uint16_t port() const { return port_; }
  // "http://127.0.0.1:<port><prefix>": the base_url to configure.
  std::string baseUrl() const;

  // The next n chat requests (in arrival order) get `reply`; queued after earlier ones.
  void script(const FakeAiReply& reply, int n = 1);
  // Delay of default answers (benchmarks: a fake model that takes 1 s).
  void setLatency(std::chrono::milliseconds latency);

  std::vector<RecordedAiRequest> requests() const;
  uint64_t requestCount() const;
  void clearRecords();

  struct State;

 private:
  Options options_;
  std::unique_ptr<State> state_;
  std::vector<std::thread> threads_;
  uint16_t port_ = 0;
};

}  // namespace waflow::test
