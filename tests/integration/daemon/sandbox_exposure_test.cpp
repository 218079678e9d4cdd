// The sandbox channel on an address other machines reach: refused without a token, and with
// one, every request must carry it. The real daemon and CLI, real HTTP.
#include "daemon_process.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>


namespace waflow::test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using Json = nlohmann::json;

constexpr const char* kSandboxToken = "b81f4c0e7a2d59e36c1b8f0a4d7e2c95";

constexpr const char* kPublicSandbox = R"(server:
  listen: 0.0.0.0:8080
channels:
  toko:
    plugin: channel-sandbox
auto_reply: { mode: echo }
)";

constexpr const char* kPublicSandboxWithToken = R"(server:
  listen: 0.0.0.0:8080
channels:
  toko:
    plugin: channel-sandbox
    config:
      token: ${WAFLOW_TEST_SANDBOX_TOKEN}
auto_reply: { mode: echo }
)";

TEST(SandboxExposure, RunRefusesAPublicListenWithoutAToken) {
  DaemonProcess d(kPublicSandbox, {"--listen", "0.0.0.0:0"});
  EXPECT_FALSE(d.start());
  EXPECT_EQ(d.waitExit(), 1);
  EXPECT_THAT(d.log(), HasSubstr("server.listen: 0.0.0.0 is reachable from other machines, and "
                                 "the sandbox channel 'toko' has no token"));
  EXPECT_THAT(d.log(), HasSubstr("channels.toko.config.token"));
  EXPECT_THAT(d.log(), HasSubstr("openssl rand -hex 32"));
}

TEST(SandboxExposure, LoopbackNeedsNoToken) {
  DaemonProcess d(kPublicSandbox, {"--listen", "127.0.0.1:0"});
  ASSERT_TRUE(d.start()) << d.log();
  auto r = http("POST", d.url("/webhooks/toko"), textWebhook("628100", "wamid.1", "halo"),
                {"Content-Type: application/json"});
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(d.terminate(), 0) << d.log();
}

TEST(SandboxExposure, WithATokenItStartsAndRefusesRequestsWithoutIt) {
  DaemonProcess d(kPublicSandboxWithToken, {"--listen", "0.0.0.0:0"},
                  {{"WAFLOW_TEST_SANDBOX_TOKEN", kSandboxToken}});
  ASSERT_TRUE(d.start()) << d.log();
  const std::string body = textWebhook("628100", "wamid.1", "halo");
  auto r = http("POST", d.url("/webhooks/toko"), body, {"Content-Type: application/json"});
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_THAT(r.body, HasSubstr("X-Sandbox-Token"));
  r = http("POST", d.url("/webhooks/toko"), body,
           {"Content-Type: application/json", "X-Sandbox-Token: b81f4c0e7a2d59e36c1b8f0a4d7e2c94"});
  EXPECT_EQ(r.status, 401) << "a token differing in its last character";
  EXPECT_EQ(http("GET", d.url("/webhooks/toko?replies_for=628100&wait=0")).status, 401);

  r = http("POST", d.url("/webhooks/toko"), body,
           {"Content-Type: application/json", std::string("X-Sandbox-Token: ") + kSandboxToken});
  EXPECT_EQ(r.status, 200) << r.body;
  r = http("GET", d.url("/webhooks/toko?replies_for=628100&after=0&wait=10"), "",
           {std::string("Authorization: Bearer ") + kSandboxToken});
  ASSERT_EQ(r.status, 200) << r.body;
  Json replies = Json::parse(r.body)["replies"];
  ASSERT_EQ(replies.size(), 1u) << r.body;
  EXPECT_EQ(replies[0]["text"], "halo");

  // `waflow chat` sends it from --token or WAFLOW_SANDBOX_TOKEN.
  auto chat = runCommand({waflowBinary().string(), "chat", "--url", d.url(""), "--channel", "toko",
                          "--from", "628200", "--wait", "10", "--token", kSandboxToken},
                         "apa kabar\n");
  EXPECT_EQ(chat.exit_code, 0) << chat.err;
  EXPECT_THAT(chat.out, HasSubstr("bot> apa kabar"));
  auto without = runCommand({waflowBinary().string(), "chat", "--url", d.url(""), "--channel",
                             "toko", "--from", "628200", "--wait", "1"},
                            "halo\n");
  EXPECT_NE(without.exit_code, 0);
  EXPECT_THAT(without.err, HasSubstr("HTTP 401"));
  EXPECT_THAT(d.log(), Not(HasSubstr(kSandboxToken)));
  EXPECT_EQ(d.terminate(), 0) << d.log();
}

TEST(SandboxExposure, AShortTokenIsRefusedAtTheChannelsConfig) {
  DaemonProcess d(kPublicSandboxWithToken, {"--listen", "127.0.0.1:0"},
                  {{"WAFLOW_TEST_SANDBOX_TOKEN", "sandbox"}});
  EXPECT_FALSE(d.start());
  EXPECT_EQ(d.waitExit(), 1);
  EXPECT_THAT(d.log(), HasSubstr("token has 7 characters; at least 32 are needed"));
}

TEST(SandboxExposure, ValidateWarnsAtTheListenLine) {
  auto r = validateYaml(kPublicSandbox);
  EXPECT_EQ(r.exit_code, 0) << r.err;  // a warning: `waflow run` is what refuses
  EXPECT_THAT(r.err, HasSubstr("waflow.yaml:2:11: warning: server.listen: 0.0.0.0 is reachable "
                               "from other machines"));
  EXPECT_THAT(r.err, HasSubstr("`waflow run` refuses to start like this"));
  EXPECT_THAT(validateYaml(kPublicSandboxWithToken).err, Not(HasSubstr("reachable")));
  std::string loopback = kPublicSandbox;
  loopback.replace(loopback.find("0.0.0.0"), 7, "127.0.0.1");
  EXPECT_THAT(validateYaml(loopback).err, Not(HasSubstr("reachable")));
}

}  // namespace
}  // namespace waflow::test
