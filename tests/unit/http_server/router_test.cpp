#include "http_server/router.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace waflow::core::httpd {
namespace {

RouteHandler tagHandler(std::string* out, std::string tag) {
  return [out, tag](HttpRequest&&, Respond) { *out = tag; };
}

void invoke(const Router::Match& m) {
  ASSERT_NE(m.handler, nullptr);
  (*m.handler)(HttpRequest{}, Respond{});
}

TEST(RouterTest, ExactPathDispatchesByMethod) {
  std::string hit;
  Router router;
  router.add("GET", "/healthz", tagHandler(&hit, "health-get"));
  router.add("POST", "/healthz", tagHandler(&hit, "health-post"));

  auto get = router.match("GET", "/healthz");
  EXPECT_EQ(get.status, 200);
  EXPECT_EQ(get.route_label, "/healthz");  // label defaults to the path
  invoke(get);
  EXPECT_EQ(hit, "health-get");

  invoke(router.match("POST", "/healthz"));
  EXPECT_EQ(hit, "health-post");
}

TEST(RouterTest, UnknownPathIs404WithUnmatchedLabel) {
  std::string hit;
  Router router;
  router.add("GET", "/healthz", tagHandler(&hit, "x"));
  auto m = router.match("GET", "/healthz/extra");
  EXPECT_EQ(m.status, 404);
  EXPECT_EQ(m.handler, nullptr);
  EXPECT_EQ(m.route_label, Router::kUnmatchedLabel);
}

TEST(RouterTest, KnownPathWrongMethodIs405WithAllow) {
  std::string hit;
  Router router;
  router.add("GET", "/metrics", tagHandler(&hit, "a"), "metrics");
  router.add("PUT", "/metrics", tagHandler(&hit, "b"), "metrics");
  auto m = router.match("DELETE", "/metrics");
  EXPECT_EQ(m.status, 405);
  EXPECT_EQ(m.handler, nullptr);
  EXPECT_EQ(m.allow, "GET, PUT");
  EXPECT_EQ(m.route_label, "metrics");
}

TEST(RouterTest, ExactBeatsPrefixAndLongestPrefixWins) {
  std::string hit;
  Router router;
  router.addPrefix("POST", "/webhooks/", tagHandler(&hit, "webhooks"), "/webhooks/{channel}");
  router.addPrefix("POST", "/webhooks/meta/", tagHandler(&hit, "meta"), "/webhooks/meta/{id}");
  router.add("POST", "/webhooks/special", tagHandler(&hit, "special"));

  auto generic = router.match("POST", "/webhooks/sandbox");
  EXPECT_EQ(generic.route_label, "/webhooks/{channel}");
  invoke(generic);
  EXPECT_EQ(hit, "webhooks");

  auto longer = router.match("POST", "/webhooks/meta/123");
  EXPECT_EQ(longer.route_label, "/webhooks/meta/{id}");
  invoke(longer);
  EXPECT_EQ(hit, "meta");

  invoke(router.match("POST", "/webhooks/special"));
  EXPECT_EQ(hit, "special");

  auto wrong_method = router.match("GET", "/webhooks/sandbox");
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_EQ(wrong_method.allow, "POST");
  EXPECT_EQ(router.match("POST", "/webhook").status, 404);
}

TEST(RouterTest, HeadFallsBackToGet) {
  std::string hit;
  Router router;
  router.add("GET", "/readyz", tagHandler(&hit, "ready"));
  invoke(router.match("HEAD", "/readyz"));
  EXPECT_EQ(hit, "ready");
}

TEST(RouterTest, RejectsDuplicatesAndBadPaths) {
  std::string hit;
  Router router;
  router.add("GET", "/a", tagHandler(&hit, "a"));
  EXPECT_THROW(router.add("GET", "/a", tagHandler(&hit, "a")), std::invalid_argument);
  EXPECT_THROW(router.add("GET", "relative", tagHandler(&hit, "a")), std::invalid_argument);
  EXPECT_THROW(router.addPrefix("GET", "/p/", tagHandler(&hit, "a"), ""), std::invalid_argument);
  router.addPrefix("GET", "/p/", tagHandler(&hit, "a"), "/p/{x}");
  EXPECT_THROW(router.addPrefix("GET", "/p/", tagHandler(&hit, "a"), "/p/{x}"),
               std::invalid_argument);
}

TEST(HttpRequestTest, HeaderLookupIsCaseInsensitive) {
  HttpRequest req;
  req.headers = {{"Content-Type", "application/json"}, {"X-Hub-Signature-256", "sha256=ab"}};
  EXPECT_EQ(req.header("content-type"), "application/json");
  EXPECT_EQ(req.header("x-hub-signature-256"), "sha256=ab");
  EXPECT_FALSE(req.header("X-Missing").has_value());
}

TEST(HttpRequestTest, QueryParamDecodesPercentAndPlus) {
  HttpRequest req;
  req.query = "hub.mode=subscribe&hub.verify_token=a%20b+c&flag&empty=&k%26y=v%3D1&hub.mode=again";
  EXPECT_EQ(req.queryParam("hub.mode"), "subscribe");  // first occurrence wins
  EXPECT_EQ(req.queryParam("hub.verify_token"), "a b c");
  EXPECT_EQ(req.queryParam("flag"), "");
  EXPECT_EQ(req.queryParam("empty"), "");
  EXPECT_EQ(req.queryParam("k&y"), "v=1");
  EXPECT_FALSE(req.queryParam("missing").has_value());
  req.query = "";
  EXPECT_FALSE(req.queryParam("hub.mode").has_value());
}

TEST(HttpRequestTest, RequestIdValidationAndGeneration) {
  EXPECT_TRUE(isSaneRequestId("abc-123_X.y"));
  EXPECT_TRUE(isSaneRequestId(std::string(64, 'a')));
  EXPECT_FALSE(isSaneRequestId(std::string(65, 'a')));
  EXPECT_FALSE(isSaneRequestId(""));
  EXPECT_FALSE(isSaneRequestId("has space"));
  EXPECT_FALSE(isSaneRequestId("semi;colon"));
  auto a = generateRequestId();
  auto b = generateRequestId();
  EXPECT_EQ(a.size(), 16u);
  EXPECT_TRUE(isSaneRequestId(a));
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace waflow::core::httpd
