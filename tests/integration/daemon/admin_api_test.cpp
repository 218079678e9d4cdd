// The admin API as an attacker on the network meets it: the real daemon, real HTTP on
// 127.0.0.1. Hostile bodies get 400 naming the problem and never stop the process; wrong
// tokens are counted per address and end in 429; weak tokens are refused at config load;
// every action and failed login is in the audit log.
#include "daemon_process.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <thread>

namespace waflow::test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using Json = nlohmann::json;

constexpr const char* kToken = "0d5e8a3f6b1c94e27a0f5d8c3b6e1a49";

std::string config() {
  return std::string(R"(
channels: { sandbox: { plugin: channel-sandbox } }
auto_reply: { mode: echo }
flows: { admin_token: )") +
         kToken + ", watch: false }\n";
}

std::string auth() {
  return std::string("Authorization: Bearer ") + kToken;
}

HttpResult post(const DaemonProcess& d, const std::string& path, const std::string& body,
                const std::string& authorization = auth()) {
  return http("POST", d.url(path), body, {"Content-Type: application/json", authorization});
}

std::string errorOf(const HttpResult& r) {
  Json j = Json::parse(r.body, nullptr, false);
  return j.is_object() ? j.value("error", "") : r.body;
}

// The audit log's entries, once it holds at least `count` (the log is written after the
// answer, so a test waits for it).
Json auditEntries(const DaemonProcess& d, std::size_t count) {
  Json entries = Json::array();
  for (int attempt = 0; attempt < 100; ++attempt) {
    auto r = http("GET", d.url("/api/audit?limit=1000"), "", {auth()});
    if (r.status == 200) {
      entries = Json::parse(r.body)["entries"];
      if (entries.size() >= count) {
        break;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return entries;
}

TEST(AdminApi, ABodyNested300000LevelsDeepIs400AndTheDaemonStaysUp) {
  DaemonProcess d(config());
  ASSERT_TRUE(d.start()) << d.log();
  std::string body = R"({"event":"payment.paid","data":)" + std::string(300000, '[') +
                     std::string(300000, ']') + "}";
  auto r = post(d, "/api/events", body);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_THAT(errorOf(r), HasSubstr("nested deeper than 64 levels at byte 94"));
  // The same for the other route that reads a body, and for a body that is not JSON at all.
  r = post(d, "/api/conversations/release", std::string(300000, '{'));
  EXPECT_EQ(r.status, 400) << r.body;
  r = post(d, "/api/events", R"({"event": "x",)");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(errorOf(r), HasSubstr("not valid JSON at byte"));

  EXPECT_EQ(http("GET", d.url("/healthz")).status, 200);
  r = post(d, "/api/events", R"({"event":"payment.paid","data":{"order":{"id":"A-17"}}})");
  EXPECT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(d.terminate(), 0) << d.log();
}

TEST(AdminApi, AFieldOfTheWrongTypeIs400NamingTheField) {
  DaemonProcess d(config());
  ASSERT_TRUE(d.start()) << d.log();
  struct Case {
    std::string path;
    std::string body;
    std::string error;
  };
  for (const Case& c : std::vector<Case>{
           {"/api/events", R"({"event":"paid","channel":5})", R"("channel" must be a string)"},
           {"/api/events", R"({"event":"paid","contact":["6281"]})",
            R"("contact" must be a string)"},
           {"/api/events", R"({"event":{"name":"paid"}})", R"("event" must be a string)"},
           {"/api/events", R"({"event":""})", R"("event" must not be empty)"},
           {"/api/events", R"({"channel":"sandbox"})", R"("event" is required)"},
           {"/api/events", R"({"event":"paid","data":[1,2]})", R"("data" must be a JSON object)"},
           {"/api/events", R"(["paid"])", "the body must be a JSON object"},
           {"/api/conversations/release", R"({"channel":"sandbox","contact":62811})",
            R"("contact" must be a string)"},
           {"/api/conversations/release", R"({"channel":true,"contact":"62811"})",
            R"("channel" must be a string)"},
       }) {
    auto r = post(d, c.path, c.body);
    EXPECT_EQ(r.status, 400) << c.path << " " << c.body << ": " << r.body;
    EXPECT_THAT(errorOf(r), HasSubstr(c.error)) << c.body;
  }
  EXPECT_EQ(d.terminate(), 0) << d.log();
}

TEST(AdminApi, TheEleventhWrongGuessFromAnAddressIs429WithRetryAfter) {
  DaemonProcess d(config());
  ASSERT_TRUE(d.start()) << d.log();
  const std::string event = R"({"event":"ping"})";
  // A right token between wrong ones is answered as usual: failures do not slow it.
  EXPECT_EQ(post(d, "/api/events", event).status, 202);
  for (int guess = 1; guess <= 10; ++guess) {
    auto r = post(d, "/api/events", event, "Authorization: Bearer guess-" + std::to_string(guess));
    EXPECT_EQ(r.status, 401) << "guess " << guess << ": " << r.body;
    if (guess == 5) {
      EXPECT_EQ(post(d, "/api/events", event).status, 202);
    }
  }
  auto eleventh = post(d, "/api/events", event, "Authorization: Bearer guess-11");
  EXPECT_EQ(eleventh.status, 429) << eleventh.body;
  ASSERT_TRUE(eleventh.headers.count("retry-after"));
  int retry_after = std::stoi(eleventh.headers["retry-after"]);
  EXPECT_GE(retry_after, 1);
  EXPECT_LE(retry_after, 60);
  // Locked out means locked out: the right token does not tell a right guess apart now.
  EXPECT_EQ(post(d, "/api/events", event).status, 429);
  EXPECT_EQ(http("GET", d.url("/api/usage"), "", {auth()}).status, 429);
  // Only the admin API is closed to it: webhooks and health checks go on.
  EXPECT_EQ(http("GET", d.url("/healthz")).status, 200);
  auto metrics = http("GET", d.url("/metrics"));
  EXPECT_THAT(metrics.body, HasSubstr("waflow_admin_auth_failures_total 10"));
  EXPECT_THAT(metrics.body, HasSubstr("waflow_admin_locked_out_total 3"));
  EXPECT_EQ(d.terminate(), 0) << d.log();
}

TEST(AdminApi, ReloadsAndFailedLoginsAreInTheAuditLog) {
  DaemonProcess d(config());
  ASSERT_TRUE(d.start()) << d.log();
  auto reload = post(d, "/admin/reload", "");
  EXPECT_EQ(reload.status, 200) << reload.body;
  EXPECT_EQ(post(d, "/api/events", R"({"event":"ping"})", "Authorization: Bearer nope").status,
            401);
  EXPECT_EQ(http("POST", d.url("/admin/reload")).status, 401);  // no token at all

  Json entries = auditEntries(d, 3);
  ASSERT_EQ(entries.size(), 3u) << entries.dump(2);
  EXPECT_EQ(entries[0]["action"], "POST /admin/reload");
  EXPECT_EQ(entries[0]["actor"], "admin token");
  EXPECT_EQ(entries[0]["address"], "127.0.0.1");
  EXPECT_EQ(entries[0]["status"], 200);
  EXPECT_THAT(entries[0]["summary"].get<std::string>(), HasSubstr("reloaded: version"));
  EXPECT_GT(entries[0]["at"].get<int64_t>(), 1700000000000);
  EXPECT_EQ(entries[1]["action"], "POST /api/events");
  EXPECT_EQ(entries[1]["actor"], "");
  EXPECT_EQ(entries[1]["status"], 401);
  EXPECT_EQ(entries[1]["summary"], "wrong token");
  EXPECT_EQ(entries[2]["summary"], "no token");
  // The audit log is read in pages.
  auto page = http("GET", d.url("/api/audit?limit=2"), "", {auth()});
  ASSERT_EQ(page.status, 200);
  Json first = Json::parse(page.body);
  EXPECT_EQ(first["entries"].size(), 2u);
  auto rest = http("GET", d.url("/api/audit?after=" + first["next"].dump()), "", {auth()});
  EXPECT_EQ(Json::parse(rest.body)["entries"].size(), 1u);
  EXPECT_EQ(http("GET", d.url("/api/audit?limit=abc"), "", {auth()}).status, 400);
  EXPECT_EQ(http("GET", d.url("/api/audit")).status, 401);
  EXPECT_EQ(d.terminate(), 0) << d.log();
}

TEST(WeakAdminToken, ValidateRefusesItAtItsLineAndColumnWithoutShowingIt) {
  // Too short; too few different characters; one word over and over.
  for (const char* weak :
       {"abc", "passwordpasswordpasswordpassword1", "abcdefghijabcdefghijabcdefghijabcdefghij"}) {
    ::setenv("WAFLOW_TEST_ADMIN_TOKEN", weak, 1);
    auto r = validateYaml(R"(channels: { sandbox: { plugin: channel-sandbox } }
flows:
  admin_token: ${WAFLOW_TEST_ADMIN_TOKEN}
)");
    EXPECT_EQ(r.exit_code, 1) << weak;
    EXPECT_THAT(r.err, HasSubstr("waflow.yaml:3:16: flows.admin_token: the admin token is too "
                                 "easy to guess"));
    EXPECT_THAT(r.err, HasSubstr("openssl rand -hex 32"));
    EXPECT_THAT(r.err + r.out, Not(HasSubstr(weak)));
  }
  ::setenv("WAFLOW_TEST_ADMIN_TOKEN", kToken, 1);
  auto r = validateYaml(R"(flows:
  admin_token: ${WAFLOW_TEST_ADMIN_TOKEN}
)");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  ::unsetenv("WAFLOW_TEST_ADMIN_TOKEN");
}

TEST(WeakAdminToken, RunRefusesToStart) {
  DaemonProcess d("flows: { admin_token: \"${WAFLOW_TEST_WEAK}\" }\n", {},
                  {{"WAFLOW_TEST_WEAK", "rahasia-admin"}});
  EXPECT_FALSE(d.start());
  EXPECT_EQ(d.waitExit(), 1);
  EXPECT_THAT(d.log(), HasSubstr("waflow.yaml:1:23: flows.admin_token: the admin token is too "
                                 "easy to guess: it has 13 characters; at least 32 are needed"));
  EXPECT_THAT(d.log(), Not(HasSubstr("rahasia-admin")));
}

}  // namespace
}  // namespace waflow::test
