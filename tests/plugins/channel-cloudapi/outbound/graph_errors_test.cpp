// classify(): HTTP status + Meta error body + headers → what the sender does next.
#include "graph_errors.h"

#include <gtest/gtest.h>

#include <string>

namespace waflow::cloudapi {
namespace {

using namespace std::chrono_literals;
using waflow::Rc;

waflow::HttpResponse response(int status, std::string body, waflow::Headers headers = {}) {
  waflow::HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

std::string metaError(int code, const std::string& message, const std::string& details = "") {
  std::string body = R"({"error":{"message":")" + message + R"(","type":"OAuthException","code":)" +
                     std::to_string(code);
  if (!details.empty()) {
    body += R"(,"error_data":{"messaging_product":"whatsapp","details":")" + details + "\"}";
  }
  return body + R"(,"fbtrace_id":"ACEyrTehk6IAd0lm05Ixogh"}})";
}

struct Case {
  const char* name;
  int status;
  std::string body;
  waflow::Headers headers;
  Rc rc;
  int code;
  std::chrono::milliseconds retry_after;
};

class ClassifyTable : public ::testing::TestWithParam<Case> {};

TEST_P(ClassifyTable, Outcome) {
  const Case& c = GetParam();
  SendOutcome o = classify(response(c.status, c.body, c.headers));
  EXPECT_EQ(o.rc, c.rc) << o.message;
  EXPECT_EQ(o.error_code, c.code);
  EXPECT_EQ(o.retry_after, c.retry_after);
  EXPECT_EQ(o.http_status, c.status);
}

INSTANTIATE_TEST_SUITE_P(
    CloudApiGraphErrors, ClassifyTable,
    ::testing::Values(
        // Throttling, with and without Retry-After.
        Case{"throughput_retry_after",
             429,
             metaError(130429, "(#130429) Rate limit hit"),
             {{"retry-after", "3"}},
             Rc::kRetry,
             130429,
             3s},
        Case{"throughput_default",
             400,
             metaError(130429, "(#130429) Rate limit hit"),
             {},
             Rc::kRetry,
             130429,
             1s},
        Case{"pair_rate_default_6s",
             400,
             metaError(131056, "(#131056) pair rate"),
             {},
             Rc::kRetry,
             131056,
             6s},
        Case{"app_rate_minutes",
             400,
             metaError(4, "(#4) Application request limit reached"),
             {},
             Rc::kRetry,
             4,
             300s},
        Case{"waba_rate", 400, metaError(80007, "(#80007) Rate limit"), {}, Rc::kRetry, 80007, 60s},
        Case{"generic_131000",
             500,
             metaError(131000, "Something went wrong"),
             {},
             Rc::kRetry,
             131000,
             5s},
        Case{"server_unavailable_133004",
             503,
             metaError(133004, "Server unavailable"),
             {{"Retry-After", "1.5"}},
             Rc::kRetry,
             133004,
             1500ms},
        // Auth.
        Case{
            "token_expired_190",
            401,
            R"({"error":{"message":"Error validating access token","type":"OAuthException","code":190,"error_subcode":463,"fbtrace_id":"x"}})",
            {},
            Rc::kAuth,
            190,
            0ms},
        Case{"bare_401", 401, "", {}, Rc::kAuth, 0, 0ms},
        // Request bugs: never retried.
        Case{"invalid_param_100",
             400,
             metaError(100, "(#100) Invalid parameter"),
             {{"retry-after", "5"}},
             Rc::kInvalid,
             100,
             0ms},
        Case{"missing_param_131008",
             400,
             metaError(131008, "Required parameter is missing"),
             {},
             Rc::kInvalid,
             131008,
             0ms},
        Case{"bad_value_131009",
             400,
             metaError(131009, "Parameter value is not valid"),
             {},
             Rc::kInvalid,
             131009,
             0ms},
        Case{"recipient_is_sender_131021",
             400,
             metaError(131021, "Recipient cannot be sender"),
             {},
             Rc::kInvalid,
             131021,
             0ms},
        Case{"unsupported_type_131051",
             400,
             metaError(131051, "Unsupported message type"),
             {},
             Rc::kInvalid,
             131051,
             0ms},
        Case{"template_missing_132001",
             404,
             metaError(132001, "Template name does not exist"),
             {},
             Rc::kInvalid,
             132001,
             0ms},
        Case{"template_params_132000",
             400,
             metaError(132000, "param count"),
             {},
             Rc::kInvalid,
             132000,
             0ms},
        // The recipient or Meta's policy: no retry.
        Case{"undeliverable_131026",
             400,
             metaError(131026, "Message undeliverable"),
             {},
             Rc::kError,
             131026,
             0ms},
        Case{"window_closed_131047",
             400,
             metaError(131047, "Re-engagement message"),
             {},
             Rc::kError,
             131047,
             0ms},
        Case{"template_paused_132015",
             400,
             metaError(132015, "Template is paused"),
             {},
             Rc::kError,
             132015,
             0ms},
        Case{"template_disabled_132016",
             400,
             metaError(132016, "Template is disabled"),
             {},
             Rc::kError,
             132016,
             0ms},
        Case{"permission_range_200",
             403,
             metaError(200, "Permissions error"),
             {},
             Rc::kError,
             200,
             0ms},
        Case{"unknown_code_on_500_retries",
             500,
             metaError(999999, "new"),
             {},
             Rc::kRetry,
             999999,
             5s},
        Case{"unknown_code_on_400_stops",
             400,
             metaError(999999, "new"),
             {},
             Rc::kError,
             999999,
             0ms},
        // No Meta error body: the HTTP status decides.
        Case{"bare_502", 502, "<html>Bad Gateway</html>", {}, Rc::kRetry, 0, 5s},
        Case{"bare_429_with_header", 429, "", {{"Retry-After", "7"}}, Rc::kRetry, 0, 7s},
        Case{"bare_404", 404, "not found", {}, Rc::kInvalid, 0, 0ms}),
    [](const ::testing::TestParamInfo<Case>& p) { return std::string(p.param.name); });

TEST(CloudApiGraphErrors, SuccessCarriesWamidAndStatus) {
  SendOutcome o = classify(response(200, R"({"messaging_product":"whatsapp",
      "contacts":[{"input":"6281234567890","wa_id":"6281234567890"}],
      "messages":[{"id":"wamid.HBgLNjI4","message_status":"accepted"}]})"));
  EXPECT_EQ(o.rc, Rc::kOk);
  EXPECT_TRUE(o.ok());
  EXPECT_EQ(o.provider_message_id, "wamid.HBgLNjI4");
  EXPECT_EQ(o.message_status, "accepted");
  EXPECT_EQ(o.error_code, 0);

  SendOutcome upload = classify(response(200, R"({"id":"1037543291543636"})"));
  EXPECT_EQ(upload.provider_message_id, "1037543291543636");
  EXPECT_TRUE(classify(response(200, R"({"success":true})")).ok());
}

TEST(CloudApiGraphErrors, HumanMessageUsesTitleAndDetails) {
  SendOutcome o = classify(response(
      400, metaError(131026, "(#131026) Message Undeliverable.",
                     "Message failed to send because the recipient is not a WhatsApp user.")));
  EXPECT_EQ(o.message,
            "Meta error 131026 (Message undeliverable): Message failed to send because the "
            "recipient is not a WhatsApp user.");
  // Without error_data, Meta's own message is the detail.
  SendOutcome bare = classify(response(400, metaError(100, "(#100) Invalid parameter")));
  EXPECT_EQ(bare.message, "Meta error 100 (Invalid parameter): (#100) Invalid parameter");

  waflow::Error e = o.toError("sending to 6281234567890");
  EXPECT_EQ(e.code(), Rc::kError);
  EXPECT_STREQ(e.what(),
               "sending to 6281234567890: Meta error 131026 (Message undeliverable): Message "
               "failed to send because the recipient is not a WhatsApp user.");
  SendOutcome limited = classify(response(429, metaError(130429, "x"), {{"retry-after", "2"}}));
  EXPECT_EQ(limited.toError().retryAfter(), 2s);
  EXPECT_EQ(limited.toError().code(), Rc::kRetry);
}

TEST(CloudApiGraphErrors, TransportFailures) {
  waflow::HttpResponse timeout;
  timeout.error = WAFLOW_HTTP_TIMEOUT;
  timeout.error_message = "Operation timed out after 30000 ms";
  SendOutcome o = classify(timeout);
  EXPECT_EQ(o.rc, Rc::kRetry);
  EXPECT_GT(o.retry_after, 0ms);
  EXPECT_EQ(o.message, "Graph API request failed (timeout): Operation timed out after 30000 ms");

  waflow::HttpResponse refused;
  refused.error = WAFLOW_HTTP_CONNECT;
  EXPECT_EQ(classify(refused).rc, Rc::kRetry);

  waflow::HttpResponse tls;
  tls.error = WAFLOW_HTTP_TLS;
  EXPECT_EQ(classify(tls).rc, Rc::kError);  // a certificate problem is not fixed by retrying
}

TEST(CloudApiGraphErrors, ASendWhoseAnswerNeverCameIsInDoubt) {
  waflow::HttpResponse timeout;
  timeout.error = WAFLOW_HTTP_TIMEOUT;
  timeout.request_sent = true;
  SendOutcome o = classifySend(timeout);
  EXPECT_EQ(o.rc, Rc::kInDoubt);
  EXPECT_EQ(o.retry_after, 0ms);
  EXPECT_EQ(o.toError().code(), Rc::kInDoubt);
  waflow::HttpResponse reset;
  reset.error = WAFLOW_HTTP_OTHER;
  reset.request_sent = true;
  EXPECT_EQ(classifySend(reset).rc, Rc::kInDoubt);
  // Nothing went out (a connect timeout, a refused connection): repeating is safe.
  timeout.request_sent = false;
  EXPECT_EQ(classifySend(timeout).rc, Rc::kRetry);
  waflow::HttpResponse refused;
  refused.error = WAFLOW_HTTP_CONNECT;
  refused.request_sent = true;
  EXPECT_EQ(classifySend(refused).rc, Rc::kRetry);
  // Other calls (uploads, downloads) repeat harmlessly: classify() keeps retrying them.
  timeout.request_sent = true;
  EXPECT_EQ(classify(timeout).rc, Rc::kRetry);
}

TEST(CloudApiGraphErrors, AGatewayErrorInsteadOfMetasAnswerIsInDoubtButMetasOwn5xxIsRetried) {
  EXPECT_EQ(classifySend(response(502, "<html>Bad Gateway</html>")).rc, Rc::kInDoubt);
  EXPECT_EQ(classifySend(response(504, "")).rc, Rc::kInDoubt);
  SendOutcome meta = classifySend(response(500, metaError(131000, "Something went wrong")));
  EXPECT_EQ(meta.rc, Rc::kRetry);
  EXPECT_EQ(meta.error_code, 131000);
  EXPECT_EQ(classifySend(response(429, metaError(130429, "x"))).rc, Rc::kRetry);
  EXPECT_EQ(classifySend(response(400, metaError(131026, "x"))).rc, Rc::kError);
}

TEST(CloudApiGraphErrors, StatusWebhookErrors) {
  SendOutcome window =
      classifyStatusError(131047, "Re-engagement message", "More than 24 hours have passed");
  EXPECT_EQ(window.rc, Rc::kError);
  EXPECT_EQ(window.error_code, 131047);
  EXPECT_EQ(window.message,
            "Meta error 131047 (Re-engagement message): More than 24 hours have passed");
  EXPECT_EQ(classifyStatusError(131026).rc, Rc::kError);
  EXPECT_EQ(classifyStatusError(131026).message, "Meta error 131026 (Message undeliverable)");
  EXPECT_EQ(classifyStatusError(131049).rc, Rc::kError);
  EXPECT_EQ(classifyStatusError(130472).rc, Rc::kError);
  EXPECT_EQ(classifyStatusError(132001).rc, Rc::kInvalid);
  SendOutcome generic = classifyStatusError(131000);
  EXPECT_EQ(generic.rc, Rc::kRetry);
  EXPECT_EQ(generic.retry_after, 5s);
  EXPECT_EQ(classifyStatusError(131056).retry_after, 6s);
  EXPECT_EQ(classifyStatusError(190).rc, Rc::kAuth);
}

TEST(CloudApiGraphErrors, RetryAfterParsing) {
  EXPECT_EQ(parseRetryAfter("30"), 30s);
  EXPECT_EQ(parseRetryAfter(" 2 "), 2s);
  EXPECT_EQ(parseRetryAfter("0.25"), 250ms);
  EXPECT_EQ(parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT"), 0ms);
  EXPECT_EQ(parseRetryAfter("-1"), 0ms);
  EXPECT_EQ(parseRetryAfter("999999"), std::chrono::milliseconds(std::chrono::hours(1)));
  EXPECT_EQ(errorTitle(131056), "(Business Account, Consumer Account) pair rate limit hit");
  EXPECT_EQ(errorTitle(42424242), "");
}

}  // namespace
}  // namespace waflow::cloudapi
