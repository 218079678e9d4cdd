// FakeAi's own contract, over real HTTP with a plain Beast client: the embeddings endpoint that
// retrieval tests rely on, and the Anthropic dialect's checks and default answer, so provider
// tests can trust what the fake says.
#include <utility>  // before Asio: g++ 12 coroutine workaround (see design.md)

#include "fake_ai.h"

#include <gtest/gtest.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include <cmath>

namespace waflow::test {
namespace {

namespace http = boost::beast::http;
using Json = nlohmann::json;

struct Answer {
  int status = 0;
  Json body;
};

// POSTs `body` to the fake and returns the status and the parsed JSON answer.
Answer post(const FakeAi& fake, const std::string& target, const std::string& body,
            const FakeAiHeaders& headers) {
  boost::asio::io_context io;
  boost::beast::tcp_stream stream(io);
  stream.connect({boost::asio::ip::make_address("127.0.0.1"), fake.port()});
  http::request<http::string_body> req{http::verb::post, target, 11};
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::content_type, "application/json");
  for (const auto& [name, value] : headers) {
    req.set(name, value);
  }
  req.body() = body;
  req.prepare_payload();
  http::write(stream, req);
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res);
  return {static_cast<int>(res.result_int()), Json::parse(res.body(), nullptr, false)};
}

Answer postOpenAi(const FakeAi& fake, const std::string& target, const Json& body) {
  return post(fake, target, body.dump(), {{"Authorization", "Bearer sk-test"}});
}

double dot(const Json& a, const std::vector<double>& b) {
  double sum = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    sum += a.at(i).get<double>() * b[i];
  }
  return sum;
}

TEST(FakeAiEmbeddingsTest, AnswersOpenAisShapeInInputOrderWithTokenUsage) {
  FakeAi fake;
  Answer a = postOpenAi(fake, "/v1/embeddings",
                        {{"model", "text-embedding-3-small"},
                         {"input", {"Harga kue lapis?", "jam buka toko"}},
                         {"dimensions", 16}});
  ASSERT_EQ(a.status, 200) << a.body.dump();
  EXPECT_EQ(a.body["object"], "list");
  EXPECT_EQ(a.body["model"], "text-embedding-3-small");
  EXPECT_EQ(a.body["usage"], Json({{"prompt_tokens", 6}, {"total_tokens", 6}}));
  ASSERT_EQ(a.body["data"].size(), 2u);
  for (int i = 0; i < 2; ++i) {
    const Json& d = a.body["data"][i];
    EXPECT_EQ(d["object"], "embedding");
    EXPECT_EQ(d["index"], i);
    ASSERT_EQ(d["embedding"].size(), 16u);
  }
  EXPECT_EQ(a.body["data"][0]["embedding"], Json(FakeAi::embed("Harga kue lapis?", 16)));
  EXPECT_EQ(a.body["data"][1]["embedding"], Json(FakeAi::embed("jam buka toko", 16)));

  auto records = fake.requests();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].target, "/v1/embeddings");
  EXPECT_EQ(records[0].body["dimensions"], 16);
  EXPECT_EQ(records[0].status, 200);
}

TEST(FakeAiEmbeddingsTest, VectorsAreUnitLengthCaseInsensitiveAndShareTokens) {
  FakeAi fake;
  Answer a = postOpenAi(fake, "/v1/embeddings", {{"model", "m"}, {"input", "Kue LAPIS, kue!"}});
  ASSERT_EQ(a.status, 200);
  const Json& v = a.body["data"][0]["embedding"];
  ASSERT_EQ(v.size(), 64u);  // the default dimensions
  EXPECT_EQ(a.body["usage"]["prompt_tokens"], 3);
  double norm = 0;
  for (const Json& x : v) {
    norm += x.get<double>() * x.get<double>();
  }
  EXPECT_NEAR(norm, 1.0, 1e-9);
  // Same tokens, whatever the case and punctuation: the same vector.
  EXPECT_NEAR(dot(v, FakeAi::embed("kue lapis kue")), 1.0, 1e-9);
  // "kue" twice, "lapis" once: closer to "kue" than to an unrelated text.
  EXPECT_GT(dot(v, FakeAi::embed("kue")), dot(v, FakeAi::embed("jadwal pengiriman")));
  // Bytes >= 0x80 are letters: "café" is one token, not "caf".
  EXPECT_EQ(FakeAi::embed("café"), FakeAi::embed("CAFé"));
  EXPECT_NE(FakeAi::embed("café"), FakeAi::embed("caf"));
  // No tokens: all zeros (nothing to normalise).
  EXPECT_EQ(FakeAi::embed("?!", 4), std::vector<double>(4, 0.0));
}

TEST(FakeAiEmbeddingsTest, ChecksTheKeyAndInputAndFollowsTheScript) {
  FakeAi fake;
  EXPECT_EQ(post(fake, "/v1/embeddings", R"({"model":"m","input":"x"})", {}).status, 401);
  EXPECT_EQ(postOpenAi(fake, "/v1/embeddings", {{"model", "m"}}).status, 400);
  EXPECT_EQ(postOpenAi(fake, "/v1/embeddings", {{"model", "m"}, {"input", {1, 2}}}).status, 400);
  fake.script(FakeAiReply::rateLimited(1));
  Answer a = postOpenAi(fake, "/v1/embeddings", {{"model", "m"}, {"input", "x"}});
  EXPECT_EQ(a.status, 429);
  EXPECT_EQ(postOpenAi(fake, "/v1/embeddings", {{"model", "m"}, {"input", "x"}}).status, 200);
}

FakeAi::Options anthropicOptions() {
  FakeAi::Options o;
  o.api_key = "sk-ant-test";
  o.dialect = FakeAi::Dialect::kAnthropic;
  return o;
}

TEST(FakeAiAnthropicTest, DefaultAnswerIsAMessagesResponseEchoingTheLastUserText) {
  FakeAi fake(anthropicOptions());
  Json request = Json::parse(R"({"model": "claude-x", "max_tokens": 100, "system": "Be brief.",
    "messages": [{"role": "user", "content": "halo"},
                 {"role": "assistant", "content": [{"type": "text", "text": "Hai!"}]},
                 {"role": "user", "content": [{"type": "text", "text": "jam buka?"}]}]})");
  Answer a = post(fake, "/v1/messages", request.dump(),
                  {{"x-api-key", "sk-ant-test"}, {"anthropic-version", "2023-06-01"}});
  ASSERT_EQ(a.status, 200) << a.body.dump();
  EXPECT_EQ(a.body["type"], "message");
  EXPECT_EQ(a.body["model"], "claude-x");
  EXPECT_EQ(a.body["content"], Json::parse(R"([{"type": "text", "text": "Echo: jam buka?"}])"));
  EXPECT_EQ(a.body["stop_reason"], "end_turn");
  EXPECT_EQ(a.body["usage"]["input_tokens"], 6);  // words: "Be brief." halo Hai! "jam buka?"
  EXPECT_EQ(a.body["usage"]["output_tokens"], 3);
}

TEST(FakeAiAnthropicTest, ChecksKeyVersionAndMaxTokensWithAnthropicErrors) {
  FakeAi fake(anthropicOptions());
  const std::string body = R"({"model": "m", "max_tokens": 5,
                               "messages": [{"role": "user", "content": "x"}]})";
  Answer a = post(fake, "/v1/messages", body,
                  {{"Authorization", "Bearer sk-ant-test"}, {"anthropic-version", "2023-06-01"}});
  EXPECT_EQ(a.status, 401);
  EXPECT_EQ(a.body["type"], "error");
  EXPECT_EQ(a.body["error"]["type"], "authentication_error");
  a = post(fake, "/v1/messages", body, {{"x-api-key", "sk-ant-test"}});
  EXPECT_EQ(a.status, 400);
  EXPECT_EQ(a.body["error"]["message"], "anthropic-version: header is required");
  a = post(fake, "/v1/messages", R"({"model": "m", "messages": []})",
           {{"x-api-key", "sk-ant-test"}, {"anthropic-version", "2023-06-01"}});
  EXPECT_EQ(a.status, 400);
  EXPECT_EQ(a.body["error"]["message"], "max_tokens: Field required");
  a = post(fake, "/v1/chat/completions", body,
           {{"x-api-key", "sk-ant-test"}, {"anthropic-version", "2023-06-01"}});
  EXPECT_EQ(a.status, 404);
  EXPECT_EQ(a.body["error"]["type"], "not_found_error");

  fake.script(FakeAiReply::anthropicOverloaded());
  a = post(fake, "/v1/messages", body,
           {{"x-api-key", "sk-ant-test"}, {"anthropic-version", "2023-06-01"}});
  EXPECT_EQ(a.status, 529);
  EXPECT_EQ(a.body["error"]["type"], "overloaded_error");
  EXPECT_EQ(fake.requests().back().header("anthropic-version"), "2023-06-01");
}

}  // namespace
}  // namespace waflow::test
