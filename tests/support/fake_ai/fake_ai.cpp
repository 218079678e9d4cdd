#include <utility>  // before Asio: g++ 12 coroutine workaround (see design.md)

#include "fake_ai.h"

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
#include <deque>
#include <mutex>
#include <optional>

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
  asio::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  std::string api_key;
  std::string prefix;

  mutable std::mutex mutex;
  std::deque<FakeAiReply> scripted;
  std::chrono::milliseconds latency{0};
  std::vector<RecordedAiRequest> records;
  std::atomic<uint64_t> count{0};

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

  FakeAiReply handle(const http::request<http::string_body>& req, const Json& body) {
    std::string target(req.target());
    if (req.method() != http::verb::post || target != prefix + "/chat/completions") {
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
    return defaultReply(body).after(latency);
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

  asio::awaitable<void> acceptLoop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(kAwait);
      if (ec) {
        if (ec == asio::error::operation_aborted) {
          co_return;
        }
        continue;
      }
      socket.set_option(tcp::no_delay(true));
      asio::co_spawn(acceptor.get_executor(), session(std::move(socket)), asio::detached);
    }
  }
};

FakeAi::FakeAi() : FakeAi(Options{}) {}

FakeAi::FakeAi(Options options) : options_(std::move(options)), state_(std::make_unique<State>()) {
  state_->api_key = options_.api_key;
  state_->prefix = options_.path_prefix;
  tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
  state_->acceptor.open(endpoint.protocol());
  state_->acceptor.set_option(asio::socket_base::reuse_address(true));
  state_->acceptor.bind(endpoint);
  state_->acceptor.listen(asio::socket_base::max_listen_connections);
  port_ = state_->acceptor.local_endpoint().port();
  asio::co_spawn(state_->ioc, state_->acceptLoop(), asio::detached);
  for (int i = 0; i < std::max(1, options_.threads); ++i) {
    threads_.emplace_back([this] { state_->ioc.run(); });
  }
}

FakeAi::~FakeAi() {
  state_->ioc.stop();
  for (auto& t : threads_) {
    t.join();
  }
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
  std::lock_guard lock(state_->mutex);
  state_->latency = latency;
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
