// The OpenAI Chat Completions wire format without HTTP: request bodies built from waflow's AI
// requests and responses parsed into results (failures: provider_errors_test.cpp).
#include "openai_chat.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace waflow::openai {
namespace {

using namespace waflow::ai_provider;  // NOLINT: the request helpers every provider shares

using ::testing::HasSubstr;
using ::testing::Not;
using Json = nlohmann::json;
using std::chrono::milliseconds;

ChatDefaults defaults() {
  ChatDefaults d;
  d.model = "gpt-4o-mini";
  return d;
}

Rc invalidCode(const Json& request, const ChatDefaults& d = defaults()) {
  try {
    buildChatRequest(request, d);
  } catch (const Error& e) {
    return e.code();
  }
  return Rc::kOk;
}

TEST(OpenAiChatRequest, SystemBecomesTheFirstMessageAndBookkeepingIsNotSent) {
  Json request = Json::parse(R"({
    "system": "Kamu asisten Toko Kita.",
    "messages": [{"role": "user", "content": "Berapa harga paket A?"},
                 {"role": "assistant", "content": "Rp100.000."},
                 {"role": "user", "content": "Ada diskon?"}],
    "history": 3, "timeout_ms": 20000})");
  Json expected = Json::parse(R"({
    "model": "gpt-4o-mini",
    "messages": [{"role": "system", "content": "Kamu asisten Toko Kita."},
                 {"role": "user", "content": "Berapa harga paket A?"},
                 {"role": "assistant", "content": "Rp100.000."},
                 {"role": "user", "content": "Ada diskon?"}]})");
  EXPECT_EQ(buildChatRequest(request, defaults()), expected);
}

TEST(OpenAiChatRequest, RequestFieldsMapToChatCompletionsFields) {
  Json request = Json::parse(R"({
    "system": "Classify.", "model": "gpt-4.1", "max_tokens": 300, "temperature": 0.2,
    "messages": [{"role": "user", "content": "mau beli 10"}],
    "json_schema": {"type": "object", "properties": {"intent": {"type": "string"}},
                    "required": ["intent"], "additionalProperties": false},
    "tools": [{"type": "function", "function": {"name": "get_order",
               "parameters": {"type": "object", "properties": {"id": {"type": "string"}}}}}],
    "tool_choice": "auto"})");
  Json expected = Json::parse(R"({
    "model": "gpt-4.1",
    "messages": [{"role": "system", "content": "Classify."},
                 {"role": "user", "content": "mau beli 10"}],
    "max_completion_tokens": 300,
    "temperature": 0.2,
    "response_format": {"type": "json_schema", "json_schema": {"name": "result", "strict": true,
        "schema": {"type": "object", "properties": {"intent": {"type": "string"}},
                   "required": ["intent"], "additionalProperties": false}}},
    "tools": [{"type": "function", "function": {"name": "get_order",
               "parameters": {"type": "object", "properties": {"id": {"type": "string"}}}}}],
    "tool_choice": "auto"})");
  EXPECT_EQ(buildChatRequest(request, defaults()), expected);
}

TEST(OpenAiChatRequest, ConfiguredDefaultsApplyAndCompatibilityModesChangeFieldNames) {
  ChatDefaults d = defaults();
  d.temperature = 0.7;
  d.max_tokens = 512;
  d.tokens_field = TokensField::kMaxTokens;
  d.json_mode = JsonMode::kJsonObject;
  Json request = Json::parse(R"({"system": "", "messages": [{"role": "user", "content": "hi"}],
                                 "json_schema": {"type": "object"}})");
  Json expected = Json::parse(R"({
    "model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}],
    "max_tokens": 512, "temperature": 0.7, "response_format": {"type": "json_object"}})");
  EXPECT_EQ(buildChatRequest(request, d), expected);

  request["temperature"] = 0;
  request["max_tokens"] = 20;
  Json body = buildChatRequest(request, d);
  EXPECT_EQ(body["temperature"], 0.0);
  EXPECT_EQ(body["max_tokens"], 20);
}

TEST(OpenAiChatRequest, ToolTurnsKeepTheirCallIds) {
  Json request = Json::parse(R"({"messages": [
    {"role": "user", "content": "status pesanan A1?"},
    {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
      "function": {"name": "get_order", "arguments": "{\"id\":\"A1\"}"}}]},
    {"role": "tool", "tool_call_id": "call_1", "content": "{\"status\":\"dikirim\"}"}]})");
  Json body = buildChatRequest(request, defaults());
  EXPECT_EQ(body["messages"], request["messages"]);
}

TEST(OpenAiChatRequest, JsonObjectServersGetTheSchemaInTheSystemPromptAndExtraBodyFields) {
  ChatDefaults d = defaults();
  d.json_mode = JsonMode::kJsonObject;
  d.schema_in_system = true;
  d.extra_body = {{"thinking", {{"type", "enabled"}}}, {"temperature", 1.0}};
  Json request = Json::parse(R"({"system": "Kamu asisten.", "temperature": 0.1,
    "messages": [{"role": "user", "content": "mau 2 nastar"}],
    "json_schema": {"type": "object", "properties": {"qty": {"type": "integer"}}}})");
  Json body = buildChatRequest(request, d);
  EXPECT_EQ(body["messages"][0]["content"],
            "Kamu asisten.\n\nAnswer with one JSON object and nothing else. It must match this "
            "JSON Schema:\n{\"properties\":{\"qty\":{\"type\":\"integer\"}},\"type\":\"object\"}");
  EXPECT_EQ(body["response_format"], Json::parse(R"({"type": "json_object"})"));
  EXPECT_EQ(body["thinking"], Json::parse(R"({"type": "enabled"})"));
  EXPECT_EQ(body["temperature"], 0.1);  // the request's own field wins over extra_body

  request.erase("system");
  body = buildChatRequest(request, d);
  ASSERT_EQ(body["messages"].size(), 2u);
  EXPECT_EQ(body["messages"][0]["role"], "system");
  EXPECT_THAT(body["messages"][0]["content"].get<std::string>(),
              HasSubstr("Answer with one JSON object"));
  EXPECT_EQ(body["messages"][1]["role"], "user");
}

TEST(OpenAiChatRequest, ReasoningContentIsOnlySentBackOnToolCallTurnsWhenAskedTo) {
  Json request = Json::parse(R"({"messages": [
    {"role": "user", "content": "status A1?"},
    {"role": "assistant", "content": null, "reasoning_content": "I should look it up.",
     "tool_calls": [{"id": "call_1", "type": "function",
                     "function": {"name": "get_order", "arguments": "{}"}}]},
    {"role": "tool", "tool_call_id": "call_1", "content": "dikirim"},
    {"role": "assistant", "content": "Sudah dikirim.", "reasoning_content": "Easy."},
    {"role": "user", "content": "makasih"}]})");
  Json body = buildChatRequest(request, defaults());
  for (const Json& m : body["messages"]) {
    EXPECT_FALSE(m.contains("reasoning_content")) << m.dump();
  }
  ChatDefaults d = defaults();
  d.keep_tool_call_reasoning = true;
  body = buildChatRequest(request, d);
  EXPECT_EQ(body["messages"][1]["reasoning_content"], "I should look it up.");
  EXPECT_FALSE(body["messages"][3].contains("reasoning_content"));
}

TEST(OpenAiChatRequest, InvalidRequestsAreRejectedBeforeAnyCall) {
  EXPECT_EQ(invalidCode(Json::array()), Rc::kInvalid);
  EXPECT_EQ(invalidCode(Json::parse(R"({"messages": []})")), Rc::kInvalid);
  EXPECT_EQ(invalidCode(Json::parse(R"({"messages": [{"role": "bot", "content": "x"}]})")),
            Rc::kInvalid);
  EXPECT_EQ(invalidCode(Json::parse(R"({"messages": [{"role": "user"}]})")), Rc::kInvalid);
  EXPECT_EQ(invalidCode(Json::parse(
                R"({"messages": [{"role": "user", "content": "x"}], "max_tokens": 0})")),
            Rc::kInvalid);
  EXPECT_EQ(invalidCode(Json::parse(
                R"({"messages": [{"role": "user", "content": "x"}], "json_schema": "x"})")),
            Rc::kInvalid);
  ChatDefaults no_model;
  EXPECT_EQ(
      invalidCode(Json::parse(R"({"messages": [{"role": "user", "content": "x"}]})"), no_model),
      Rc::kInvalid);
  EXPECT_EQ(invalidCode(Json::parse(R"({"messages": [{"role": "user", "content": "x"}]})")),
            Rc::kOk);
}

constexpr const char* kResponse = R"({
  "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG", "object": "chat.completion",
  "created": 1750000000, "model": "gpt-4o-mini-2024-07-18", "system_fingerprint": "fp_1",
  "choices": [{"index": 0, "finish_reason": "stop", "logprobs": null,
               "message": {"role": "assistant", "content": "Ada, diskon 10%.", "refusal": null,
                           "annotations": []}}],
  "usage": {"prompt_tokens": 31, "completion_tokens": 9, "total_tokens": 40,
            "prompt_tokens_details": {"cached_tokens": 16, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 4, "audio_tokens": 0,
              "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}}})";

TEST(OpenAiChatResponse, ContentFinishReasonModelAndUsageDetails) {
  ChatReply reply = parseChatResponse(kResponse, "OpenAI");
  EXPECT_EQ(reply.content, "Ada, diskon 10%.");
  Json expected = Json::parse(R"({
    "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG", "model": "gpt-4o-mini-2024-07-18",
    "finish_reason": "stop",
    "usage": {"prompt_tokens": 31, "completion_tokens": 9, "total_tokens": 40,
              "cached_tokens": 16, "reasoning_tokens": 4}})");
  EXPECT_EQ(reply.result, expected);
  EXPECT_EQ(reply.message["role"], "assistant");
}

TEST(OpenAiChatResponse, BlankLinesBeforeTheJsonAreSkipped) {
  ChatReply reply = parseChatResponse(std::string("\n\n\r\n \n") + kResponse, "DeepSeek");
  EXPECT_EQ(reply.content, "Ada, diskon 10%.");
}

TEST(OpenAiChatResponse, DeepSeekCacheHitTokensCountAsCached) {
  Json doc = Json::parse(kResponse);
  doc["usage"] = {{"prompt_tokens", 20},
                  {"completion_tokens", 3},
                  {"total_tokens", 23},
                  {"prompt_cache_hit_tokens", 12},
                  {"prompt_cache_miss_tokens", 8}};
  EXPECT_EQ(parseChatResponse(doc.dump(), "DeepSeek").result["usage"],
            Json::parse(R"({"prompt_tokens": 20, "completion_tokens": 3, "total_tokens": 23,
                            "cached_tokens": 12})"));
}

TEST(OpenAiChatResponse, ToolCallsComeBackWithoutText) {
  Json doc = Json::parse(kResponse);
  Json calls = Json::parse(R"([{"id": "call_1", "type": "function",
    "function": {"name": "get_order", "arguments": "{\"id\":\"A1\"}"}}])");
  doc["choices"][0]["message"]["content"] = nullptr;
  doc["choices"][0]["message"]["tool_calls"] = calls;
  doc["choices"][0]["finish_reason"] = "tool_calls";
  ChatReply reply = parseChatResponse(doc.dump(), "OpenAI");
  EXPECT_EQ(reply.content, "");
  EXPECT_EQ(reply.result["tool_calls"], calls);
  EXPECT_EQ(reply.result["finish_reason"], "tool_calls");
}

TEST(OpenAiChatResponse, ToolCallsComeWithTheAssistantMessageToAppend) {
  Json doc = Json::parse(kResponse);
  Json calls = Json::parse(R"([{"id": "call_1", "type": "function",
    "function": {"name": "get_order", "arguments": "{\"id\":\"A1\"}"}}])");
  doc["choices"][0]["message"]["content"] = "Saya cek.";
  doc["choices"][0]["message"]["reasoning_content"] = "The customer wants A1.";
  doc["choices"][0]["message"]["tool_calls"] = calls;
  ChatReply reply = parseChatResponse(doc.dump(), "DeepSeek");
  EXPECT_EQ(reply.content, "Saya cek.");
  EXPECT_EQ(reply.result["assistant_message"],
            Json({{"role", "assistant"}, {"content", "Saya cek."}, {"tool_calls", calls}}));
  reply = parseChatResponse(doc.dump(), "DeepSeek", {.reasoning_in_assistant_message = true});
  EXPECT_EQ(reply.content, "Saya cek.");
  EXPECT_EQ(reply.result["assistant_message"]["reasoning_content"], "The customer wants A1.");
  EXPECT_FALSE(parseChatResponse(kResponse, "OpenAI").result.contains("assistant_message"));
}

TEST(OpenAiChatResponse, ReasoningContentIsNeverTheReply) {
  Json doc = Json::parse(kResponse);
  doc["choices"][0]["message"]["content"] = "";
  doc["choices"][0]["message"]["reasoning_content"] = "Let me think about the price...";
  doc["choices"][0]["finish_reason"] = "length";
  try {
    parseChatResponse(doc.dump(), "DeepSeek", {.reasoning_in_assistant_message = true});
    FAIL() << "an answer with only reasoning_content must be an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("empty reply"));
    EXPECT_THAT(e.what(), Not(HasSubstr("think about")));
  }
}

TEST(OpenAiChatResponse, ContentPartsAreJoined) {
  Json doc = Json::parse(kResponse);
  doc["choices"][0]["message"]["content"] =
      Json::parse(R"([{"type": "text", "text": "Halo "}, {"type": "text", "text": "Kak"}])");
  EXPECT_EQ(parseChatResponse(doc.dump(), "OpenAI").content, "Halo Kak");
}

Error parseError(const std::string& body) {
  try {
    parseChatResponse(body, "OpenAI");
  } catch (const Error& e) {
    return e;
  }
  return Error(Rc::kOk, "parsed");
}

TEST(OpenAiChatResponse, UnusableAnswersAreErrorsThatSayWhy) {
  Error html = parseError("<html>Welcome to nginx!</html>");
  EXPECT_EQ(html.code(), Rc::kError);
  EXPECT_THAT(html.what(), HasSubstr("not JSON"));
  EXPECT_THAT(html.what(), HasSubstr("Welcome to nginx"));
  EXPECT_EQ(parseError(R"({"object": "list", "data": []})").code(), Rc::kError);

  Json empty = Json::parse(kResponse);
  empty["choices"][0]["message"]["content"] = "";
  empty["choices"][0]["finish_reason"] = "length";
  Error e = parseError(empty.dump());
  EXPECT_EQ(e.code(), Rc::kError);
  EXPECT_THAT(e.what(), HasSubstr("max_tokens"));

  Json refused = Json::parse(kResponse);
  refused["choices"][0]["message"]["content"] = nullptr;
  refused["choices"][0]["message"]["refusal"] = "I can't help with that.";
  EXPECT_THAT(parseError(refused.dump()).what(), HasSubstr("I can't help with that."));

  EXPECT_EQ(parseError(R"({"error": {"message": "upstream died", "code": 502}})").code(),
            Rc::kRetry);
}

}  // namespace
}  // namespace waflow::openai
