#include <utility>  // before Asio: g++ 12 coroutine workaround (see design.md)

#include "fake_ai.h"
#include "loopback_server.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <deque>
#include <mutex>
#include <optional>
#include <random>

namespace waflow::test {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using Json = nlohmann::json;
constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

int words(const std::string& s) {
  int n = 0;
  bool in_word = false;
  for (char c : s) {
    bool space = std::isspace(static_cast<unsigned char>(c)) != 0;
    n += (!space && !in_word) ? 1 : 0;
    in_word = !space;
  }
  return n;
}

Json response(const std::string& model, Json message, const std::string& finish, int prompt_tokens,
              int completion_tokens, int cached_tokens, int reasoning_tokens) {
  return {{"id", "chatcmpl-fake"},
          {"object", "chat.completion"},
          {"created", 1750000000},
          {"model", model},
          {"system_fingerprint", "fp_fake"},
          {"service_tier", "default"},
          {"choices",
           {{{"index", 0},
             {"finish_reason", finish},
             {"logprobs", nullptr},
             {"message", std::move(message)}}}},
          {"usage",
           {{"prompt_tokens", prompt_tokens},
            {"completion_tokens", completion_tokens},
            {"total_tokens", prompt_tokens + completion_tokens},
            {"prompt_tokens_details", {{"cached_tokens", cached_tokens}, {"audio_tokens", 0}}},
            {"completion_tokens_details",
             {{"reasoning_tokens", reasoning_tokens},
              {"audio_tokens", 0},
              {"accepted_prediction_tokens", 0},
              {"rejected_prediction_tokens", 0}}}}}};
}

// Lower-cased tokens of `text`: runs of ASCII letters and digits, bytes >= 0x80 counting as
// letters so UTF-8 words (e.g. "kue", "café") stay whole.
std::vector<std::string> embeddingTokens(const std::string& text) {
  std::vector<std::string> tokens;
  std::string current;
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (c >= 0x80 || std::isalnum(c) != 0) {
      current += static_cast<char>(c >= 0x80 ? c : std::tolower(c));
    } else if (!current.empty()) {
      tokens.push_back(std::move(current));
      current.clear();
    }
  }
  if (!current.empty()) {
    tokens.push_back(std::move(current));
  }
  return tokens;
}

uint64_t fnv1a64(const std::string& s) {
  uint64_t h = 14695981039346656037ULL;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  return h;
}

}  // namespace

std::vector<double> FakeAi::embed(const std::string& text, int dims) {
  std::vector<double> v(static_cast<size_t>(std::max(1, dims)), 0.0);
  for (const std::string& token : embeddingTokens(text)) {
    v[fnv1a64(token) % v.size()] += 1.0;
  }
  double norm = 0;
  for (double x : v) {
    norm += x * x;
  }
  if (norm > 0) {
    norm = std::sqrt(norm);
    for (double& x : v) {
      x /= norm;
    }
  }
  return v;
}

namespace {

Json assistant(Json content) {
  return {{"role", "assistant"},
          {"content", std::move(content)},
          {"refusal", nullptr},
          {"annotations", Json::array()}};
}

}  // namespace

std::string RecordedAiRequest::header(std::string_view name) const {
  const std::string key = lower(name);
  for (const auto& [k, v] : headers) {
    if (k == key) {
      return v;
    }
  }
  return "";
}

bool RecordedAiRequest::hasHeader(std::string_view name) const {
  const std::string key = lower(name);
  return std::any_of(headers.begin(), headers.end(), [&](const auto& h) { return h.first == key; });
}

FakeAiReply FakeAiReply::ok(const std::string& content, const std::string& model, int prompt_tokens,
                            int completion_tokens, int cached_tokens, int reasoning_tokens) {
  return json(response(model, assistant(content), "stop", prompt_tokens, completion_tokens,
                       cached_tokens, reasoning_tokens));
}

FakeAiReply FakeAiReply::json(const Json& body, int status) {
  FakeAiReply r;
  r.status = status;
  r.body = body.dump();
  return r;
}

FakeAiReply FakeAiReply::toolCall(const std::string& id, const std::string& name,
                                  const std::string& arguments_json) {
  Json message = assistant(nullptr);
  message["tool_calls"] = {{{"id", id},
                            {"type", "function"},
                            {"function", {{"name", name}, {"arguments", arguments_json}}}}};
  return json(response("gpt-4o-mini", std::move(message), "tool_calls", 40, 18, 0, 0));
}

FakeAiReply FakeAiReply::error(int status, const std::string& type, const std::string& code,
                               const std::string& message) {
  Json e = {{"message", message}, {"type", type}, {"param", nullptr}};
  e["code"] = code.empty() ? Json(nullptr) : Json(code);
  return json({{"error", e}}, status);
}

FakeAiReply FakeAiReply::unauthorized() {
  return error(401, "invalid_request_error", "invalid_api_key",
               "Incorrect API key provided: sk-wr***ng. You can find your API key at "
               "https://platform.openai.com/account/api-keys.");
}

FakeAiReply FakeAiReply::rateLimited(int retry_after_s, int retry_after_ms) {
  FakeAiReply r = error(429, "requests", "rate_limit_exceeded",
                        "Rate limit reached for gpt-4o-mini on requests per min (RPM): Limit 3, "
                        "Used 3, Requested 1.");
  if (retry_after_s > 0) {
    r.headers.emplace_back("retry-after", std::to_string(retry_after_s));
  }
  if (retry_after_ms > 0) {
    r.headers.emplace_back("retry-after-ms", std::to_string(retry_after_ms));
  }
  r.headers.emplace_back("x-ratelimit-remaining-requests", "0");
  return r;
}

FakeAiReply FakeAiReply::insufficientQuota() {
  return error(429, "insufficient_quota", "insufficient_quota",
               "You exceeded your current quota, please check your plan and billing details.");
}

FakeAiReply FakeAiReply::serverError(int status) {
  return error(status, "server_error", "",
               "The server had an error while processing your request. Sorry about that!");
}

FakeAiReply FakeAiReply::malformed() {
  FakeAiReply r;
  r.status = 200;
  r.body = "<html><body>Welcome to nginx!</body></html>";
  return r;
}

FakeAiReply FakeAiReply::deepseekOk(const std::string& content,
                                    const std::string& reasoning_content, const std::string& model,
                                    int prompt_tokens, int completion_tokens, int cache_hit_tokens,
                                    int reasoning_tokens) {
  Json message = {
      {"role", "assistant"}, {"content", content}, {"reasoning_content", reasoning_content}};
  Json body = {{"id", "ds-fake"},
               {"object", "chat.completion"},
               {"created", 1750000000},
               {"model", model},
               {"system_fingerprint", "fp_ds"},
               {"choices",
                {{{"index", 0},
                  {"finish_reason", "stop"},
                  {"logprobs", nullptr},
                  {"message", std::move(message)}}}},
               {"usage",
                {{"prompt_tokens", prompt_tokens},
                 {"completion_tokens", completion_tokens},
                 {"total_tokens", prompt_tokens + completion_tokens},
                 {"prompt_cache_hit_tokens", cache_hit_tokens},
                 {"prompt_cache_miss_tokens", prompt_tokens - cache_hit_tokens},
                 {"completion_tokens_details", {{"reasoning_tokens", reasoning_tokens}}}}}};
  return json(body);
}

FakeAiReply FakeAiReply::deepseekToolCall(const std::string& id, const std::string& name,
                                          const std::string& arguments_json,
                                          const std::string& reasoning_content) {
  Json body = Json::parse(deepseekOk("", reasoning_content, "deepseek-v4-pro", 40, 60, 0, 45).body);
  Json& choice = body["choices"][0];
  choice["finish_reason"] = "tool_calls";
  choice["message"]["content"] = nullptr;
  choice["message"]["tool_calls"] = {
      {{"id", id},
       {"type", "function"},
       {"function", {{"name", name}, {"arguments", arguments_json}}}}};
  return json(body);
}

FakeAiReply FakeAiReply::insufficientBalance() {
  return error(402, "unknown_error", "invalid_request_error", "Insufficient Balance");
}

FakeAiReply FakeAiReply::deepseekOverloaded() {
  return error(503, "server_error", "", "Server overloaded, please try again later.");
}

FakeAiReply FakeAiReply::anthropicMessage(const Json& content, const std::string& stop_reason,
                                          const std::string& model, int input_tokens,
                                          int output_tokens, int cache_read_tokens,
                                          int cache_creation_tokens) {
  return json({{"id", "msg_fake"},
               {"type", "message"},
               {"role", "assistant"},
               {"model", model},
               {"content", content},
               {"stop_reason", stop_reason},
               {"stop_sequence", nullptr},
               {"usage",
                {{"input_tokens", input_tokens},
                 {"output_tokens", output_tokens},
                 {"cache_creation_input_tokens", cache_creation_tokens},
                 {"cache_read_input_tokens", cache_read_tokens},
                 {"service_tier", "standard"}}}});
}

FakeAiReply FakeAiReply::anthropicOk(const std::string& text, const std::string& model,
                                     int input_tokens, int output_tokens, int cache_read_tokens,
                                     int cache_creation_tokens) {
  return anthropicMessage(Json::array({{{"type", "text"}, {"text", text}}}), "end_turn", model,
                          input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens);
}

FakeAiReply FakeAiReply::anthropicToolUse(const std::string& id, const std::string& name,
                                          const Json& input, const std::string& text) {
  Json content = Json::array();
  if (!text.empty()) {
    content.push_back({{"type", "text"}, {"text", text}});
  }
  content.push_back({{"type", "tool_use"}, {"id", id}, {"name", name}, {"input", input}});
  return anthropicMessage(content, "tool_use", "claude-haiku-4-5", 40, 18);
}

FakeAiReply FakeAiReply::anthropicError(int status, const std::string& type,
                                        const std::string& message) {
  return json({{"type", "error"},
               {"error", {{"type", type}, {"message", message}}},
               {"request_id", "req_fake"}},
              status);
}

FakeAiReply FakeAiReply::anthropicOverloaded() {
  return anthropicError(529, "overloaded_error", "Overloaded");
}

FakeAiReply FakeAiReply::anthropicRateLimited(int retry_after_s) {
  FakeAiReply r = anthropicError(
      429, "rate_limit_error",
      "This request would exceed the rate limit for your organization of 50 requests per "
      "minute.");
  if (retry_after_s > 0) {
    r.headers.emplace_back("retry-after", std::to_string(retry_after_s));
  }
  r.headers.emplace_back("anthropic-ratelimit-requests-remaining", "0");
  return r;
}

FakeAiReply FakeAiReply::after(std::chrono::milliseconds d) const {
  FakeAiReply r = *this;
  r.delay = d;
  return r;
}

FakeAiReply FakeAiReply::withHeader(std::string name, std::string value) const {
  FakeAiReply r = *this;
  r.headers.emplace_back(std::move(name), std::move(value));
  return r;
}

FakeAiReply FakeAiReply::withBlankLines(int n) const {
  FakeAiReply r = *this;
  std::string prefix;
  for (int i = 0; i < n; ++i) {
    prefix += "\n";
  }
  r.body = prefix + r.body;
  return r;
}

struct FakeAi::State {
  LoopbackServer server;
  std::string api_key;
  std::string prefix;
  FakeAi::Dialect dialect = FakeAi::Dialect::kOpenAi;

  mutable std::mutex mutex;
  std::deque<FakeAiReply> scripted;
  std::chrono::milliseconds latency{0};
  std::chrono::milliseconds latency_max{0};  // > latency: drawn per request up to this
  std::mt19937 rng{7};
  std::vector<RecordedAiRequest> records;
  std::atomic<uint64_t> count{0};

  // The latency of one default answer; called with `mutex` held.
  std::chrono::milliseconds drawLatency() {
    if (latency_max <= latency) {
      return latency;
    }
    std::uniform_int_distribution<int64_t> pick(latency.count(), latency_max.count());
    return std::chrono::milliseconds(pick(rng));
  }

  FakeAiReply defaultReply(const Json& body) {
    std::string last;
    int prompt = 0;
    if (body.is_object() && body.contains("messages") && body["messages"].is_array()) {
      for (const Json& m : body["messages"]) {
        if (m.is_object() && m.contains("content") && m["content"].is_string()) {
          prompt += words(m["content"].get<std::string>());
          if (m.value("role", "") == "user") {
            last = m["content"].get<std::string>();
          }
        }
      }
    }
    std::string reply = "Echo: " + last;
    std::string model = body.is_object() ? body.value("model", "gpt-4o-mini") : "gpt-4o-mini";
    return FakeAiReply::ok(reply, model, prompt, words(reply));
  }

  // OpenAI's embeddings response for `body` (protocols.md §F.1 "Embeddings").
  static FakeAiReply embeddingsReply(const Json& body) {
    if (!body.is_object() || !body.contains("input") ||
        !(body["input"].is_string() || body["input"].is_array())) {
      return FakeAiReply::error(400, "invalid_request_error", "",
                                "'input' is required: a string or an array of strings.");
    }
    std::vector<std::string> inputs;
    if (body["input"].is_string()) {
      inputs.push_back(body["input"].get<std::string>());
    } else {
      for (const Json& item : body["input"]) {
        if (!item.is_string()) {
          return FakeAiReply::error(400, "invalid_request_error", "",
                                    "'input' must be a string or an array of strings.");
        }
        inputs.push_back(item.get<std::string>());
      }
    }
    int dims = FakeAi::kDefaultEmbeddingDims;
    if (body.contains("dimensions") && body["dimensions"].is_number_integer() &&
        body["dimensions"].get<int>() > 0) {
      dims = body["dimensions"].get<int>();
    }
    Json data = Json::array();
    size_t tokens = 0;
    for (size_t i = 0; i < inputs.size(); ++i) {
      tokens += embeddingTokens(inputs[i]).size();
      data.push_back(
          {{"object", "embedding"}, {"index", i}, {"embedding", FakeAi::embed(inputs[i], dims)}});
    }
    return FakeAiReply::json({{"object", "list"},
                              {"data", std::move(data)},
                              {"model", body.value("model", "text-embedding-3-small")},
                              {"usage", {{"prompt_tokens", tokens}, {"total_tokens", tokens}}}});
  }

  // Text of an Anthropic message's content: the string, or its text blocks joined.
  static std::string anthropicText(const Json& content) {
    if (content.is_string()) {
      return content.get<std::string>();
    }
    std::string out;
    if (content.is_array()) {
      for (const Json& block : content) {
        if (block.is_object() && block.value("type", "") == "text" && block.contains("text") &&
            block["text"].is_string()) {
          out += block["text"].get<std::string>();
        }
      }
    }
    return out;
  }

  FakeAiReply anthropicDefaultReply(const Json& body) {
    std::string last;
    int prompt = body.contains("system") ? words(anthropicText(body["system"])) : 0;
    if (body.contains("messages") && body["messages"].is_array()) {
      for (const Json& m : body["messages"]) {
        if (!m.is_object() || !m.contains("content")) {
          continue;
        }
        std::string text = anthropicText(m["content"]);
        prompt += words(text);
        if (m.value("role", "") == "user" && !text.empty()) {
          last = text;
        }
      }
    }
    std::string reply = "Echo: " + last;
    std::string model = body.value("model", "claude-haiku-4-5");
    return FakeAiReply::anthropicOk(reply, model, prompt, words(reply));
  }

  FakeAiReply handleAnthropic(const http::request<http::string_body>& req, const Json& body) {
    std::string target(req.target());
    if (req.method() != http::verb::post || target != prefix + "/messages") {
      return FakeAiReply::anthropicError(
          404, "not_found_error", "Not found: " + std::string(req.method_string()) + " " + target);
    }
    if (!api_key.empty() && req["x-api-key"] != api_key) {
      return FakeAiReply::anthropicError(401, "authentication_error", "invalid x-api-key");
    }
    if (req["anthropic-version"].empty()) {
      return FakeAiReply::anthropicError(400, "invalid_request_error",
                                         "anthropic-version: header is required");
    }
    std::lock_guard lock(mutex);
    if (!scripted.empty()) {
      FakeAiReply r = scripted.front();
      scripted.pop_front();
      return r;
    }
    if (body.is_discarded() || !body.is_object()) {
      return FakeAiReply::anthropicError(400, "invalid_request_error",
                                         "The request body is not valid JSON.");
    }
    if (!body.contains("max_tokens")) {
      return FakeAiReply::anthropicError(400, "invalid_request_error",
                                         "max_tokens: Field required");
    }
    return anthropicDefaultReply(body).after(drawLatency());
  }

  FakeAiReply handle(const http::request<http::string_body>& req, const Json& body) {
    if (dialect == FakeAi::Dialect::kAnthropic) {
      return handleAnthropic(req, body);
    }
    std::string target(req.target());
    const bool embeddings = target == prefix + "/embeddings";
    if (req.method() != http::verb::post ||
        (target != prefix + "/chat/completions" && !embeddings)) {
      return FakeAiReply::error(
          404, "invalid_request_error", "unknown_url",
          "Unknown request URL: " + std::string(req.method_string()) + " " + target + ".");
    }
    if (!api_key.empty() && req[http::field::authorization] != "Bearer " + api_key) {
      return FakeAiReply::unauthorized();
    }
    std::lock_guard lock(mutex);
    if (!scripted.empty()) {
      FakeAiReply r = scripted.front();
      scripted.pop_front();
      return r;
    }
    if (body.is_discarded()) {
      return FakeAiReply::error(400, "invalid_request_error", "",
                                "We could not parse the JSON body of your request.");
    }
    if (embeddings) {
      return embeddingsReply(body).after(drawLatency());
    }
    return defaultReply(body).after(drawLatency());
  }

  asio::awaitable<void> session(tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(64 * 1024 * 1024);
      auto [ec, n] = co_await http::async_read(stream, buffer, parser, kAwait);
      if (ec) {
        break;
      }
      http::request<http::string_body> req = parser.release();
      Json body = Json::parse(req.body(), nullptr, false);
      FakeAiReply reply = handle(req, body);
      RecordedAiRequest record;
      record.method = std::string(req.method_string());
      record.target = std::string(req.target());
      for (const auto& field : req) {
        record.headers.emplace_back(lower(field.name_string()), std::string(field.value()));
      }
      record.raw_body = req.body();
      record.body = body.is_discarded() ? Json() : body;
      record.status = reply.status;
      {
        std::lock_guard lock(mutex);
        records.push_back(std::move(record));
      }
      count.fetch_add(1);
      if (reply.delay.count() > 0) {
        asio::steady_timer timer(stream.get_executor(), reply.delay);
        co_await timer.async_wait(kAwait);
      }
      http::response<http::string_body> res;
      res.version(11);
      res.result(static_cast<unsigned>(reply.status));
      res.set(http::field::content_type, "application/json");
      res.set("x-request-id", "req_fake" + std::to_string(count.load()));
      for (const auto& [name, value] : reply.headers) {
        res.set(name, value);
      }
      res.body() = reply.body;
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      auto [wec, written] = co_await http::async_write(stream, res, kAwait);
      if (wec || !res.keep_alive()) {
        break;
      }
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }
};

FakeAi::FakeAi() : FakeAi(Options{}) {}

FakeAi::FakeAi(Options options) : options_(std::move(options)), state_(std::make_unique<State>()) {
  state_->api_key = options_.api_key;
  state_->prefix = options_.path_prefix;
  state_->dialect = options_.dialect;
  port_ = state_->server.port();
  state_->server.start(state_.get(), std::max(1, options_.threads));
}

FakeAi::~FakeAi() {
  state_->server.stop();
}

std::string FakeAi::baseUrl() const {
  return "http://127.0.0.1:" + std::to_string(port_) + options_.path_prefix;
}

void FakeAi::script(const FakeAiReply& reply, int n) {
  std::lock_guard lock(state_->mutex);
  for (int i = 0; i < n; ++i) {
    state_->scripted.push_back(reply);
  }
}

void FakeAi::setLatency(std::chrono::milliseconds latency) {
  setLatency(latency, latency);
}

void FakeAi::setLatency(std::chrono::milliseconds min, std::chrono::milliseconds max) {
  std::lock_guard lock(state_->mutex);
  state_->latency = min;
  state_->latency_max = max;
}

std::vector<RecordedAiRequest> FakeAi::requests() const {
  std::lock_guard lock(state_->mutex);
  return state_->records;
}

uint64_t FakeAi::requestCount() const {
  return state_->count.load();
}

void FakeAi::clearRecords() {
  std::lock_guard lock(state_->mutex);
  state_->records.clear();
}

}  // namespace waflow::test
