// ai-openai loaded by the daemon's plugin loader and run on the real host services (HTTP client,
// timers) against FakeAi over real HTTP: the exact request body and headers sent, the result
// handed back, and each failure's result code, retries and waits.
#include "ai_plugin_harness.h"
#include "bus/event_bus.h"
#include "fake_ai.h"
#include "http_client/http_client.h"
#include "plugin/plugin_catalog.h"
#include "plugin/plugin_instance.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <nlohmann/json.hpp>

#include <future>
#include <thread>

namespace waflow::core::plugin {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using Json = nlohmann::json;
using test::FakeAi;
using test::FakeAiReply;
using namespace std::chrono_literals;

constexpr const char* kKey = "sk-test";

class OpenAiPluginTest : public AiPluginHarness {
 protected:
  OpenAiPluginTest() : AiPluginHarness("ai-openai", FakeAi::Options{}) {}

  // The config the daemon would hand over after validation (defaults filled in).
  Json config() const {
    return {{"base_url", fake_.baseUrl()},
            {"api_key", kKey},
            {"model", "gpt-4o-mini"},
            {"organization", ""},
            {"project", ""},
            {"extra_headers", Json::object()},
            {"timeout", 5000},
            {"max_retries", 2},
            {"max_tokens_field", "max_completion_tokens"},
            {"json_mode", "json_schema"}};
  }

  static Json hello() {
    return {{"system", "Kamu asisten Toko Kita."},
            {"messages", {{{"role", "user"}, {"content", "Halo"}}}},
            {"history", 1},
            {"timeout_ms", 20000}};
  }
};

TEST_F(OpenAiPluginTest, SendsTheExactBodyAndHeadersAndReturnsTheReply) {
  Json cfg = config();
  cfg["organization"] = "org-toko";
  cfg["project"] = "proj_wa";
  cfg["extra_headers"] = {{"HTTP-Referer", "https://tokokita.id"}, {"X-Title", "Toko Kita Bot"}};
  start(cfg);
  fake_.script(FakeAiReply::ok("Ada, diskon 10%.", "gpt-4o-mini-2024-07-18", 31, 9, 16, 4));
  Json request = Json::parse(R"({
    "system": "Kamu asisten Toko Kita.",
    "messages": [{"role": "user", "content": "Berapa harga paket A?"},
                 {"role": "assistant", "content": "Rp100.000."},
                 {"role": "user", "content": "Ada diskon?"}],
    "max_tokens": 300, "temperature": 0.2, "history": 3, "timeout_ms": 20000,
    "json_schema": {"type": "object", "properties": {"intent": {"type": "string"}}}})");
  CallOutcome o = complete(request);
  ASSERT_TRUE(o.ok()) << o.error;
  EXPECT_EQ(o.value, "Ada, diskon 10%.");
  EXPECT_EQ(Json::parse(o.detail_json), Json::parse(R"({
    "id": "chatcmpl-fake", "model": "gpt-4o-mini-2024-07-18", "finish_reason": "stop",
    "usage": {"prompt_tokens": 31, "completion_tokens": 9, "total_tokens": 40,
              "cached_tokens": 16, "reasoning_tokens": 4}})"));

  auto requests = fake_.requests();
  ASSERT_EQ(requests.size(), 1u);
  const auto& r = requests[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.target, "/v1/chat/completions");
  EXPECT_EQ(r.body, Json::parse(R"({
    "model": "gpt-4o-mini",
    "messages": [{"role": "system", "content": "Kamu asisten Toko Kita."},
                 {"role": "user", "content": "Berapa harga paket A?"},
                 {"role": "assistant", "content": "Rp100.000."},
                 {"role": "user", "content": "Ada diskon?"}],
    "max_completion_tokens": 300, "temperature": 0.2,
    "response_format": {"type": "json_schema", "json_schema": {"name": "result", "strict": true,
        "schema": {"type": "object", "properties": {"intent": {"type": "string"}}}}}})"));
  EXPECT_EQ(r.header("authorization"), "Bearer sk-test");
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_EQ(r.header("accept"), "application/json");
  EXPECT_EQ(r.header("openai-organization"), "org-toko");
  EXPECT_EQ(r.header("openai-project"), "proj_wa");
  EXPECT_EQ(r.header("http-referer"), "https://tokokita.id");
  EXPECT_EQ(r.header("x-title"), "Toko Kita Bot");
}

TEST_F(OpenAiPluginTest, ConfigDefaultsFillTheBodyAndOptionalHeadersStayOff) {
  Json cfg = config();
  cfg["temperature"] = 0.5;
  cfg["max_tokens"] = 150;
  cfg["max_tokens_field"] = "max_tokens";
  cfg["base_url"] = fake_.baseUrl() + "/";  // a trailing slash is tolerated
  start(cfg);
  CallOutcome o = complete(hello());
  ASSERT_TRUE(o.ok()) << o.error;
  EXPECT_EQ(o.value, "Echo: Halo");
  auto r = fake_.requests().at(0);
  EXPECT_EQ(r.target, "/v1/chat/completions");
  EXPECT_EQ(r.body, Json::parse(R"({
    "model": "gpt-4o-mini",
    "messages": [{"role": "system", "content": "Kamu asisten Toko Kita."},
                 {"role": "user", "content": "Halo"}],
    "max_tokens": 150, "temperature": 0.5})"));
  EXPECT_FALSE(r.hasHeader("openai-organization"));
  EXPECT_FALSE(r.hasHeader("openai-project"));
}

TEST_F(OpenAiPluginTest, ToolsGoOutAndToolCallsComeBack) {
  start(config());
  fake_.script(FakeAiReply::toolCall("call_1", "get_order", R"({"id":"A1"})"));
  Json request = hello();
  request["tools"] = Json::parse(R"([{"type": "function", "function": {"name": "get_order",
      "parameters": {"type": "object", "properties": {"id": {"type": "string"}}}}}])");
  CallOutcome o = complete(request);
  ASSERT_TRUE(o.ok()) << o.error;
  EXPECT_EQ(o.value, "");
  Json detail = Json::parse(o.detail_json);
  EXPECT_EQ(detail["finish_reason"], "tool_calls");
  EXPECT_EQ(detail["tool_calls"][0]["function"]["name"], "get_order");
  EXPECT_EQ(detail["tool_calls"][0]["function"]["arguments"], R"({"id":"A1"})");
  // The message an engine appends before the tool results, in the same shape every provider
  // plugin returns.
  EXPECT_EQ(
      detail["assistant_message"],
      Json({{"role", "assistant"}, {"content", nullptr}, {"tool_calls", detail["tool_calls"]}}));
  EXPECT_EQ(fake_.requests().at(0).body["tools"], request["tools"]);
}

TEST_F(OpenAiPluginTest, BlankLinesBeforeTheJsonAreSkipped) {
  start(config());
  fake_.script(FakeAiReply::ok("Halo juga").withBlankLines(5));
  CallOutcome o = complete(hello());
  ASSERT_TRUE(o.ok()) << o.error;
  EXPECT_EQ(o.value, "Halo juga");
}

TEST_F(OpenAiPluginTest, RejectedKeyIsAnAuthErrorNotRetriedAndNeverShown) {
  CallOutcome o = expectRejectedKeyNotShown(config(), "sk-wrong-key-123", hello());
  EXPECT_THAT(o.error, HasSubstr("check api_key"));
  EXPECT_EQ(fake_.requests().at(0).header("authorization"), "Bearer sk-wrong-key-123");
}

TEST_F(OpenAiPluginTest, RateLimitWaitsForRetryAfterThenSucceeds) {
  start(config());
  fake_.script(FakeAiReply::rateLimited(1));
  auto begin = std::chrono::steady_clock::now();
  CallOutcome o = complete(hello());
  ASSERT_TRUE(o.ok()) << o.error;
  EXPECT_GE(std::chrono::steady_clock::now() - begin, 1s);
  EXPECT_EQ(fake_.requestCount(), 2u);
  auto requests = fake_.requests();
  EXPECT_EQ(requests[0].raw_body, requests[1].raw_body);
  EXPECT_EQ(requests[0].status, 429);
  EXPECT_EQ(requests[1].status, 200);
}

TEST_F(OpenAiPluginTest, RetryAfterMsTakesPrecedence) {
  start(config());
  fake_.script(FakeAiReply::rateLimited(60, 50));
  CallOutcome o = complete(hello());
  ASSERT_TRUE(o.ok()) << o.error;
  EXPECT_EQ(fake_.requestCount(), 2u);
}

TEST_F(OpenAiPluginTest, InsufficientQuotaIsNotRetried) {
  start(config());
  fake_.script(FakeAiReply::insufficientQuota(), 3);
  CallOutcome o = complete(hello());
  EXPECT_EQ(o.rc, waflow::Rc::kError);
  EXPECT_THAT(o.error, HasSubstr("exceeded your current quota"));
  EXPECT_THAT(o.error, HasSubstr("billing"));
  EXPECT_EQ(fake_.requestCount(), 1u);
}

TEST_F(OpenAiPluginTest, ServerErrorIsRetriedWithBackoff) {
  start(config());
  fake_.script(FakeAiReply::serverError(500));
  auto begin = std::chrono::steady_clock::now();
  CallOutcome o = complete(hello());
  ASSERT_TRUE(o.ok()) << o.error;
  EXPECT_EQ(o.value, "Echo: Halo");
  EXPECT_EQ(fake_.requestCount(), 2u);
  EXPECT_GE(std::chrono::steady_clock::now() - begin, 375ms);  // 0.5 s less at most 25% jitter
}

TEST_F(OpenAiPluginTest, AfterTheLastRetryTheCallerGetsRetryWithAWait) {
  Json cfg = config();
  cfg["max_retries"] = 1;
  start(cfg);
  fake_.script(FakeAiReply::serverError(503), 2);
  CallOutcome o = complete(hello());
  EXPECT_EQ(o.rc, waflow::Rc::kRetry);
  EXPECT_THAT(o.error, HasSubstr("HTTP 503"));
  EXPECT_THAT(o.error, HasSubstr("gave up after 2 attempts"));
  EXPECT_GT(o.retry_after.count(), 0);
  EXPECT_EQ(fake_.requestCount(), 2u);
}

TEST_F(OpenAiPluginTest, LongRetryAfterIsHandedToTheCallerInsteadOfWaited) {
  start(config());
  fake_.script(FakeAiReply::rateLimited(300));
  CallOutcome o = complete(hello());
  EXPECT_EQ(o.rc, waflow::Rc::kRetry);
  EXPECT_EQ(o.retry_after, 300s);
  EXPECT_EQ(fake_.requestCount(), 1u);
}

TEST_F(OpenAiPluginTest, ShouldRetryFalseStopsRetries) {
  start(config());
  fake_.script(FakeAiReply::serverError(500).withHeader("x-should-retry", "false"), 3);
  CallOutcome o = complete(hello());
  EXPECT_EQ(o.rc, waflow::Rc::kRetry);
  EXPECT_EQ(fake_.requestCount(), 1u);
}

TEST_F(OpenAiPluginTest, TheStepTimeoutBoundsRetries) {
  start(config());
  fake_.script(FakeAiReply::serverError(500), 3);
  Json request = hello();
  request["timeout_ms"] = 200;  // less than the first backoff (375-500 ms)
  CallOutcome o = complete(request);
  EXPECT_EQ(o.rc, waflow::Rc::kRetry);
  EXPECT_EQ(fake_.requestCount(), 1u);
}

TEST_F(OpenAiPluginTest, InvalidRequestsAreNotRetriedAndCarryTheServersMessage) {
  start(config());
  fake_.script(FakeAiReply::error(400, "invalid_request_error", "",
                                  "Invalid schema for response_format 'result': In context=(), "
                                  "'additionalProperties' is required to be supplied and to be "
                                  "false."));
  CallOutcome o = complete(hello());
  EXPECT_EQ(o.rc, waflow::Rc::kInvalid);
  EXPECT_THAT(o.error, HasSubstr("'additionalProperties' is required"));
  EXPECT_EQ(fake_.requestCount(), 1u);

  fake_.script(FakeAiReply::error(404, "invalid_request_error", "model_not_found",
                                  "The model `gpt-9` does not exist or you do not have access to "
                                  "it."));
  o = complete(hello());
  EXPECT_EQ(o.rc, waflow::Rc::kInvalid);
  EXPECT_THAT(o.error, HasSubstr("check model and base_url"));
}

TEST_F(OpenAiPluginTest, MalformedJsonIsAnErrorNotRetried) {
  start(config());
  expectMalformedJsonNotRetried(hello());
}

TEST_F(OpenAiPluginTest, ASlowServerTimesOutAndIsRetried) {
  Json cfg = config();
  cfg["timeout"] = 300;
  cfg["max_retries"] = 0;
  start(cfg);
  fake_.script(FakeAiReply::ok("too late").after(3s));
  CallOutcome o = complete(hello());
  EXPECT_EQ(o.rc, waflow::Rc::kRetry);
  EXPECT_THAT(o.error, HasSubstr("did not answer within 300 ms"));
  EXPECT_EQ(fake_.requestCount(), 1u);
}

TEST_F(OpenAiPluginTest, ATimedOutAttemptIsRetried) {
  Json cfg = config();
  cfg["timeout"] = 300;
  cfg["max_retries"] = 1;
  start(cfg);
  fake_.script(FakeAiReply::ok("too late").after(3s));
  CallOutcome o = complete(hello());
  ASSERT_TRUE(o.ok()) << o.error;
  EXPECT_EQ(o.value, "Echo: Halo");
  EXPECT_EQ(fake_.requestCount(), 2u);
}

TEST_F(OpenAiPluginTest, ConnectionRefusedIsRetryable) {
  uint16_t closed_port = 0;
  {
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor a(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    closed_port = a.local_endpoint().port();
  }
  Json cfg = config();
  cfg["base_url"] = "http://127.0.0.1:" + std::to_string(closed_port) + "/v1";
  cfg["max_retries"] = 0;
  start(cfg);
  CallOutcome o = complete(hello());
  EXPECT_EQ(o.rc, waflow::Rc::kRetry);
  EXPECT_THAT(o.error, HasSubstr("cannot connect"));
}

TEST_F(OpenAiPluginTest, AFlowStepMayChooseTheModel) {
  start(config());
  Json request = hello();
  request["model"] = "openai/gpt-4o";
  CallOutcome o = complete(request);
  ASSERT_TRUE(o.ok()) << o.error;
  EXPECT_EQ(fake_.requests().at(0).body["model"], "openai/gpt-4o");
  EXPECT_EQ(Json::parse(o.detail_json)["model"], "openai/gpt-4o");
}

TEST_F(OpenAiPluginTest, ABadRequestFailsBeforeAnyCall) {
  start(config());
  CallOutcome o = complete({{"messages", Json::array()}});
  EXPECT_EQ(o.rc, waflow::Rc::kInvalid);
  EXPECT_THAT(o.error, HasSubstr("messages"));
  EXPECT_EQ(fake_.requestCount(), 0u);
}

TEST_F(OpenAiPluginTest, AMissingModelIsRefusedAtCreate) {
  Json cfg = config();
  cfg.erase("model");
  std::string error;
  EXPECT_FALSE(create(cfg, &error));
  EXPECT_THAT(error, HasSubstr("model"));
}

TEST_F(OpenAiPluginTest, TheSchemaDeclaresTheConfigKeys) {
  expectSchemaDeclares({"base_url", "api_key", "model", "organization", "project", "extra_headers",
                        "timeout", "max_retries", "temperature", "max_tokens"});
  Json schema = this->schema();
  EXPECT_EQ(schema["properties"]["base_url"]["default"], "https://api.openai.com/v1");
  EXPECT_EQ(schema["properties"]["timeout"]["default"], "60s");
  EXPECT_EQ(schema["properties"]["max_retries"]["default"], 2);
  EXPECT_EQ(schema["required"], Json::array({"model"}));
}

}  // namespace
}  // namespace waflow::core::plugin
