// End-to-end tests of the `waflow` binary: the daemon as a real process, real
// HTTP on 127.0.0.1, real plugins (sandbox channel, mock AI), and the CLI.
#include "daemon_process.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

namespace waflow::test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using Json = nlohmann::json;

constexpr const char* kSandboxConfig = R"(
log: { level: debug, format: json }
channels:
  sandbox:
    plugin: channel-sandbox
ai:
  mock:
    plugin: ai-mock
auto_reply:
  mode: ai
  ai: mock
)";

// Polls the sandbox until `count` replies for `contact` arrived (or 15 s).
Json waitForReplies(const DaemonProcess& d, const std::string& contact, std::size_t count,
                    const std::string& channel = "sandbox") {
  Json all = Json::array();
  uint64_t after = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (all.size() < count && std::chrono::steady_clock::now() < deadline) {
    auto r = http("GET", d.url("/webhooks/" + channel + "?replies_for=" + contact +
                               "&after=" + std::to_string(after) + "&wait=2"));
    if (r.status != 200) {
      break;
    }
    Json j = Json::parse(r.body);
    for (auto& reply : j["replies"]) {
      all.push_back(reply);
    }
    after = j["next"].get<uint64_t>();
  }
  return all;
}

TEST(Daemon, EmbeddedDefaultAnswersThroughTheSandboxWithNoConfigFile) {
  DaemonProcess d("");
  ASSERT_TRUE(d.start()) << d.log();
  EXPECT_THAT(d.log(), HasSubstr("built-in demo"));
  auto r = http("POST", d.url("/webhooks/sandbox"), textWebhook("628100", "wamid.1", "halo"),
                {"Content-Type: application/json"});
  EXPECT_EQ(r.status, 200) << r.body;
  r = http("POST", d.url("/webhooks/sandbox"), textWebhook("628100", "wamid.2", "ada promo?"),
           {"Content-Type: application/json"});
  EXPECT_EQ(r.status, 200) << r.body;
  Json replies = waitForReplies(d, "628100", 2);
  ASSERT_EQ(replies.size(), 2u) << d.log();
  EXPECT_THAT(replies[0]["text"].get<std::string>(), HasSubstr("Selamat datang"));
  EXPECT_EQ(replies[1]["text"], "You said: ada promo?");
  EXPECT_EQ(d.terminate(), 0) << d.log();
}

TEST(Daemon, ChatCommandTalksToARunningDaemon) {
  DaemonProcess d("");
  ASSERT_TRUE(d.start()) << d.log();
  auto result = runCommand(
      {waflowBinary().string(), "chat", "--url", d.url(""), "--from", "628777", "--wait", "10"},
      "hello\nberapa harganya?\n");
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.out, HasSubstr("bot> Hello! Welcome to waflow."));
  EXPECT_THAT(result.out, HasSubstr("bot> You said: berapa harganya?"));
  EXPECT_EQ(d.terminate(), 0);
}

TEST(Daemon, ChatExplainsWhenNoDaemonIsRunning) {
  auto result =
      runCommand({waflowBinary().string(), "chat", "--url", "http://127.0.0.1:1"}, "hi\n");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("Is the daemon running"));
}

TEST(Daemon, RedeliveredMessageIsAnsweredOnce) {
  DaemonProcess d(kSandboxConfig);
  ASSERT_TRUE(d.start()) << d.log();
  std::string body = textWebhook("628200", "wamid.same", "pesan sekali");
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(http("POST", d.url("/webhooks/sandbox"), body).status, 200);
  }
  EXPECT_EQ(
      http("POST", d.url("/webhooks/sandbox"), textWebhook("628200", "wamid.next", "lagi")).status,
      200);
  Json replies = waitForReplies(d, "628200", 2);
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_EQ(replies[0]["text"], "You said: pesan sekali");
  EXPECT_EQ(replies[1]["text"], "You said: lagi");
  // Nothing more arrives for the redeliveries.
  auto late = http("GET", d.url("/webhooks/sandbox?replies_for=628200&after=2&wait=1"));
  EXPECT_TRUE(Json::parse(late.body)["replies"].empty());
  std::string metrics = http("GET", d.url("/metrics")).body;
  EXPECT_THAT(metrics, HasSubstr("waflow_messages_duplicate_total{channel=\"sandbox\"} 2"));
  EXPECT_THAT(metrics, HasSubstr("waflow_messages_received_total{channel=\"sandbox\"} 2"));
  EXPECT_EQ(d.terminate(), 0);
}

TEST(Daemon, RepliesKeepEachConversationsOrderUnderConcurrency) {
  DaemonProcess d(R"(
log: { level: info }
channels: { sandbox: { plugin: channel-sandbox } }
ai: { mock: { plugin: ai-mock, config: { latency: 5ms } } }
auto_reply: { mode: ai, ai: mock }
outbox: { recipient_burst: 0 }  # 15 replies per contact at once: no pair-rate pacing
)");
  ASSERT_TRUE(d.start()) << d.log();
  constexpr int kContacts = 16;
  constexpr int kMessages = 15;
  std::vector<std::thread> senders;
  for (int c = 0; c < kContacts; ++c) {
    senders.emplace_back([&d, c] {
      for (int m = 0; m < kMessages; ++m) {
        std::string contact = "6290" + std::to_string(c);
        auto r = http("POST", d.url("/webhooks/sandbox"),
                      textWebhook(contact, "wamid." + contact + "." + std::to_string(m),
                                  "msg " + std::to_string(m)));
        EXPECT_EQ(r.status, 200);
      }
    });
  }
  for (auto& t : senders) {
    t.join();
  }
  for (int c = 0; c < kContacts; ++c) {
    Json replies = waitForReplies(d, "6290" + std::to_string(c), kMessages);
    ASSERT_EQ(replies.size(), static_cast<std::size_t>(kMessages));
    for (int m = 0; m < kMessages; ++m) {
      EXPECT_EQ(replies[m]["text"], "You said: msg " + std::to_string(m)) << "contact " << c;
    }
  }
  EXPECT_EQ(d.terminate(), 0);
}

TEST(Daemon, HttpErrorsAreClear) {
  DaemonProcess d(R"(
server: { body_limit: 2KiB }
channels: { sandbox: { plugin: channel-sandbox } }
auto_reply: { mode: echo }
)");
  ASSERT_TRUE(d.start()) << d.log();
  auto unknown = http("POST", d.url("/webhooks/nope"), "{}");
  EXPECT_EQ(unknown.status, 404);
  // Path guessers learn nothing about which channels exist.
  EXPECT_THAT(unknown.body, Not(HasSubstr("sandbox")));
  auto wrong_method = http("PUT", d.url("/webhooks/sandbox"), "{}");
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_THAT(wrong_method.headers["allow"], HasSubstr("POST"));
  auto too_large = http("POST", d.url("/webhooks/sandbox"), std::string(4096, 'x'));
  EXPECT_EQ(too_large.status, 413);
  auto not_json = http("POST", d.url("/webhooks/sandbox"), "hello");
  EXPECT_EQ(not_json.status, 400);
  EXPECT_EQ(http("GET", d.url("/healthz")).status, 200);
  EXPECT_EQ(http("GET", d.url("/readyz")).status, 200);
  auto metrics = http("GET", d.url("/metrics"));
  EXPECT_EQ(metrics.status, 200);
  EXPECT_THAT(metrics.body, HasSubstr("# TYPE waflow_http_requests_total counter"));
  EXPECT_THAT(metrics.body, HasSubstr("status=\"413\"} 1"));
  EXPECT_THAT(metrics.body, HasSubstr("waflow_http_request_duration_seconds_bucket"));
  EXPECT_THAT(metrics.body, HasSubstr("waflow_bus_"));
  EXPECT_THAT(metrics.body, HasSubstr("waflow_plugin_errors_total"));
  EXPECT_EQ(d.terminate(), 0);
}

TEST(Daemon, MetricsCanBeServedOnAPrivateListenerOnly) {
  DaemonProcess d(R"(
server: { metrics_listen: "127.0.0.1:0" }
channels: { sandbox: { plugin: channel-sandbox } }
auto_reply: { mode: echo }
)");
  ASSERT_TRUE(d.start()) << d.log();
  // The public listener no longer serves /metrics ...
  EXPECT_EQ(http("GET", d.url("/metrics")).status, 404);
  EXPECT_EQ(http("GET", d.url("/healthz")).status, 200);
  // ... the private one, named in the startup log, serves it alone.
  std::smatch m;
  std::string log = d.log();
  ASSERT_TRUE(
      std::regex_search(log, m, std::regex(R"(metrics at http://127\.0\.0\.1:(\d+)/metrics)")))
      << log;
  const std::string base = "http://127.0.0.1:" + m[1].str();
  auto metrics = http("GET", base + "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_THAT(metrics.body, HasSubstr("waflow_http_requests_total"));
  EXPECT_EQ(http("GET", base + "/healthz").status, 404);
  EXPECT_EQ(http("POST", base + "/webhooks/sandbox", "{}").status, 404);
  EXPECT_EQ(d.terminate(), 0);
}

TEST(Daemon, EveryLogLineAboutOneMessageCarriesItsRequestId) {
  DaemonProcess d(kSandboxConfig);
  ASSERT_TRUE(d.start()) << d.log();
  auto r = http("POST", d.url("/webhooks/sandbox"), textWebhook("628300", "wamid.trace", "hai"),
                {"X-Request-Id: trace-abc-123"});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["x-request-id"], "trace-abc-123");
  ASSERT_EQ(waitForReplies(d, "628300", 1).size(), 1u);
  EXPECT_EQ(d.terminate(), 0);
  int about_message = 0;
  std::istringstream lines(d.log());
  std::string line;
  while (std::getline(lines, line)) {
    if (line.find("628300") == std::string::npos && line.find("wamid.trace") == std::string::npos) {
      continue;
    }
    if (line.find("replies_for") != std::string::npos) {
      continue;  // the test's own polls
    }
    ++about_message;
    Json j = Json::parse(line);
    EXPECT_EQ(j["request_id"], "trace-abc-123") << line;
  }
  // Accepted, reply queued by the plugin, replied.
  EXPECT_GE(about_message, 3) << d.log();
}

TEST(Daemon, GracefulShutdownFinishesInFlightWork) {
  DaemonProcess d(R"(
log: { level: debug }
channels: { sandbox: { plugin: channel-sandbox } }
ai: { mock: { plugin: ai-mock, config: { latency: 700ms } } }
auto_reply: { mode: ai, ai: mock }
)");
  ASSERT_TRUE(d.start()) << d.log();
  // A long poll in flight, and a message whose AI reply takes 700 ms.
  std::thread poll([&d] {
    auto r = http("GET", d.url("/webhooks/sandbox?replies_for=628400&after=0&wait=2"));
    EXPECT_EQ(r.status, 200);
  });
  EXPECT_EQ(
      http("POST", d.url("/webhooks/sandbox"), textWebhook("628400", "wamid.s", "cepat")).status,
      200);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(d.terminate(), 0) << d.log();
  poll.join();
  std::string log = d.log();
  EXPECT_THAT(log, HasSubstr("shutting down gracefully"));
  // The bus drained and the outbox sent the reply before exit.
  EXPECT_THAT(log, HasSubstr("sent sandbox:wamid.s:auto-reply to 628400"));
  EXPECT_THAT(log, HasSubstr("stopped"));
  // After shutdown nothing listens any more.
  EXPECT_NE(http("GET", d.url("/healthz"), "", {}, 1000).error, "");
}

TEST(Daemon, RunRefusesAnInvalidConfigWithLineAndColumn) {
  DaemonProcess d(R"(channels:
  sandbox:
    plugin: channel-sandboks
)");
  EXPECT_FALSE(d.start());
  EXPECT_EQ(d.waitExit(), 1);
  EXPECT_THAT(d.log(), HasSubstr("waflow.yaml:2:3"));
  EXPECT_THAT(d.log(), HasSubstr("plugin 'channel-sandboks' not found"));
  EXPECT_THAT(d.log(), HasSubstr("did you mean 'channel-sandbox'?"));
}

// The storage check at start (storage.describe): a store that speaks an older protocol, lacks an
// operation the daemon needs, or predates storage.describe is refused before anything is
// stored, with a message naming the plugin and what is missing.
std::string partialStorageConfig(const std::string& storage_config, const std::string& extra = "") {
  return "plugins: { paths: [" + (buildDir() / "tests" / "plugins").string() +
         "] }\nchannels: { sandbox: { plugin: channel-sandbox } }"
         "\nstorage: { plugin: storage-partial, config: " +
         storage_config + " }\n" + extra;
}

TEST(Daemon, RunRefusesAStorageThatLacksACoreOperation) {
  DaemonProcess d(partialStorageConfig("{ omit: [outbox.claim] }"));
  EXPECT_FALSE(d.start());
  EXPECT_EQ(d.waitExit(), 1);
  EXPECT_THAT(d.log(), HasSubstr("storage 'storage' cannot be used: it lacks the core "
                                 "operation(s) outbox.claim"));
}

TEST(Daemon, RunRefusesAStorageOfAnOlderProtocolOrWithoutDescribe) {
  DaemonProcess old(partialStorageConfig("{ protocol: 0 }"));
  EXPECT_FALSE(old.start());
  EXPECT_EQ(old.waitExit(), 1);
  EXPECT_THAT(old.log(), HasSubstr("it speaks storage protocol 0"));
  DaemonProcess before(partialStorageConfig("{ describe: false }"));
  EXPECT_FALSE(before.start());
  EXPECT_EQ(before.waitExit(), 1);
  EXPECT_THAT(before.log(), HasSubstr("does not answer storage.describe"));
}

TEST(Daemon, RunNeedsTheKnowledgeOperationsOnlyWhenKnowledgeIsConfigured) {
  const std::string no_kb =
      "{ omit: [kb.documents, kb.put, kb.delete, kb.search, kb.vectors, kb.retain] }";
  DaemonProcess without(partialStorageConfig(no_kb, "auto_reply: { mode: echo }\n"));
  ASSERT_TRUE(without.start()) << without.log();
  EXPECT_EQ(without.terminate(), 0);
  DaemonProcess with(partialStorageConfig(
      no_kb, "knowledge: { faq: { sources: [" + without.dir().string() + "] } }\n"));
  EXPECT_FALSE(with.start());
  EXPECT_EQ(with.waitExit(), 1);
  EXPECT_THAT(with.log(), HasSubstr("lacks the knowledge operation(s) kb.documents"));
}

TEST(Daemon, RunExplainsAPortInUse) {
  DaemonProcess first(kSandboxConfig);
  ASSERT_TRUE(first.start());
  DaemonProcess second(kSandboxConfig, {"--listen", "127.0.0.1:" + std::to_string(first.port())});
  EXPECT_FALSE(second.start());
  EXPECT_EQ(second.waitExit(), 1);
  EXPECT_THAT(second.log(), HasSubstr("Address already in use"));
  EXPECT_EQ(first.terminate(), 0);
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("waflow-cli-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
  }
  CommandResult waflow(std::vector<std::string> args) {
    args.insert(args.begin(), waflowBinary().string());
    return runCommand(args, "", dir_);
  }
  std::filesystem::path dir_;
};

TEST_F(CliTest, ValidateListsEveryProblemWithItsLocation) {
  write("waflow.yaml", R"(server:
  listen: 127.0.0.1:8080
  treads: 4
channels:
  toko:
    plugin: channel-sandbox
    config:
      mailbox_limit: lots
      verify_tokn: abc
  kedua:
    plugin: ai-mock
)");
  auto r = waflow({"validate"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("waflow.yaml:3:3"));
  EXPECT_THAT(r.err, HasSubstr("did you mean 'threads'?"));
  EXPECT_THAT(r.err, HasSubstr("waflow.yaml:8:22"));
  EXPECT_THAT(r.err, HasSubstr("expected an integer"));
  EXPECT_THAT(r.err, HasSubstr("did you mean 'verify_token'?"));
  EXPECT_THAT(r.err, HasSubstr("waflow.yaml:10:3"));
  EXPECT_THAT(r.err, HasSubstr("plugin 'ai-mock' (kind: ai) cannot be used under 'channels'"));
  auto json = waflow({"validate", "--format", "json"});
  EXPECT_EQ(json.exit_code, 1);
  Json diagnostics = Json::parse(json.out);
  ASSERT_TRUE(diagnostics.is_array());
  EXPECT_GE(diagnostics.size(), 4u);
  EXPECT_EQ(diagnostics[0]["line"], 3);
  EXPECT_EQ(diagnostics[0]["column"], 3);
}

TEST_F(CliTest, ValidateAcceptsTheDefaultAndAGoodFile) {
  auto r = waflow({"validate"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("built-in default config is valid"));
  write("good.yaml", "channels: { sandbox: { plugin: channel-sandbox } }\n");
  r = waflow({"validate", "-c", "good.yaml"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("good.yaml is valid: 1 channel(s)"));
}

TEST_F(CliTest, ValidateSubstitutesEnvironmentSecrets) {
  write("waflow.yaml", R"(channels:
  sandbox:
    plugin: channel-sandbox
    config:
      verify_token: ${WAFLOW_TEST_UNSET_TOKEN}
)");
  auto r = waflow({"validate"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("waflow.yaml:5:21"));
  EXPECT_THAT(r.err, HasSubstr("WAFLOW_TEST_UNSET_TOKEN is not set"));
}

TEST_F(CliTest, PluginsListsKindsVersionsAbiPathsAndConfigKeys) {
  auto r = waflow({"plugins", "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Json j = Json::parse(r.out);
  std::map<std::string, Json> by_name;
  for (auto& p : j["plugins"]) {
    by_name[p["name"]] = p;
  }
  ASSERT_TRUE(by_name.count("channel-sandbox"));
  ASSERT_TRUE(by_name.count("ai-mock"));
  EXPECT_EQ(by_name["channel-sandbox"]["kind"], "channel");
  EXPECT_EQ(by_name["ai-mock"]["kind"], "ai");
  EXPECT_EQ(by_name["ai-mock"]["abi"], "1.2");
  std::set<std::string> keys;
  for (auto& k : by_name["ai-mock"]["config"]) {
    keys.insert(k["name"]);
  }
  EXPECT_TRUE(keys.count("mode") && keys.count("latency") && keys.count("replies"));
  auto text = waflow({"plugins"});
  EXPECT_THAT(text.out, HasSubstr("channel-sandbox  (channel plugin, version 0.1.0, ABI 1.2)"));
  EXPECT_THAT(text.out, HasSubstr("verify_token (string, default \"sandbox\")"));
}

TEST_F(CliTest, HelpSpeaksToANewcomer) {
  auto r = waflow({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("Start with `waflow run`"));
  for (const char* command : {"run", "validate", "plugins", "chat", "version"}) {
    EXPECT_THAT(r.out, HasSubstr(command));
  }
  auto v = waflow({"version"});
  EXPECT_THAT(v.out, HasSubstr("plugin ABI 1.2"));
}

}  // namespace
}  // namespace waflow::test
