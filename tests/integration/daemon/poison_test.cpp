// What no single customer message may do to the daemon, with the real binary, storage-sqlite
// and a plugin that misbehaves on purpose (tests/support/misbehaving_ai):
//  - a message whose handling ends the process is quarantined after inbox.max_attempts
//    starts, and the bot keeps answering everyone else; an admin can retry it;
//  - a handler that never returns holds neither /healthz, nor the other conversations, nor
//    SIGTERM: the shutdown watchdog ends the process and the message is quarantined after;
//  - flow steps and Lua rules run on the workers, never on the HTTP I/O threads.
#include "daemon_process.h"
#include "sandbox_chat.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <thread>

namespace waflow::test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using Json = nlohmann::json;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr const char* kAdminToken =
    "7d1c0e5b9a2f4c3e8b6d1a0f9e8c7b6a5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a";
constexpr int kWatchdogExit = 70;  // ShutdownWatchdog::kExitCode

class PoisonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = fs::temp_directory_path() /
            ("waflow-poison-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(data_);
    fs::create_directories(data_ / "flows");
    fs::create_directories(data_ / "scripts");
  }
  void TearDown() override { fs::remove_all(data_); }

  // The sandbox channel answered by ai-misbehaving through the auto-reply (no flows).
  // `flows_options`: more keys of `flows:`, e.g. ", lua_time_budget: 250ms".
  std::string config(const std::string& ai_config, const std::string& extra = "",
                     const std::string& flows_options = "") const {
    return "data_dir: " + data_.string() + "\nflows_dir: " + (data_ / "flows").string() +
           "\nscripts_dir: " + (data_ / "scripts").string() + "\nplugins: { paths: [" +
           (buildDir() / "tests" / "plugins").string() + "] }" +
           "\nflows: { admin_token: " + kAdminToken + flows_options + " }" +
           "\nbus: { workers: 2 }"
           "\nchannels: { sandbox: { plugin: channel-sandbox } }"
           "\nai: { broken: { plugin: ai-misbehaving, config: " +
           ai_config +
           " } }"
           "\nauto_reply: { mode: ai, ai: broken }\n" +
           extra;
  }

  static HttpResult admin(const DaemonProcess& d, const std::string& method,
                          const std::string& path, const std::string& body = "") {
    return http(method, d.url(path), body, {std::string("Authorization: Bearer ") + kAdminToken});
  }

  static void post(const DaemonProcess& d, const std::string& from, const std::string& id,
                   const std::string& text) {
    ASSERT_EQ(http("POST", d.url("/webhooks/sandbox"), textWebhook(from, id, text)).status, 200)
        << d.log();
  }

  fs::path data_;
};

TEST_F(PoisonTest, AMessageThatCrashesTheDaemonIsQuarantinedAndEveryoneElseIsAnswered) {
  const std::string poison_id = nextMessageId();
  const std::string broken = config("{ crash_on: BOOM }", "inbox: { max_attempts: 2 }\n");
  {
    DaemonProcess first(broken);
    ASSERT_TRUE(first.start()) << first.log();
    // Stored before it is handled: the handling may crash the process before or after the
    // 200 is written, so either answer is right here.
    HttpResult r = http("POST", first.url("/webhooks/sandbox"),
                        textWebhook("628111", poison_id, "BOOM goes the bot"));
    EXPECT_TRUE(r.status == 200 || r.status == 0) << r.status;
    EXPECT_NE(first.waitExit(20s), 0) << first.log();
  }
  {
    // The restart counts attempt 2 (the limit) and handles it again: it crashes again.
    DaemonProcess second(broken);
    second.start();
    EXPECT_NE(second.waitExit(20s), 0) << second.log();
    EXPECT_THAT(second.log(), Not(HasSubstr("quarantined")));
  }
  DaemonProcess third(broken);
  ASSERT_TRUE(third.start()) << third.log();  // attempt 3 > 2: quarantined, not handled
  EXPECT_THAT(third.log(), HasSubstr("message " + poison_id +
                                     " from 628111 on channel "
                                     "'sandbox' is quarantined"));
  Chat other(third, "628222");
  other.say("halo");
  EXPECT_EQ(other.text(), "ok: halo") << third.log();
  Chat same(third, "628111");  // the sender's conversation is not blocked either
  same.say("halo lagi");
  EXPECT_EQ(same.text(), "ok: halo lagi") << third.log();

  HttpResult list = admin(third, "GET", "/api/quarantine");
  ASSERT_EQ(list.status, 200) << list.body;
  Json q = Json::parse(list.body);
  ASSERT_EQ(q["messages"].size(), 1u) << list.body;
  EXPECT_EQ(q["messages"][0]["id"], poison_id);
  EXPECT_EQ(q["messages"][0]["contact"], "628111");
  EXPECT_EQ(q["messages"][0]["attempts"], 3);
  EXPECT_THAT(q["messages"][0]["reason"].get<std::string>(), HasSubstr("never finished"));
  EXPECT_THAT(http("GET", third.url("/metrics")).body,
              HasSubstr("waflow_messages_quarantined_total{channel=\"sandbox\"} 1"));
  EXPECT_EQ(admin(third, "GET", "/api/quarantine").status, 200);
  EXPECT_EQ(http("GET", third.url("/api/quarantine")).status, 401);
  EXPECT_EQ(third.terminate(), 0) << third.log();

  // Fixed (the plugin no longer crashes on it): an admin hands it back to the flows once.
  DaemonProcess fixed(config("{ crash_on: NEVER }", "inbox: { max_attempts: 2 }\n"));
  ASSERT_TRUE(fixed.start()) << fixed.log();
  Json key = {{"channel", "sandbox"}, {"id", poison_id}};
  HttpResult retry = admin(fixed, "POST", "/api/quarantine/retry", key.dump());
  EXPECT_EQ(retry.status, 202) << retry.body;
  Chat customer(fixed, "628111");
  EXPECT_EQ(customer.text(), "ok: BOOM goes the bot") << fixed.log();
  EXPECT_EQ(admin(fixed, "POST", "/api/quarantine/retry", key.dump()).status, 404);
  EXPECT_EQ(admin(fixed, "POST", "/api/quarantine/retry", R"({"channel": 5})").status, 400);
  EXPECT_TRUE(Json::parse(admin(fixed, "GET", "/api/quarantine").body)["messages"].empty());
  EXPECT_EQ(fixed.terminate(), 0) << fixed.log();
}

TEST_F(PoisonTest, AHandlerThatNeverReturnsHoldsNeitherHealthNorOthersNorTheShutdown) {
  const std::string frozen_id = nextMessageId();
  const std::string hanging = config("{ hang_on: FREEZE, hang_for: 600s }",
                                     "inbox: { max_attempts: 1 }\n"
                                     "server: { shutdown_timeout: 1s }\n");
  {
    DaemonProcess d(hanging);
    ASSERT_TRUE(d.start()) << d.log();
    post(d, "628333", frozen_id, "FREEZE please");
    std::this_thread::sleep_for(300ms);  // the AI call has begun and holds its worker
    // The I/O threads only do I/O: health and new webhooks are answered at once, and another
    // conversation is answered by the other worker.
    HttpResult health = http("GET", d.url("/healthz"), "", {}, 2000);
    EXPECT_EQ(health.status, 200) << health.error;
    Chat other(d, "628444");
    other.say("halo");
    EXPECT_EQ(other.text(), "ok: halo") << d.log();
    // SIGTERM: the stuck handler cannot finish, so the watchdog ends the process after
    // shutdown_timeout (1 s) plus the flush time (5 s), not after the AI's 600 s.
    auto before = std::chrono::steady_clock::now();
    EXPECT_EQ(d.terminate(30s), kWatchdogExit) << d.log();
    EXPECT_LT(std::chrono::steady_clock::now() - before, 20s);
    EXPECT_THAT(d.log(), HasSubstr("shutdown did not finish within"));
  }
  DaemonProcess next(hanging);
  ASSERT_TRUE(next.start()) << next.log();  // attempt 2 > 1: quarantined instead of handled
  EXPECT_THAT(next.log(), HasSubstr("message " + frozen_id + " from 628333"));
  Chat customer(next, "628333");
  customer.say("halo");
  EXPECT_EQ(customer.text(), "ok: halo") << next.log();
  EXPECT_EQ(next.terminate(), 0) << next.log();
}

TEST_F(PoisonTest, ASecondSignalEndsAStuckShutdownAtOnce) {
  DaemonProcess d(
      config("{ hang_on: FREEZE, hang_for: 600s }", "server: { shutdown_timeout: 60s }\n"));
  ASSERT_TRUE(d.start()) << d.log();
  post(d, "628555", nextMessageId(), "FREEZE");
  std::this_thread::sleep_for(300ms);
  ::kill(d.pid(), SIGTERM);
  ASSERT_TRUE(waitForLog(d, "shutting down gracefully")) << d.log();
  ::kill(d.pid(), SIGTERM);
  EXPECT_EQ(d.waitExit(10s), 128 + SIGTERM) << d.log();
  EXPECT_THAT(d.log(), HasSubstr("received SIGTERM again: exiting now"));
}

TEST_F(PoisonTest, FlowStepsAndRulesRunOnWorkersSoHealthIsAnsweredWhileTheyAreBusy) {
  // Every message runs a rule that spends its whole time budget, after a step that waits
  // for storage: with one I/O thread, /healthz would wait behind the rules if they ran there.
  writeFile(data_ / "scripts" / "busy.lua",
            "function spin()\n  local x = 0\n  while true do x = x + 1 end\nend\n");
  writeFile(data_ / "flows" / "busy.yaml", R"(id: busy
triggers:
  - on: message.received
steps:
  - set: { seen: true }
  - lua: spin
    on_error: continue
  - reply: "done"
)");
  DaemonProcess d(config("{}", "server: { threads: 1 }\n", ", lua_time_budget: 250ms"));
  ASSERT_TRUE(d.start()) << d.log();
  for (int i = 0; i < 16; ++i) {  // 16 x 250 ms of rules on 2 workers: 2 s of work
    post(d, "6287" + std::to_string(100 + i), nextMessageId(), "hi");
  }
  for (int probe = 0; probe < 5; ++probe) {
    HttpResult health = http("GET", d.url("/healthz"), "", {}, 500);
    EXPECT_EQ(health.status, 200) << "probe " << probe << ": " << health.error;
    std::this_thread::sleep_for(100ms);
  }
  Chat last(d, "6287115");
  EXPECT_EQ(last.text(20s), "done") << d.log();
  EXPECT_EQ(d.terminate(), 0) << d.log();
}

}  // namespace
}  // namespace waflow::test
