// ai-anthropic loaded by the daemon's plugin loader and run on the real host services against
// FakeAi's Anthropic dialect over real HTTP: the exact Messages body and headers sent, the
// normalized result handed back, a tool-call round trip, and each failure's result code, retries
// and waits; the API key never appears in a log line.
#include "ai_plugin_harness.h"

#include <gmock/gmock.h>

namespace waflow::core::plugin {
namespace {

using test::FakeAi;
using test::FakeAiReply;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

constexpr const char* kKey = "sk-ant-api03-test-key-0001";

FakeAi::Options anthropicFake() {
  FakeAi::Options o;
  o.api_key = kKey;
  o.dialect = FakeAi::Dialect::kAnthropic;
  return o;
}

class AnthropicPluginTest : public AiPluginHarness {
 protected:
  AnthropicPluginTest() : AiPluginHarness("ai-anthropic", anthropicFake()) {}

  // The config the daemon would hand over after validation (defaults filled in).
  Json config() const {
    return {{"base_url", fake_.baseUrl()},
            {"api_key", kKey},
            {"model", "claude-haiku-4-5"},
            {"anthropic_version", "2023-06-01"},
            {"max_tokens", 1024},
            {"extra_headers", Json::object()},
            {"timeout", 5000},
            {"max_retries", 2}};
  }

  static Json hello() {
    return {{"system", "Kamu asisten Toko Kita."},
            {"messages", {{{"role", "user"}, {"content", "Halo"}}}},
            {"history", 1},
            {"timeout_ms", 20000}};
  }
};

TEST_F(AnthropicPluginTest, SendsTheExactBodyAndHeadersAndReturnsTheReply) {
  Json cfg = config();
  cfg["anthropic_beta"] = "prompt-caching-2024-07-31";
  cfg["extra_headers"] = {{"X-Shop", "toko-kita"}};
  start(cfg);
  fake_.script(
      FakeAiReply::anthropicOk("Ada, diskon 10%.", "claude-haiku-4-5-20251001", 10, 9, 16, 5));
  Json request = Json::parse(R"({
    "system": "Kamu asisten Toko Kita.",
    "messages": [{"role": "user", "content": "Berapa harga paket A?"},
                 {"role": "assistant", "content": "Rp100.000."},
                 {"role": "user", "content": "Ada diskon?"},
                 {"role": "user", "content": "yang paket A"}],
    "max_tokens": 300, "temperature": 0.2, "history": 3, "timeout_ms": 20000})");
  CallOutcome o = complete(request);
  ASSERT_TRUE(o.ok()) << o.error;
  EXPECT_EQ(o.value, "Ada, diskon 10%.");
  EXPECT_EQ(Json::parse(o.detail_json), Json::parse(R"({
    "id": "msg_fake", "model": "claude-haiku-4-5-20251001", "finish_reason": "stop",
    "stop_reason": "end_turn",
    "usage": {"prompt_tokens": 31, "completion_tokens": 9, "total_tokens": 40,
              "cached_tokens": 16}})"));

  auto requests = fake_.requests();
  ASSERT_EQ(requests.size(), 1u);
  const auto& r = requests[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.target, "/v1/messages");
  EXPECT_EQ(r.body, Json::parse(R"({
    "model": "claude-haiku-4-5", "max_tokens": 300, "temperature": 0.2,
    "system": "Kamu asisten Toko Kita.",
    "messages": [
      {"role": "user", "content": [{"type": "text", "text": "Berapa harga paket A?"}]},
      {"role": "assistant", "content": [{"type": "text", "text": "Rp100.000."}]},
      {"role": "user", "content": [{"type": "text", "text": "Ada diskon?"},
                                   {"type": "text", "text": "yang paket A"}]}]})"));
  EXPECT_EQ(r.header("x-api-key"), kKey);
  EXPECT_EQ(r.header("anthropic-version"), "2023-06-01");
  EXPECT_EQ(r.header("anthropic-beta"), "prompt-caching-2024-07-31");
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_EQ(r.header("x-shop"), "toko-kita");
  EXPECT_FALSE(r.hasHeader("authorization"));
}

TEST_F(AnthropicPluginTest, ConfiguredMaxTokensIsSentWhenTheStepSetsNone) {
  Json cfg = config();
  cfg["max_tokens"] = 256;
  cfg["temperature"] = 0.7;
  start(cfg);
  CallOutcome o = complete(hello());
  ASSERT_TRUE(o.ok()) << o.error;
  EXPECT_EQ(o.value, "Echo: Halo");  // the fake's default answer: it accepted the request
  auto r = fake_.requests().at(0);
  EXPECT_EQ(r.body["max_tokens"], 256);
  EXPECT_EQ(r.body["temperature"], 0.7);
  EXPECT_FALSE(r.hasHeader("anthropic-beta"));
}

TEST_F(AnthropicPluginTest, JsonSchemaIsAForcedAnswerToolWhoseInputIsTheReply) {
  start(config());
  fake_.script(
      FakeAiReply::anthropicToolUse("toolu_1", "answer", {{"intent", "order"}, {"qty", 2}}));
  Json request = hello();
  request["json_schema"] = Json::parse(R"({"type": "object",
    "properties": {"intent": {"type": "string"}, "qty": {"type": "integer"}}})");
  CallOutcome o = complete(request);
  ASSERT_TRUE(o.ok()) << o.error;
  EXPECT_EQ(Json::parse(o.value), Json::parse(R"({"intent": "order", "qty": 2})"));
  Json detail = Json::parse(o.detail_json);
  EXPECT_EQ(detail["finish_reason"], "stop");
  EXPECT_FALSE(detail.contains("tool_calls"));
  auto r = fake_.requests().at(0);
  EXPECT_EQ(r.body["tools"], Json::parse(R"([{"name": "answer",
    "description": "Give your answer in exactly this shape.",
    "input_schema": {"type": "object",
      "properties": {"intent": {"type": "string"}, "qty": {"type": "integer"}}}}])"));
  EXPECT_EQ(r.body["tool_choice"], Json::parse(R"({"type": "tool", "name": "answer"})"));
}

TEST_F(AnthropicPluginTest, ToolCallsRoundTripThroughTheAssistantMessage) {
  start(config());
  fake_.script(
      FakeAiReply::anthropicToolUse("toolu_01", "get_order", {{"id", "A1"}}, "Saya cek dulu."));
  Json request = hello();
  request["messages"] = {{{"role", "user"}, {"content", "status pesanan A1?"}}};
  request["tools"] = Json::parse(R"([{"type": "function", "function": {"name": "get_order",
      "description": "Looks up an order.",
      "parameters": {"type": "object", "properties": {"id": {"type": "string"}}}}}])");
  CallOutcome o = complete(request);
  ASSERT_TRUE(o.ok()) << o.error;
  EXPECT_EQ(o.value, "Saya cek dulu.");
  Json detail = Json::parse(o.detail_json);
  EXPECT_EQ(detail["finish_reason"], "tool_calls");
  EXPECT_EQ(detail["stop_reason"], "tool_use");
  Json calls = Json::parse(R"([{"id": "toolu_01", "type": "function",
    "function": {"name": "get_order", "arguments": "{\"id\":\"A1\"}"}}])");
  EXPECT_EQ(detail["tool_calls"], calls);
  EXPECT_EQ(detail["assistant_message"],
            Json({{"role", "assistant"}, {"content", "Saya cek dulu."}, {"tool_calls", calls}}));
  EXPECT_EQ(fake_.requests().at(0).body["tools"], Json::parse(R"([{"name": "get_order",
    "description": "Looks up an order.",
    "input_schema": {"type": "object", "properties": {"id": {"type": "string"}}}}])"));

  // What an engine does next: append the assistant message and the tool's result, ask again.
  request["messages"].push_back(detail["assistant_message"]);
  request["messages"].push_back(
      {{"role", "tool"}, {"tool_call_id", "toolu_01"}, {"content", R"({"status":"dikirim"})"}});
  fake_.script(FakeAiReply::anthropicOk("Pesanan A1 sudah dikirim."));
  o = complete(request);
  ASSERT_TRUE(o.ok()) << o.error;
  EXPECT_EQ(o.value, "Pesanan A1 sudah dikirim.");
  EXPECT_EQ(fake_.requests().at(1).body["messages"], Json::parse(R"([
    {"role": "user", "content": [{"type": "text", "text": "status pesanan A1?"}]},
    {"role": "assistant", "content": [
      {"type": "text", "text": "Saya cek dulu."},
      {"type": "tool_use", "id": "toolu_01", "name": "get_order", "input": {"id": "A1"}}]},
    {"role": "user", "content": [
      {"type": "tool_result", "tool_use_id": "toolu_01",
       "content": "{\"status\":\"dikirim\"}"}]}])"));
}

TEST_F(AnthropicPluginTest, RejectedKeyIsAnAuthErrorNotRetriedAndNeverShown) {
  CallOutcome o = expectRejectedKeyNotShown(config(), "sk-ant-wrong-key-123", hello());
  EXPECT_THAT(o.error, HasSubstr("authentication_error"));
  EXPECT_THAT(o.error, HasSubstr("check api_key"));
  EXPECT_EQ(fake_.requests().at(0).header("x-api-key"), "sk-ant-wrong-key-123");
}

TEST_F(AnthropicPluginTest, RateLimitWaitsForRetryAfterThenSucceeds) {
  start(config());
  fake_.script(FakeAiReply::anthropicRateLimited(1));
  auto begin = std::chrono::steady_clock::now();
  CallOutcome o = complete(hello());
  ASSERT_TRUE(o.ok()) << o.error;
  EXPECT_GE(std::chrono::steady_clock::now() - begin, 1s);
  auto requests = fake_.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].status, 429);
  EXPECT_EQ(requests[0].raw_body, requests[1].raw_body);
  EXPECT_EQ(requests[1].status, 200);
}

TEST_F(AnthropicPluginTest, OverloadedAndServerErrorsAreRetriedAndTheKeyIsNeverLogged) {
  start(config());
  fake_.script(FakeAiReply::anthropicOverloaded());
  // A server that echoes the key in its error: the logged retry warning must redact it.
  fake_.script(FakeAiReply::anthropicError(500, "api_error",
                                           std::string("Internal server error for key ") + kKey));
  CallOutcome o = complete(hello());
  ASSERT_TRUE(o.ok()) << o.error;
  EXPECT_EQ(o.value, "Echo: Halo");
  EXPECT_EQ(fake_.requestCount(), 3u);
  std::string log = logText();
  EXPECT_THAT(log, HasSubstr("Anthropic attempt 1 of 3 failed: Anthropic answered HTTP 529: "
                             "overloaded_error: Overloaded"));
  EXPECT_THAT(log, HasSubstr("Anthropic attempt 2 of 3 failed: Anthropic answered HTTP 500: "
                             "api_error: Internal server error for key ***"));
  EXPECT_THAT(log, Not(HasSubstr(kKey)));
}

TEST_F(AnthropicPluginTest, AfterTheLastRetryTheCallerGetsRetryWithAWait) {
  Json cfg = config();
  cfg["max_retries"] = 1;
  start(cfg);
  fake_.script(FakeAiReply::anthropicOverloaded(), 2);
  CallOutcome o = complete(hello());
  EXPECT_EQ(o.rc, waflow::Rc::kRetry);
  EXPECT_THAT(o.error, HasSubstr("HTTP 529"));
  EXPECT_THAT(o.error, HasSubstr("gave up after 2 attempts"));
  EXPECT_GT(o.retry_after.count(), 0);
  EXPECT_EQ(fake_.requestCount(), 2u);
}

TEST_F(AnthropicPluginTest, AnErrorInsideA200AnswerIsRetried) {
  start(config());
  FakeAiReply in_body = FakeAiReply::anthropicOverloaded();
  in_body.status = 200;
  fake_.script(in_body);
  CallOutcome o = complete(hello());
  ASSERT_TRUE(o.ok()) << o.error;
  EXPECT_EQ(o.value, "Echo: Halo");
  EXPECT_EQ(fake_.requestCount(), 2u);
}

TEST_F(AnthropicPluginTest, BillingAndInvalidRequestsAreNotRetried) {
  start(config());
  fake_.script(FakeAiReply::anthropicError(
      402, "billing_error", "Your credit balance is too low to access the Anthropic API."));
  CallOutcome o = complete(hello());
  EXPECT_EQ(o.rc, waflow::Rc::kError);
  EXPECT_THAT(o.error, HasSubstr("credit balance is too low"));
  EXPECT_THAT(o.error, HasSubstr("waiting will not help"));
  EXPECT_EQ(fake_.requestCount(), 1u);

  fake_.script(FakeAiReply::anthropicError(400, "invalid_request_error",
                                           "messages.0.content.0.text: text must be non-empty"));
  o = complete(hello());
  EXPECT_EQ(o.rc, waflow::Rc::kInvalid);
  EXPECT_THAT(o.error, HasSubstr("text must be non-empty"));
  EXPECT_EQ(fake_.requestCount(), 2u);

  fake_.script(FakeAiReply::anthropicError(404, "not_found_error", "model: claude-9"));
  o = complete(hello());
  EXPECT_EQ(o.rc, waflow::Rc::kInvalid);
  EXPECT_THAT(o.error, HasSubstr("check model and base_url"));
  EXPECT_EQ(fake_.requestCount(), 3u);
}

TEST_F(AnthropicPluginTest, MalformedJsonIsAnErrorNotRetried) {
  start(config());
  expectMalformedJsonNotRetried(hello());
}

TEST_F(AnthropicPluginTest, ATimedOutAttemptIsRetried) {
  Json cfg = config();
  cfg["timeout"] = 300;
  cfg["max_retries"] = 1;
  start(cfg);
  fake_.script(FakeAiReply::anthropicOk("too late").after(3s));
  CallOutcome o = complete(hello());
  ASSERT_TRUE(o.ok()) << o.error;
  EXPECT_EQ(o.value, "Echo: Halo");
  EXPECT_EQ(fake_.requestCount(), 2u);
}

TEST_F(AnthropicPluginTest, ModelAndKeyAreRequiredAtCreate) {
  expectRequiredAtCreate(config(), {"model", "api_key"});
}

TEST_F(AnthropicPluginTest, TheSchemaDeclaresTheConfigKeys) {
  expectSchemaDeclares({"base_url", "api_key", "model", "anthropic_version", "anthropic_beta",
                        "max_tokens", "temperature", "timeout", "max_retries", "extra_headers"});
  Json s = schema();
  EXPECT_EQ(s["properties"]["base_url"]["default"], "https://api.anthropic.com/v1");
  EXPECT_EQ(s["properties"]["anthropic_version"]["default"], "2023-06-01");
  EXPECT_EQ(s["properties"]["max_tokens"]["default"], 1024);
  EXPECT_EQ(s["properties"]["timeout"]["default"], "60s");
  EXPECT_EQ(s["properties"]["max_retries"]["default"], 2);
  EXPECT_EQ(s["required"], Json::array({"model", "api_key"}));
}

}  // namespace
}  // namespace waflow::core::plugin
