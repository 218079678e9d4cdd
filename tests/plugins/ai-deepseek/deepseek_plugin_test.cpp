// ai-deepseek loaded by the daemon's plugin loader and run on the real host services against
// FakeAi over real HTTP: the exact body and headers sent (thinking, json_object with the schema
// in the system prompt, no reasoning_content leaked back), the chain of thought never returned
// as the reply, a thinking-mode tool-call round trip, and each failure's result code and
// retries; the API key never appears in a log line.
#include "ai_plugin_harness.h"

#include <gmock/gmock.h>

namespace waflow::core::plugin {
namespace {

using test::FakeAi;
using test::FakeAiReply;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

constexpr const char* kKey = "sk-deepseek-test-key-0001";

FakeAi::Options deepseekFake() {
  FakeAi::Options o;
  o.api_key = kKey;
  o.path_prefix = "";  // DeepSeek's base URL has no /v1
  return o;
}

class DeepSeekPluginTest : public AiPluginHarness {
 protected:
  DeepSeekPluginTest() : AiPluginHarness("ai-deepseek", deepseekFake()) {}

  // The config the daemon would hand over after validation (defaults filled in).
  Json config() const {
    return {{"base_url", fake_.baseUrl()},     {"api_key", kKey}, {"model", "deepseek-flash"},
            {"extra_headers", Json::object()}, {"timeout", 5000}, {"max_retries", 2}};
  }

  static Json hello() {
    return {{"system", "Kamu asisten Toko Kita."},
            {"messages", {{{"role", "user"}, {"content", "Halo"}}}},
            {"history", 1},
            {"timeout_ms", 20000}};
  }
};

TEST_F(DeepSeekPluginTest, SendsTheExactBodyAndHeadersAndNeverReturnsTheReasoning) {
  Json cfg = config();
  cfg["thinking"] = "enabled";
  cfg["reasoning_effort"] = "high";
  cfg["max_tokens"] = 800;
  start(cfg);
  fake_.script(FakeAiReply::deepseekOk(R"({"intent":"price"})",
                                       "The customer asks about prices; intent is price.",
                                       "deepseek-flash", 40, 30, 32, 22));
  Json request = Json::parse(R"({
    "system": "Kamu asisten Toko Kita.",
    "messages": [{"role": "user", "content": "Berapa harga paket A?"},
                 {"role": "assistant", "content": "Rp100.000.",
                  "reasoning_content": "Look up the price list."},
                 {"role": "user", "content": "Ada diskon?"}],
    "history": 3, "timeout_ms": 20000,
    "json_schema": {"type": "object", "properties": {"intent": {"type": "string"}}}})");
  CallOutcome o = complete(request);
  ASSERT_TRUE(o.ok()) << o.error;
  EXPECT_EQ(o.value, R"({"intent":"price"})");
  EXPECT_THAT(o.value + o.detail_json, Not(HasSubstr("customer asks")));
  EXPECT_EQ(Json::parse(o.detail_json), Json::parse(R"({
    "id": "ds-fake", "model": "deepseek-flash", "finish_reason": "stop",
    "usage": {"prompt_tokens": 40, "completion_tokens": 30, "total_tokens": 70,
              "cached_tokens": 32, "reasoning_tokens": 22}})"));

  auto requests = fake_.requests();
  ASSERT_EQ(requests.size(), 1u);
  const auto& r = requests[0];
  EXPECT_EQ(r.target, "/chat/completions");
  Json expected = Json::parse(R"({
    "model": "deepseek-flash",
    "messages": [{"role": "system", "content": ""},
                 {"role": "user", "content": "Berapa harga paket A?"},
                 {"role": "assistant", "content": "Rp100.000."},
                 {"role": "user", "content": "Ada diskon?"}],
    "max_tokens": 800,
    "response_format": {"type": "json_object"},
    "thinking": {"type": "enabled"}, "reasoning_effort": "high"})");
  // DeepSeek has only json_object: the schema is spelled out in the system prompt.
  expected["messages"][0]["content"] =
      "Kamu asisten Toko Kita.\n\nAnswer with one JSON object and nothing else. It must match "
      "this JSON Schema:\n{\"properties\":{\"intent\":{\"type\":\"string\"}},\"type\":\"object\"}";
  EXPECT_EQ(r.body, expected);
  EXPECT_THAT(r.raw_body, Not(HasSubstr("reasoning_content")));
  EXPECT_EQ(r.header("authorization"), std::string("Bearer ") + kKey);
  EXPECT_EQ(r.header("content-type"), "application/json");
}

TEST_F(DeepSeekPluginTest, ThinkingIsOnlySentWhenConfigured) {
  start(config());
  CallOutcome o = complete(hello());
  ASSERT_TRUE(o.ok()) << o.error;
  EXPECT_EQ(o.value, "Echo: Halo");
  EXPECT_EQ(fake_.requests().at(0).body, Json::parse(R"({"model": "deepseek-flash",
    "messages": [{"role": "system", "content": "Kamu asisten Toko Kita."},
                 {"role": "user", "content": "Halo"}]})"));
}

TEST_F(DeepSeekPluginTest, DisabledThinkingIsSentAndReasoningIsNeverSentBack) {
  Json cfg = config();
  cfg["thinking"] = "disabled";
  start(cfg);
  Json request = Json::parse(R"({"messages": [
    {"role": "user", "content": "status A1?"},
    {"role": "assistant", "content": null, "reasoning_content": "Look it up.",
     "tool_calls": [{"id": "call_1", "type": "function",
                     "function": {"name": "get_order", "arguments": "{}"}}]},
    {"role": "tool", "tool_call_id": "call_1", "content": "dikirim"}]})");
  CallOutcome o = complete(request);
  ASSERT_TRUE(o.ok()) << o.error;
  auto r = fake_.requests().at(0);
  EXPECT_EQ(r.body["thinking"], Json::parse(R"({"type": "disabled"})"));
  EXPECT_THAT(r.raw_body, Not(HasSubstr("reasoning_content")));
}

TEST_F(DeepSeekPluginTest, ThinkingToolCallsRoundTripWithTheirReasoning) {
  Json cfg = config();
  cfg["model"] = "deepseek-v4-pro";
  cfg["thinking"] = "enabled";
  start(cfg);
  fake_.script(FakeAiReply::deepseekToolCall("call_0", "get_order", R"({"id":"A1"})",
                                             "I need the order status first."));
  Json request = Json::parse(R"({"messages": [{"role": "user", "content": "status A1?"}],
    "tools": [{"type": "function", "function": {"name": "get_order",
      "parameters": {"type": "object", "properties": {"id": {"type": "string"}}}}}]})");
  CallOutcome o = complete(request);
  ASSERT_TRUE(o.ok()) << o.error;
  EXPECT_EQ(o.value, "");  // the reasoning is not a reply
  Json detail = Json::parse(o.detail_json);
  EXPECT_EQ(detail["finish_reason"], "tool_calls");
  EXPECT_EQ(detail["usage"]["reasoning_tokens"], 45);
  Json calls = Json::parse(R"([{"id": "call_0", "type": "function",
    "function": {"name": "get_order", "arguments": "{\"id\":\"A1\"}"}}])");
  EXPECT_EQ(detail["tool_calls"], calls);
  EXPECT_EQ(detail["assistant_message"],
            Json({{"role", "assistant"},
                  {"content", nullptr},
                  {"tool_calls", calls},
                  {"reasoning_content", "I need the order status first."}}));

  request["messages"].push_back(detail["assistant_message"]);
  request["messages"].push_back(
      {{"role", "tool"}, {"tool_call_id", "call_0"}, {"content", "dikirim"}});
  fake_.script(FakeAiReply::deepseekOk("Sudah dikirim, Kak.", "Status is dikirim; say so."));
  o = complete(request);
  ASSERT_TRUE(o.ok()) << o.error;
  EXPECT_EQ(o.value, "Sudah dikirim, Kak.");
  // Thinking mode needs the tool-call turn's reasoning back (HTTP 400 otherwise).
  Json sent = fake_.requests().at(1).body["messages"];
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(sent[1], detail["assistant_message"]);
  EXPECT_EQ(sent[2], Json::parse(R"({"role": "tool", "tool_call_id": "call_0",
                                     "content": "dikirim"})"));
}

TEST_F(DeepSeekPluginTest, InsufficientBalanceIsNotRetried) {
  start(config());
  fake_.script(FakeAiReply::insufficientBalance(), 3);
  CallOutcome o = complete(hello());
  EXPECT_EQ(o.rc, waflow::Rc::kError);
  EXPECT_THAT(o.error, HasSubstr("HTTP 402"));
  EXPECT_THAT(o.error, HasSubstr("Insufficient Balance"));
  EXPECT_THAT(o.error, HasSubstr("check billing"));
  EXPECT_EQ(fake_.requestCount(), 1u);
}

TEST_F(DeepSeekPluginTest, OverloadAndServerErrorsAreRetriedAndTheKeyIsNeverLogged) {
  start(config());
  fake_.script(FakeAiReply::deepseekOverloaded());
  // A server that echoes the key in its error: the logged retry warning must redact it.
  fake_.script(
      FakeAiReply::error(500, "server_error", "", std::string("Internal error for key ") + kKey));
  CallOutcome o = complete(hello());
  ASSERT_TRUE(o.ok()) << o.error;
  EXPECT_EQ(fake_.requestCount(), 3u);
  std::string log = logText();
  EXPECT_THAT(log, HasSubstr("DeepSeek attempt 1 of 3 failed: DeepSeek answered HTTP 503: "
                             "Server overloaded"));
  EXPECT_THAT(log, HasSubstr("DeepSeek attempt 2 of 3 failed: DeepSeek answered HTTP 500: "
                             "Internal error for key ***"));
  EXPECT_THAT(log, Not(HasSubstr(kKey)));
}

TEST_F(DeepSeekPluginTest, RateLimitWaitsForRetryAfterThenSucceeds) {
  start(config());
  fake_.script(FakeAiReply::rateLimited(1));
  auto begin = std::chrono::steady_clock::now();
  CallOutcome o = complete(hello());
  ASSERT_TRUE(o.ok()) << o.error;
  EXPECT_GE(std::chrono::steady_clock::now() - begin, 1s);
  EXPECT_EQ(fake_.requestCount(), 2u);
}

TEST_F(DeepSeekPluginTest, RejectedKeyIsAnAuthErrorNotRetriedAndNeverShown) {
  expectRejectedKeyNotShown(config(), "sk-deepseek-wrong-123", hello());
}

TEST_F(DeepSeekPluginTest, KeepAliveBlankLinesBeforeTheJsonAreSkipped) {
  start(config());
  fake_.script(FakeAiReply::deepseekOk("Halo juga", "greet back").withBlankLines(8));
  CallOutcome o = complete(hello());
  ASSERT_TRUE(o.ok()) << o.error;
  EXPECT_EQ(o.value, "Halo juga");
}

TEST_F(DeepSeekPluginTest, MalformedJsonIsAnErrorNotRetried) {
  start(config());
  expectMalformedJsonNotRetried(hello());
}

TEST_F(DeepSeekPluginTest, ASlowServerTimesOutAndIsRetried) {
  Json cfg = config();
  cfg["timeout"] = 300;
  cfg["max_retries"] = 0;
  start(cfg);
  fake_.script(FakeAiReply::deepseekOk("too late", "").after(3s));
  CallOutcome o = complete(hello());
  EXPECT_EQ(o.rc, waflow::Rc::kRetry);
  EXPECT_THAT(o.error, HasSubstr("DeepSeek did not answer within 300 ms"));
  EXPECT_EQ(fake_.requestCount(), 1u);
}

TEST_F(DeepSeekPluginTest, ModelAndKeyAreRequiredAtCreate) {
  expectRequiredAtCreate(config(), {"model", "api_key"});
}

TEST_F(DeepSeekPluginTest, TheSchemaDeclaresTheConfigKeysAndNoDefaultModel) {
  expectSchemaDeclares({"base_url", "api_key", "model", "thinking", "reasoning_effort",
                        "temperature", "max_tokens", "timeout", "max_retries", "extra_headers"});
  Json s = schema();
  EXPECT_FALSE(s["properties"]["model"].contains("default"));
  EXPECT_THAT(s["properties"]["model"]["description"].get<std::string>(),
              HasSubstr("deepseek-flash"));
  EXPECT_EQ(s["properties"]["thinking"]["enum"], Json::array({"enabled", "disabled"}));
  EXPECT_EQ(s["properties"]["base_url"]["default"], "https://api.deepseek.com");
  EXPECT_EQ(s["required"], Json::array({"model", "api_key"}));
}

}  // namespace
}  // namespace waflow::core::plugin
