// What every AI provider plugin makes of a failure, without HTTP: error answers and transport
// failures classified into result codes and retries, retry hints, error bodies, the backoff.
#include "provider_errors.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace waflow::ai_provider {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using Json = nlohmann::json;
using std::chrono::milliseconds;

std::string errorBody(const std::string& code, const std::string& message) {
  return Json{{"error",
               {{"message", message},
                {"type", "invalid_request_error"},
                {"param", nullptr},
                {"code", code.empty() ? Json(nullptr) : Json(code)}}}}
      .dump();
}

TEST(ProviderErrors, StatusesMapToCodesAndRetries) {
  struct Case {
    int status;
    std::string code;
    Rc rc;
    bool retryable;
  };
  const Case cases[] = {
      {401, "invalid_api_key", Rc::kAuth, false},
      {403, "", Rc::kAuth, false},
      {400, "", Rc::kInvalid, false},
      {404, "model_not_found", Rc::kInvalid, false},
      {422, "", Rc::kInvalid, false},
      {429, "insufficient_quota", Rc::kError, false},
      {402, "", Rc::kError, false},
      {429, "rate_limit_exceeded", Rc::kRetry, true},
      {408, "", Rc::kRetry, true},
      {409, "", Rc::kRetry, true},
      {500, "", Rc::kRetry, true},
      {502, "", Rc::kRetry, true},
      {503, "", Rc::kRetry, true},
      {418, "", Rc::kError, false},
  };
  for (const Case& c : cases) {
    Failure f = classifyHttpError(c.status, {}, errorBody(c.code, "the reason"), "OpenAI");
    EXPECT_EQ(f.rc, c.rc) << c.status << " " << c.code;
    EXPECT_EQ(f.retryable, c.retryable) << c.status << " " << c.code;
    EXPECT_THAT(f.message, HasSubstr("the reason")) << c.status;
    EXPECT_THAT(f.message, HasSubstr("HTTP " + std::to_string(c.status)));
  }
  EXPECT_THAT(classifyHttpError(401, {}, errorBody("", "bad key"), "OpenAI").message,
              HasSubstr("check api_key"));
  EXPECT_THAT(
      classifyHttpError(429, {}, errorBody("insufficient_quota", "quota"), "OpenAI").message,
      HasSubstr("billing"));
}

TEST(ProviderErrors, ShouldRetryHeaderOverridesTheStatus) {
  Failure yes = classifyHttpError(400, {{"X-Should-Retry", "true"}}, errorBody("", "x"), "OpenAI");
  EXPECT_TRUE(yes.retryable);
  EXPECT_EQ(yes.rc, Rc::kRetry);
  Failure no = classifyHttpError(503, {{"x-should-retry", "false"}}, errorBody("", "x"), "OpenAI");
  EXPECT_FALSE(no.retryable);
  EXPECT_EQ(no.rc, Rc::kRetry);
}

TEST(ProviderErrors, NonJsonAndOllamaErrorBodiesStillGiveAMessage) {
  Failure html = classifyHttpError(502, {}, "<html>Bad Gateway</html>", "OpenRouter");
  EXPECT_THAT(html.message, HasSubstr("Bad Gateway"));
  EXPECT_THAT(html.message, HasSubstr("OpenRouter"));
  Failure ollama = classifyHttpError(404, {}, R"({"error":"model 'llama9' not found"})", "Ollama");
  EXPECT_EQ(ollama.rc, Rc::kInvalid);
  EXPECT_THAT(ollama.message, HasSubstr("model 'llama9' not found"));
}

TEST(ProviderErrors, RetryAfterHeaders) {
  EXPECT_EQ(parseRetryAfter({{"retry-after-ms", "250"}, {"retry-after", "9"}}), milliseconds(250));
  EXPECT_EQ(parseRetryAfter({{"Retry-After", "2"}}), milliseconds(2000));
  EXPECT_EQ(parseRetryAfter({{"retry-after", "1.5"}}), milliseconds(1500));
  EXPECT_EQ(parseRetryAfter({{"retry-after", "soon"}}), milliseconds(0));
  EXPECT_EQ(parseRetryAfter({{"retry-after", "-3"}}), milliseconds(0));
  EXPECT_EQ(parseRetryAfter({}), milliseconds(0));
  auto now = std::chrono::system_clock::from_time_t(1750000000);  // Sun, 15 Jun 2025 15:06:40
  EXPECT_EQ(parseRetryAfter({{"retry-after", "Sun, 15 Jun 2025 15:06:50 GMT"}}, now),
            milliseconds(10000));
  EXPECT_EQ(
      classifyHttpError(429, {{"retry-after", "7"}}, errorBody("", "slow"), "OpenAI").retry_after,
      milliseconds(7000));
}

TEST(ProviderErrors, TransportFailures) {
  Failure timeout = classifyTransportError(WAFLOW_HTTP_TIMEOUT, "", "OpenAI", milliseconds(300));
  EXPECT_TRUE(timeout.retryable);
  EXPECT_EQ(timeout.rc, Rc::kRetry);
  EXPECT_THAT(timeout.message, HasSubstr("300 ms"));
  EXPECT_TRUE(classifyTransportError(WAFLOW_HTTP_CONNECT, "refused", "OpenAI", {}).retryable);
  Failure tls = classifyTransportError(WAFLOW_HTTP_TLS, "bad cert", "OpenAI", {});
  EXPECT_FALSE(tls.retryable);
  EXPECT_EQ(tls.rc, Rc::kError);
  Failure shutdown = classifyTransportError(WAFLOW_HTTP_SHUTDOWN, "", "OpenAI", {});
  EXPECT_FALSE(shutdown.retryable);
  EXPECT_EQ(shutdown.rc, Rc::kRetry);
}

TEST(ProviderErrors, BackoffDoublesUpToEightSecondsWithJitterBelow) {
  EXPECT_EQ(backoffDelay(0, 0.0), milliseconds(500));
  EXPECT_EQ(backoffDelay(1, 0.0), milliseconds(1000));
  EXPECT_EQ(backoffDelay(3, 0.0), milliseconds(4000));
  EXPECT_EQ(backoffDelay(4, 0.0), milliseconds(8000));
  EXPECT_EQ(backoffDelay(9, 0.0), milliseconds(8000));
  EXPECT_EQ(backoffDelay(0, 0.5), milliseconds(437));
  EXPECT_EQ(backoffDelay(1, 1.0), milliseconds(750));
}

}  // namespace
}  // namespace waflow::ai_provider
