// FakeAi: an in-process OpenAI-compatible Chat Completions server (protocols.md §F.1, and the
// compatible servers of §F.3-F.5) or, with Options::dialect = kAnthropic, an Anthropic Messages
// server (§F.2), on real HTTP at 127.0.0.1 (ephemeral port) with its own threads, so AI provider
// plugins are tested over real sockets. In the OpenAI dialect (the default) it
//   - serves POST <prefix>/chat/completions (prefix "/v1" by default) and checks
//     `Authorization: Bearer <api_key>` (401 with OpenAI's invalid_api_key error otherwise);
//   - serves POST <prefix>/embeddings (protocols.md §F.1 "Embeddings"): `input` a string or an
//     array of strings, optional `dimensions` (default 64). Embeddings are deterministic, so
//     retrieval tests can predict rankings: the text is lower-cased and split into tokens (runs
//     of ASCII letters/digits; bytes >= 0x80 count as letters), each token adds 1.0 at index
//     fnv1a64(token) % dims, and the vector is L2-normalised (all zeros for no tokens). The
//     answer is {"object":"list","data":[{"object":"embedding","index":i,"embedding":[...]}],
//     "model":<requested>,"usage":{"prompt_tokens":T,"total_tokens":T}} with T the number of
//     tokens. FakeAi::embed() computes the same vector;
//   - records every request (method, target, headers, raw and parsed body);
//   - answers, by default, OpenAI's response shape with "Echo: <last user message>", the
//     requested model and word-count usage, after an optional latency;
//   - answers scripted replies instead, in request order: any status, headers and body, e.g.
//     401, 429 with retry-after, 429 insufficient_quota, 500, malformed JSON, tool calls, slow
//     answers (to make the client time out) and blank lines before the JSON (DeepSeek's
//     keep-alive).
// In the Anthropic dialect it
//   - serves POST <prefix>/messages; answers Anthropic's error shape {"type": "error", "error":
//     {"type", "message"}}: 401 authentication_error unless `x-api-key: <api_key>` (when api_key
//     is set), 400 invalid_request_error without an anthropic-version header, without
//     max_tokens or with a body that is not JSON, 404 not_found_error for other paths;
//   - answers, by default, the Messages response shape: one text block "Echo: <last user
//     text>" (the user turn's string or text blocks), stop_reason "end_turn", the requested
//     model and word-count usage;
//   - records and scripts requests as above (see the FakeAiReply::anthropic* helpers).
//
// Thread-safety: every method may be called from any thread while requests are being served.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
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
  // DeepSeek (protocols.md §F.3): a reply whose message has `reasoning_content` next to
  // `content`, with usage's prompt_cache_hit_tokens / prompt_cache_miss_tokens and
  // completion_tokens_details.reasoning_tokens.
  static FakeAiReply deepseekOk(const std::string& content, const std::string& reasoning_content,
                                const std::string& model = "deepseek-flash", int prompt_tokens = 20,
                                int completion_tokens = 30, int cache_hit_tokens = 0,
                                int reasoning_tokens = 0);
  // DeepSeek's tool call in thinking mode: content null, reasoning_content, one function call.
  static FakeAiReply deepseekToolCall(const std::string& id, const std::string& name,
                                      const std::string& arguments_json,
                                      const std::string& reasoning_content);
  // 402 Insufficient Balance: must not be retried.
  static FakeAiReply insufficientBalance();
  // 503 Server overloaded: retried.
  static FakeAiReply deepseekOverloaded();

  // Anthropic Messages (protocols.md §F.2): a 200 message with these content blocks.
  static FakeAiReply anthropicMessage(const nlohmann::json& content,
                                      const std::string& stop_reason = "end_turn",
                                      const std::string& model = "claude-haiku-4-5",
                                      int input_tokens = 10, int output_tokens = 5,
                                      int cache_read_tokens = 0, int cache_creation_tokens = 0);
  // One text block, stop_reason end_turn.
  static FakeAiReply anthropicOk(const std::string& text,
                                 const std::string& model = "claude-haiku-4-5",
                                 int input_tokens = 10, int output_tokens = 5,
                                 int cache_read_tokens = 0, int cache_creation_tokens = 0);
  // An optional text block then one tool_use block, stop_reason tool_use.
  static FakeAiReply anthropicToolUse(const std::string& id, const std::string& name,
                                      const nlohmann::json& input, const std::string& text = "");
  // Anthropic's error body {"type": "error", "error": {"type", "message"}, "request_id"}.
  static FakeAiReply anthropicError(int status, const std::string& type,
                                    const std::string& message);
  // 529 overloaded_error (retryable).
  static FakeAiReply anthropicOverloaded();
  // 429 rate_limit_error with retry-after (seconds) when > 0.
  static FakeAiReply anthropicRateLimited(int retry_after_s);

  // This reply after `delay`.
  FakeAiReply after(std::chrono::milliseconds delay) const;
  FakeAiReply withHeader(std::string name, std::string value) const;
  // This reply's body preceded by `n` blank lines, as DeepSeek sends while a request waits.
  FakeAiReply withBlankLines(int n) const;
};

class FakeAi {
 public:
  // Which provider API the fake speaks.
  enum class Dialect { kOpenAi, kAnthropic };

  struct Options {
    std::string api_key = "sk-test";  // "" accepts any or no Authorization / x-api-key
    std::string path_prefix = "/v1";
    int threads = 1;
    Dialect dialect = Dialect::kOpenAi;
  };

  FakeAi();
  explicit FakeAi(Options options);
  ~FakeAi();  // stops the loop (unanswered requests are dropped) and joins the threads
  FakeAi(const FakeAi&) = delete;
  FakeAi& operator=(const FakeAi&) = delete;

  uint16_t port() const { return port_; }
  // "http://127.0.0.1:<port><prefix>": the base_url to configure.
  std::string baseUrl() const;

  // The embedding the fake answers for `text` with `dims` dimensions (see above).
  static std::vector<double> embed(const std::string& text, int dims = kDefaultEmbeddingDims);
  static constexpr int kDefaultEmbeddingDims = 64;

  // The next n requests (chat or embeddings, in arrival order) get `reply`; queued after
  // earlier ones.
  void script(const FakeAiReply& reply, int n = 1);
  // Delay of default answers (benchmarks: a fake model that takes 1 s).
  void setLatency(std::chrono::milliseconds latency);
  // Delay of default answers drawn per request, uniformly from [min, max] (a model whose answer
  // time varies; the soak benchmark's 200 ms - 1 s). The draws are seeded, not reproducible
  // across threads.
  void setLatency(std::chrono::milliseconds min, std::chrono::milliseconds max);

  std::vector<RecordedAiRequest> requests() const;
  uint64_t requestCount() const;
  void clearRecords();

  struct State;

 private:
  Options options_;
  std::unique_ptr<State> state_;
  uint16_t port_ = 0;
};

}  // namespace waflow::test
