// The Anthropic Messages wire format without HTTP: Messages bodies built from waflow's
// OpenAI-style AI requests, responses parsed into the normalized result, failures classified
// into result codes and retries.
#include "anthropic_messages.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace waflow::anthropic {
namespace {

using ::testing::HasSubstr;
using Json = nlohmann::json;
using std::chrono::milliseconds;

MessagesDefaults defaults() {
  MessagesDefaults d;
  d.model = "claude-haiku-4-5";
  return d;
}

Rc invalidCode(const Json& request, const MessagesDefaults& d = defaults()) {
  try {
    buildMessagesRequest(request, d);
  } catch (const Error& e) {
    return e.code();
  }
  return Rc::kOk;
}

Error parseError(const std::string& body, bool answer_tool = false) {
  try {
    parseMessagesResponse(body, answer_tool);
  } catch (const Error& e) {
    return e;
  }
  return Error(Rc::kOk, "no error");
}

TEST(AnthropicRequest, SystemIsTopLevelTurnsAreBlocksAndMaxTokensIsAlwaysSent) {
  Json request = Json::parse(R"({
    "system": "Kamu asisten Toko Kita.",
    "messages": [{"role": "user", "content": "Berapa harga paket A?"},
                 {"role": "assistant", "content": "Rp100.000."},
                 {"role": "user", "content": "Ada diskon?"}],
    "history": 3, "timeout_ms": 20000})");
  EXPECT_EQ(buildMessagesRequest(request, defaults()), Json::parse(R"({
    "model": "claude-haiku-4-5", "max_tokens": 1024, "system": "Kamu asisten Toko Kita.",
    "messages": [
      {"role": "user", "content": [{"type": "text", "text": "Berapa harga paket A?"}]},
      {"role": "assistant", "content": [{"type": "text", "text": "Rp100.000."}]},
      {"role": "user", "content": [{"type": "text", "text": "Ada diskon?"}]}]})"));
}

TEST(AnthropicRequest, RequestFieldsAndDefaultsApplyAndTemperatureIsCappedAtOne) {
  MessagesDefaults d = defaults();
  d.max_tokens = 500;
  d.temperature = 0.3;
  Json base = Json::parse(R"({"messages": [{"role": "user", "content": "x"}]})");
  Json body = buildMessagesRequest(base, d);
  EXPECT_EQ(body["max_tokens"], 500);
  EXPECT_EQ(body["temperature"], 0.3);
  EXPECT_FALSE(body.contains("system"));
  Json request = base;
  request["max_tokens"] = 64;
  request["temperature"] = 1.4;
  request["model"] = "claude-sonnet-4-5";
  body = buildMessagesRequest(request, d);
  EXPECT_EQ(body["max_tokens"], 64);
  EXPECT_EQ(body["temperature"], 1.0);
  EXPECT_EQ(body["model"], "claude-sonnet-4-5");
}

TEST(AnthropicRequest, ConsecutiveTurnsMergeAndSystemMessagesJoinTheSystemPrompt) {
  Json request = Json::parse(R"({"system": "A.", "messages": [
    {"role": "system", "content": "B."},
    {"role": "user", "content": "halo"},
    {"role": "user", "content": [{"type": "text", "text": "mau pesan"}]},
    {"role": "assistant", "content": ""},
    {"role": "user", "content": "kue lapis"}]})");
  Json body = buildMessagesRequest(request, defaults());
  EXPECT_EQ(body["system"], "A.\n\nB.");
  // The empty assistant turn is dropped, so all three user messages form one turn.
  EXPECT_EQ(body["messages"], Json::parse(R"([{"role": "user", "content": [
    {"type": "text", "text": "halo"}, {"type": "text", "text": "mau pesan"},
    {"type": "text", "text": "kue lapis"}]}])"));
}

TEST(AnthropicRequest, ALeadingAssistantTurnIsKeptBehindAPlaceholderUserTurn) {
  Json request = Json::parse(R"({"messages": [
    {"role": "assistant", "content": "Halo! Dengan siapa kami berbicara?"},
    {"role": "user", "content": "Budi"}]})");
  EXPECT_EQ(buildMessagesRequest(request, defaults())["messages"], Json::parse(R"j([
    {"role": "user", "content": [{"type": "text", "text": "(earlier messages omitted)"}]},
    {"role": "assistant", "content": [{"type": "text",
                                       "text": "Halo! Dengan siapa kami berbicara?"}]},
    {"role": "user", "content": [{"type": "text", "text": "Budi"}]}])j"));
}

TEST(AnthropicRequest, ImagePartsBecomeImageBlocks) {
  Json request = Json::parse(R"({"messages": [{"role": "user", "content": [
    {"type": "text", "text": "ini fotonya"},
    {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQ"}},
    {"type": "image_url", "image_url": {"url": "https://example.com/kue.png"}}]}]})");
  EXPECT_EQ(buildMessagesRequest(request, defaults())["messages"][0]["content"],
            Json::parse(R"([{"type": "text", "text": "ini fotonya"},
      {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg",
                                   "data": "/9j/4AAQ"}},
      {"type": "image", "source": {"type": "url", "url": "https://example.com/kue.png"}}])"));
}

TEST(AnthropicRequest, ToolsToolChoiceToolCallsAndToolResultsMapToBlocks) {
  Json request = Json::parse(R"({
    "messages": [
      {"role": "user", "content": "status pesanan A1 dan A2?"},
      {"role": "assistant", "content": "Sebentar, saya cek.", "tool_calls": [
        {"id": "toolu_1", "type": "function",
         "function": {"name": "get_order", "arguments": "{\"id\":\"A1\"}"}},
        {"id": "toolu_2", "type": "function",
         "function": {"name": "get_order", "arguments": "{\"id\":\"A2\"}"}}]},
      {"role": "tool", "tool_call_id": "toolu_1", "content": "{\"status\":\"dikirim\"}"},
      {"role": "tool", "tool_call_id": "toolu_2", "content": "not found", "is_error": true}],
    "tools": [{"type": "function", "function": {"name": "get_order",
      "description": "Looks up an order.",
      "parameters": {"type": "object", "properties": {"id": {"type": "string"}},
                     "required": ["id"]}}},
      {"type": "function", "function": {"name": "ping"}}],
    "tool_choice": "required"})");
  Json body = buildMessagesRequest(request, defaults());
  EXPECT_EQ(body["tools"], Json::parse(R"([
    {"name": "get_order", "description": "Looks up an order.",
     "input_schema": {"type": "object", "properties": {"id": {"type": "string"}},
                      "required": ["id"]}},
    {"name": "ping", "input_schema": {"type": "object", "properties": {}}}])"));
  EXPECT_EQ(body["tool_choice"], Json::parse(R"({"type": "any"})"));
  EXPECT_EQ(body["messages"], Json::parse(R"([
    {"role": "user", "content": [{"type": "text", "text": "status pesanan A1 dan A2?"}]},
    {"role": "assistant", "content": [
      {"type": "text", "text": "Sebentar, saya cek."},
      {"type": "tool_use", "id": "toolu_1", "name": "get_order", "input": {"id": "A1"}},
      {"type": "tool_use", "id": "toolu_2", "name": "get_order", "input": {"id": "A2"}}]},
    {"role": "user", "content": [
      {"type": "tool_result", "tool_use_id": "toolu_1", "content": "{\"status\":\"dikirim\"}"},
      {"type": "tool_result", "tool_use_id": "toolu_2", "content": "not found",
       "is_error": true}]}])"));
}

TEST(AnthropicRequest, ToolChoiceForms) {
  Json request = Json::parse(R"({"messages": [{"role": "user", "content": "x"}]})");
  auto choice = [&](const Json& c) {
    Json r = request;
    r["tool_choice"] = c;
    return buildMessagesRequest(r, defaults())["tool_choice"];
  };
  EXPECT_EQ(choice("auto"), Json::parse(R"({"type": "auto"})"));
  EXPECT_EQ(choice("none"), Json::parse(R"({"type": "none"})"));
  EXPECT_EQ(choice(Json::parse(R"({"type": "function", "function": {"name": "get_order"}})")),
            Json::parse(R"({"type": "tool", "name": "get_order"})"));
  request["tool_choice"] = "sometimes";
  EXPECT_EQ(invalidCode(request), Rc::kInvalid);
}

TEST(AnthropicRequest, JsonSchemaBecomesAForcedAnswerTool) {
  Json request = Json::parse(R"({"messages": [{"role": "user", "content": "mau 2 nastar"}],
    "json_schema": {"type": "object", "properties": {"intent": {"type": "string"}},
                    "required": ["intent"]}})");
  Json body = buildMessagesRequest(request, defaults());
  EXPECT_EQ(body["tools"], Json::parse(R"([{"name": "answer",
    "description": "Give your answer in exactly this shape.",
    "input_schema": {"type": "object", "properties": {"intent": {"type": "string"}},
                     "required": ["intent"]}}])"));
  EXPECT_EQ(body["tool_choice"], Json::parse(R"({"type": "tool", "name": "answer"})"));
  request["json_schema"] = Json::parse(R"({"type": "array"})");
  EXPECT_EQ(invalidCode(request), Rc::kInvalid);
}

TEST(AnthropicRequest, InvalidRequestsAreRejectedBeforeAnyCall) {
  EXPECT_EQ(invalidCode(Json::array()), Rc::kInvalid);
  EXPECT_EQ(invalidCode(Json::parse(R"({"messages": []})")), Rc::kInvalid);
  EXPECT_EQ(invalidCode(Json::parse(R"({"messages": [{"role": "bot", "content": "x"}]})")),
            Rc::kInvalid);
  EXPECT_EQ(invalidCode(Json::parse(R"({"messages": [{"role": "user"}]})")), Rc::kInvalid);
  EXPECT_EQ(invalidCode(Json::parse(R"({"messages": [{"role": "system", "content": "x"}]})")),
            Rc::kInvalid);
  EXPECT_EQ(invalidCode(Json::parse(R"({"messages": [{"role": "tool", "content": "x"}]})")),
            Rc::kInvalid);
  EXPECT_EQ(invalidCode(Json::parse(R"({"messages": [{"role": "assistant", "content": null,
    "tool_calls": [{"id": "t", "type": "function",
                    "function": {"name": "f", "arguments": "{not json"}}]}]})")),
            Rc::kInvalid);
  EXPECT_EQ(invalidCode(Json::parse(
                R"({"messages": [{"role": "user", "content": "x"}], "max_tokens": 0})")),
            Rc::kInvalid);
  EXPECT_EQ(invalidCode(Json::parse(R"({"messages": [{"role": "user", "content": "x"}]})"),
                        MessagesDefaults{}),
            Rc::kInvalid);
  EXPECT_EQ(invalidCode(Json::parse(R"({"messages": [{"role": "user", "content": "x"}]})")),
            Rc::kOk);
}

constexpr const char* kResponse = R"({
  "id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message", "role": "assistant",
  "model": "claude-haiku-4-5-20251001",
  "content": [{"type": "text", "text": "Ada, "}, {"type": "text", "text": "diskon 10%."}],
  "stop_reason": "end_turn", "stop_sequence": null,
  "usage": {"input_tokens": 10, "output_tokens": 9, "cache_creation_input_tokens": 5,
            "cache_read_input_tokens": 16, "service_tier": "standard"}})";

TEST(AnthropicResponse, TextBlocksJoinAndUsageCountsCachedInput) {
  MessagesReply reply = parseMessagesResponse(kResponse, false);
  EXPECT_EQ(reply.content, "Ada, diskon 10%.");
  EXPECT_EQ(reply.result, Json::parse(R"({
    "id": "msg_01XFDUDYJgAACzvnptvVoYEL", "model": "claude-haiku-4-5-20251001",
    "finish_reason": "stop", "stop_reason": "end_turn",
    "usage": {"prompt_tokens": 31, "completion_tokens": 9, "total_tokens": 40,
              "cached_tokens": 16}})"));
}

TEST(AnthropicResponse, StopReasonsMapToFinishReasons) {
  Json doc = Json::parse(kResponse);
  auto finish = [&](const char* stop) {
    doc["stop_reason"] = stop;
    return parseMessagesResponse(doc.dump(), false).result["finish_reason"];
  };
  EXPECT_EQ(finish("stop_sequence"), "stop");
  EXPECT_EQ(finish("max_tokens"), "length");
  EXPECT_EQ(finish("refusal"), "content_filter");
  EXPECT_EQ(finish("pause_turn"), "pause_turn");
}

TEST(AnthropicResponse, ToolUseComesBackInOpenAisShapeWithTheAssistantMessage) {
  Json doc = Json::parse(kResponse);
  doc["stop_reason"] = "tool_use";
  doc["content"] = Json::parse(R"([{"type": "thinking", "thinking": "hmm", "signature": "s"},
    {"type": "text", "text": "Saya cek dulu."},
    {"type": "tool_use", "id": "toolu_01", "name": "get_order", "input": {"id": "A1"}}])");
  MessagesReply reply = parseMessagesResponse(doc.dump(), false);
  EXPECT_EQ(reply.content, "Saya cek dulu.");
  Json calls = Json::parse(R"([{"id": "toolu_01", "type": "function",
    "function": {"name": "get_order", "arguments": "{\"id\":\"A1\"}"}}])");
  EXPECT_EQ(reply.result["finish_reason"], "tool_calls");
  EXPECT_EQ(reply.result["tool_calls"], calls);
  EXPECT_EQ(reply.result["assistant_message"],
            Json({{"role", "assistant"}, {"content", "Saya cek dulu."}, {"tool_calls", calls}}));
  doc["content"].erase(1);
  reply = parseMessagesResponse(doc.dump(), false);
  EXPECT_EQ(reply.content, "");  // the thinking block is never the reply
  EXPECT_EQ(reply.result["assistant_message"]["content"], nullptr);
}

TEST(AnthropicResponse, TheAnswerToolsInputIsTheJsonContent) {
  Json doc = Json::parse(kResponse);
  doc["stop_reason"] = "tool_use";
  doc["content"] = Json::parse(R"([{"type": "tool_use", "id": "toolu_9", "name": "answer",
    "input": {"intent": "order", "qty": 2}}])");
  MessagesReply reply = parseMessagesResponse(doc.dump(), true);
  EXPECT_EQ(Json::parse(reply.content), Json::parse(R"({"intent": "order", "qty": 2})"));
  EXPECT_EQ(reply.result["finish_reason"], "stop");
  EXPECT_EQ(reply.result["stop_reason"], "tool_use");
  EXPECT_FALSE(reply.result.contains("tool_calls"));
  EXPECT_FALSE(reply.result.contains("assistant_message"));
}

TEST(AnthropicResponse, UnusableAnswersAreErrorsThatSayWhy) {
  Error e = parseError("<html>502 Bad Gateway</html>");
  EXPECT_EQ(e.code(), Rc::kError);
  EXPECT_THAT(e.what(), HasSubstr("not JSON"));
  EXPECT_THAT(e.what(), HasSubstr("base_url"));

  e = parseError(R"({"type": "error", "error": {"type": "overloaded_error",
                                               "message": "Overloaded"}})");
  EXPECT_EQ(e.code(), Rc::kRetry);
  EXPECT_THAT(e.what(), HasSubstr("overloaded_error: Overloaded"));

  Json doc = Json::parse(kResponse);
  doc["content"] = Json::array();
  doc["stop_reason"] = "max_tokens";
  e = parseError(doc.dump());
  EXPECT_EQ(e.code(), Rc::kError);
  EXPECT_THAT(e.what(), HasSubstr("raise max_tokens"));
  doc["stop_reason"] = "refusal";
  EXPECT_THAT(parseError(doc.dump()).what(), HasSubstr("refused"));
  doc.erase("content");
  EXPECT_THAT(parseError(doc.dump()).what(), HasSubstr("without a content array"));
}

std::string errorBody(const std::string& type, const std::string& message) {
  return Json({{"type", "error"}, {"error", {{"type", type}, {"message", message}}}}).dump();
}

TEST(AnthropicErrors, StatusesMapToCodesAndRetries) {
  struct Case {
    int status;
    const char* type;
    Rc rc;
    bool retryable;
  };
  for (const Case& c :
       {Case{400, "invalid_request_error", Rc::kInvalid, false},
        Case{401, "authentication_error", Rc::kAuth, false},
        Case{402, "billing_error", Rc::kError, false},
        Case{403, "permission_error", Rc::kAuth, false},
        Case{404, "not_found_error", Rc::kInvalid, false},
        Case{413, "request_too_large", Rc::kInvalid, false},
        Case{429, "rate_limit_error", Rc::kRetry, true}, Case{500, "api_error", Rc::kRetry, true},
        Case{503, "api_error", Rc::kRetry, true}, Case{504, "timeout_error", Rc::kRetry, true},
        Case{529, "overloaded_error", Rc::kRetry, true}}) {
    ai_provider::Failure f = classifyHttpError(
        c.status, {}, errorBody(c.type, "msg " + std::to_string(c.status)), "Anthropic");
    EXPECT_EQ(f.rc, c.rc) << c.status;
    EXPECT_EQ(f.retryable, c.retryable) << c.status;
    EXPECT_THAT(f.message, HasSubstr("Anthropic answered HTTP " + std::to_string(c.status) + ": " +
                                     c.type + ": msg " + std::to_string(c.status)));
  }
  EXPECT_THAT(classifyHttpError(401, {}, errorBody("authentication_error", "invalid x-api-key"),
                                "Anthropic")
                  .message,
              HasSubstr("check api_key"));
  EXPECT_THAT(classifyHttpError(402, {}, errorBody("billing_error", "x"), "Anthropic").message,
              HasSubstr("waiting will not help"));
}

TEST(AnthropicErrors, RetryAfterAndShouldRetryHeadersApply) {
  ai_provider::Failure f = classifyHttpError(
      429, {{"retry-after", "7"}}, errorBody("rate_limit_error", "slow down"), "Anthropic");
  EXPECT_EQ(f.retry_after, milliseconds(7000));
  f = classifyHttpError(529, {{"x-should-retry", "false"}}, errorBody("overloaded_error", "x"),
                        "Anthropic");
  EXPECT_FALSE(f.retryable);
}

TEST(AnthropicErrors, AnErrorInsideA200BodyIsClassifiedByItsType) {
  EXPECT_FALSE(classifyErrorBody(kResponse, "Anthropic"));
  EXPECT_FALSE(classifyErrorBody("not json", "Anthropic"));
  auto f = classifyErrorBody(errorBody("overloaded_error", "Overloaded"), "Anthropic");
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->retryable);
  EXPECT_THAT(f->message, HasSubstr("Anthropic reported an error: overloaded_error: Overloaded"));
  f = classifyErrorBody(errorBody("invalid_request_error", "bad"), "Anthropic");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->rc, Rc::kInvalid);
  EXPECT_FALSE(f->retryable);
}

}  // namespace
}  // namespace waflow::anthropic
