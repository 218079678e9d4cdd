// End-to-end tests of the flow engine's ai and classify steps (docs/ai.md): the real daemon with
// the sandbox channel, storage-sqlite and the real ai-openai plugin talking over HTTP to FakeAi
// servers on 127.0.0.1. Messages go in as Cloud API webhooks; replies are read back from the
// sandbox; what the model was asked is read from the fake; stored insights and token usage are
// read through the admin API.
#include "daemon_process.h"
#include "fake_ai.h"
#include "sandbox_chat.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <thread>

namespace waflow::test {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using Json = nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kToken = "6f1c0e9a4b2d87f35e7c1d9a0b4f2e68";

// The chat turns of a recorded request, as "role: content" lines (the system prompt first).
std::vector<std::string> turns(const RecordedAiRequest& r) {
  std::vector<std::string> out;
  for (const auto& m : r.body["messages"]) {
    out.push_back(
        m.value("role", "") + ": " +
        (m["content"].is_string() ? m["content"].get<std::string>() : m["content"].dump()));
  }
  return out;
}

// History orders a reply and the customer's next message by the millisecond each was stored
// in; one stored within the same millisecond as the reply before it would count as earlier (a
// reply is taken to follow what came in at the same time). A real customer cannot answer that
// fast; a test can, so it waits for the clock to move on.
void nextMillisecond() {
  std::this_thread::sleep_for(2ms);
}

std::string systemOf(const RecordedAiRequest& r) {
  for (const auto& m : r.body["messages"]) {
    if (m.value("role", "") == "system") {
      return m.value("content", "");
    }
  }
  return "";
}

class AiFlowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("waflow-ai-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "flows");
    fs::create_directories(root_ / "scripts");
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  void flow(const std::string& name, const std::string& yaml) {
    writeFile(root_ / "flows" / (name + ".yaml"), yaml);
  }

  // Two ai-openai instances: `primary` on primary_ (with a price table) and `backup` on
  // backup_. Neither retries, so a scripted failure is one failed call.
  // The shop FAQ fixture as knowledge base `toko`.
  static std::string knowledgeConfig() {
    return "knowledge:\n  toko: { sources: [\"" WAFLOW_KNOWLEDGE_FIXTURES "/toko\"] }\n";
  }

  std::unique_ptr<DaemonProcess> start(const std::string& extra = "",
                                       const std::string& watch = "watch: false") {
    std::string config =
        "log: { level: debug }\n"
        "data_dir: " +
        (root_ / "data").string() + "\n" + "flows_dir: " + (root_ / "flows").string() + "\n" +
        "scripts_dir: " + (root_ / "scripts").string() + "\n" +
        "channels: { sandbox: { plugin: channel-sandbox } }\n"
        "auto_reply: { mode: echo }\n"
        "outbox: { recipient_burst: 0 }\n"
        "flows: { admin_token: " +
        kToken + ", " + watch + " }\n" +
        "ai:\n"
        "  primary:\n"
        "    plugin: ai-openai\n"
        "    config: { base_url: \"" +
        primary_.baseUrl() +
        "\", api_key: sk-test, model: gpt-4o-mini, max_retries: 0, timeout: 5s }\n"
        "    prices: { gpt-4o-mini: { input: 0.15, output: 0.60 } }\n"
        "  backup:\n"
        "    plugin: ai-openai\n"
        "    config: { base_url: \"" +
        backup_.baseUrl() +
        "\", api_key: sk-test, model: backup-model, max_retries: 0, timeout: 5s }\n" + extra;
    auto d = std::make_unique<DaemonProcess>(config);
    bool started = d->start();
    EXPECT_TRUE(started) << d->log();
    return started ? std::move(d) : nullptr;
  }

  static Json admin(const DaemonProcess& d, const std::string& path_and_query) {
    auto r =
        http("GET", d.url(path_and_query), "", {std::string("Authorization: Bearer ") + kToken});
    EXPECT_EQ(r.status, 200) << r.body;
    return r.headers["content-type"].find("json") != std::string::npos ? Json::parse(r.body)
                                                                       : Json(r.body);
  }

  // /api/usage once it has `rows` rows: usage is stored in batches, up to 200 ms after a call.
  static Json usage(const DaemonProcess& d, const std::string& query, size_t rows) {
    Json out;
    for (int i = 0; i < 50; ++i) {
      out = admin(d, "/api/usage?" + query);
      if (out["rows"].size() >= rows) {
        break;
      }
      std::this_thread::sleep_for(100ms);
    }
    return out;
  }

  fs::path root_;
  FakeAi primary_;
  FakeAi backup_;
};

constexpr const char* kAssistantFlow = R"(
id: assistant
triggers:
  - on: message.received
steps:
  - id: answer
    ai:
      provider: primary
      system: "You are the assistant of Toko Rina."
      history: 4
)";

TEST_F(AiFlowTest, TheBuiltInDemoAnswersWithOpenAiWhenItsKeyIsSet) {
  // No waflow.yaml: the embedded default, with a key in the environment.
  DaemonProcess d("", {}, {{"OPENAI_API_KEY", "sk-test"}, {"OPENAI_BASE_URL", primary_.baseUrl()}});
  ASSERT_TRUE(d.start()) << d.log();
  EXPECT_THAT(d.log(), HasSubstr("ai 'openai' (ai-openai)"));
  Chat chat(d, "6281100000019");
  chat.say("apa kabar?");
  EXPECT_EQ(chat.text(), "Echo: apa kabar?");
  ASSERT_EQ(primary_.requestCount(), 1u);
  EXPECT_EQ(primary_.requests()[0].body["model"], "gpt-4o-mini");
  EXPECT_THAT(d.log(), ::testing::Not(HasSubstr("sk-test")));
}

TEST_F(AiFlowTest, TheReplyCarriesTheProvidersAnswerAndTheTypingIndicatorIsShown) {
  flow("assistant", kAssistantFlow);
  auto d = start();
  ASSERT_TRUE(d);
  Chat chat(*d, "6281100000001");
  chat.say("halo kak");
  EXPECT_EQ(chat.text(), "Echo: halo kak");
  ASSERT_EQ(primary_.requestCount(), 1u);
  auto r = primary_.requests()[0];
  EXPECT_THAT(turns(r),
              ElementsAre("system: You are the assistant of Toko Rina.", "user: halo kak"));
  EXPECT_EQ(r.body["model"], "gpt-4o-mini");
  EXPECT_GE(chat.typingShown(), 1u);
}

TEST_F(AiFlowTest, ASandboxListenerHearsOfTheTypingIndicatorBeforeTheAnswer) {
  flow("assistant", kAssistantFlow);
  auto d = start();
  ASSERT_TRUE(d);
  primary_.script(FakeAiReply::ok("Sudah dikirim kak.").after(2000ms));
  const std::string contact = "6281100000021";
  // A listener that has seen no indicator yet waits for replies or a new indicator.
  std::thread customer([&] {
    std::this_thread::sleep_for(200ms);
    Chat(*d, contact).say("pesanan saya sudah dikirim?");
  });
  auto r =
      http("GET", d->url("/webhooks/sandbox?replies_for=" + contact + "&after=0&typing=0&wait=10"));
  customer.join();
  ASSERT_EQ(r.status, 200);
  Json poll = Json::parse(r.body);
  EXPECT_TRUE(poll["replies"].empty()) << r.body;  // the model is still writing
  EXPECT_EQ(poll["typing"], 1);
  Chat chat(*d, contact);
  EXPECT_EQ(chat.text(), "Sudah dikirim kak.");
}

TEST_F(AiFlowTest, TheConversationsEarlierMessagesComeFromStorage) {
  flow("assistant", kAssistantFlow);
  auto d = start();
  ASSERT_TRUE(d);
  Chat chat(*d, "6281100000002");
  for (const char* text : {"satu", "dua", "tiga"}) {
    chat.say(text);
    ASSERT_EQ(chat.text(), std::string("Echo: ") + text);
    nextMillisecond();
  }
  chat.say("empat");
  ASSERT_EQ(chat.text(), "Echo: empat");
  ASSERT_EQ(primary_.requestCount(), 4u);
  // history: 4 keeps the last four turns before the message being answered.
  EXPECT_THAT(
      turns(primary_.requests()[3]),
      ElementsAre("system: You are the assistant of Toko Rina.", "user: dua",
                  "assistant: Echo: dua", "user: tiga", "assistant: Echo: tiga", "user: empat"));
}

TEST_F(AiFlowTest, HistoryIsTrimmedToItsTokenBudgetOldestFirst) {
  flow("assistant", R"(
id: assistant
triggers:
  - on: message.received
steps:
  - ai: { provider: primary, history: 20, history_tokens: 12 }
)");
  auto d = start();
  ASSERT_TRUE(d);
  Chat chat(*d, "6281100000003");
  for (const char* text : {"a", "b", "c"}) {
    chat.say(text);
    ASSERT_EQ(chat.text(), std::string("Echo: ") + text);
    nextMillisecond();
  }
  chat.say("d");
  ASSERT_EQ(chat.text(), "Echo: d");
  // About 5 tokens for "c" and 6 for "Echo: c": only the newest two turns fit 12.
  EXPECT_THAT(turns(primary_.requests()[3]),
              ElementsAre("user: c", "assistant: Echo: c", "user: d"));
}

constexpr const char* kChainFlow = R"(
id: assistant
triggers:
  - on: message.received
steps:
  - id: answer
    ai:
      provider: [primary, backup]
      fallback:
        reply: "Maaf kak, sebentar ya: admin kami yang jawab."
        handoff: "the AI providers are down"
  - reply: "answered by {{ steps.answer.output.provider or 'nobody' }}"
)";

TEST_F(AiFlowTest, AFailingProviderHandsTheQuestionToTheNextInTheChain) {
  flow("assistant", kChainFlow);
  auto d = start();
  ASSERT_TRUE(d);
  primary_.script(FakeAiReply::serverError(500));
  Chat chat(*d, "6281100000004");
  chat.say("ada promo?");
  EXPECT_THAT(chat.texts(2), ElementsAre("Echo: ada promo?", "answered by backup"));
  EXPECT_EQ(primary_.requestCount(), 1u);
  EXPECT_EQ(backup_.requestCount(), 1u);

  Json usage = AiFlowTest::usage(*d, "group_by=provider", 2);
  ASSERT_EQ(usage["rows"].size(), 2u) << usage.dump();
  EXPECT_EQ(usage["rows"][0]["key"], "backup");
  EXPECT_EQ(usage["rows"][0]["calls"], 1);
  EXPECT_EQ(usage["rows"][0]["failures"], 0);
  EXPECT_EQ(usage["rows"][1]["key"], "primary");
  EXPECT_EQ(usage["rows"][1]["failures"], 1);
}

TEST_F(AiFlowTest, WhenEveryProviderFailsTheFallbackRepliesAndHandsOff) {
  flow("assistant", kChainFlow);
  auto d = start();
  ASSERT_TRUE(d);
  primary_.script(FakeAiReply::serverError(500));
  backup_.script(FakeAiReply::serverError(503));
  Chat chat(*d, "6281100000005");
  chat.say("ada promo?");
  EXPECT_THAT(chat.texts(2),
              ElementsAre("Maaf kak, sebentar ya: admin kami yang jawab.", "answered by nobody"));
  EXPECT_TRUE(waitForLog(*d, "handed to a human"));
  // A human has the conversation now: the bot stays quiet.
  chat.say("halo?");
  EXPECT_TRUE(chat.quiet(1500ms));
  EXPECT_EQ(primary_.requestCount(), 1u);
}

TEST_F(AiFlowTest, ABurstOfMessagesGetsOneAnswerForAllOfThem) {
  flow("assistant", R"(
id: assistant
triggers:
  - on: message.received
steps:
  - ai: { provider: primary, debounce: 1500ms, history: 10 }
)");
  auto d = start();
  ASSERT_TRUE(d);
  Chat chat(*d, "6281100000006");
  chat.say("halo");
  chat.say("mau tanya");
  chat.say("ongkir ke bandung berapa?");
  EXPECT_EQ(chat.text(), "Echo: halo\nmau tanya\nongkir ke bandung berapa?");
  EXPECT_TRUE(chat.quiet(2500ms));
  ASSERT_EQ(primary_.requestCount(), 1u);
  // The burst is the question, not history as well.
  EXPECT_THAT(turns(primary_.requests()[0]),
              ElementsAre("user: halo\nmau tanya\nongkir ke bandung berapa?"));
}

TEST_F(AiFlowTest, ABurstSurvivesACrashAndIsAnsweredOnceAfterTheRestart) {
  flow("assistant", R"(
id: assistant
triggers:
  - on: message.received
steps:
  - ai: { provider: primary, debounce: 2s, history: 10 }
)");
  auto d = start();
  ASSERT_TRUE(d);
  Chat chat(*d, "6281100000017");
  chat.say("halo");
  chat.say("mau tanya ongkir");
  // Both are acknowledged (stored, and gathered into the waiting run); the answer is not due.
  d->kill9();
  EXPECT_EQ(primary_.requestCount(), 0u);
  d.reset();
  auto again = start();
  ASSERT_TRUE(again);
  chat.attach(*again);
  EXPECT_EQ(chat.text(), "Echo: halo\nmau tanya ongkir");
  EXPECT_TRUE(chat.quiet(2500ms));
  EXPECT_EQ(primary_.requestCount(), 1u);
}

TEST_F(AiFlowTest, ChosenContactFieldsGoToTheModel) {
  flow("assistant", R"(
id: assistant
triggers:
  - on: message.received
steps:
  - set: { city: Bandung }
  - ai: { provider: primary, system: "Kamu CS.", contact: [name, city, tier] }
)");
  auto d = start();
  ASSERT_TRUE(d);
  Chat chat(*d, "6281100000018");
  chat.say("halo");
  ASSERT_EQ(chat.text(), "Echo: halo");
  // The profile name from WhatsApp and the stored city; tier is not set, so it is left out.
  EXPECT_EQ(systemOf(primary_.requests()[0]),
            "Kamu CS.\n\nAbout the customer:\n- name: Tester\n- city: Bandung\n");
}

constexpr const char* kProfileFlow = R"(
id: profile
triggers:
  - on: message.received
steps:
  - id: profile
    classify: { provider: primary }
  - reply: "lead={{ steps.profile.output.lead }} product={{ steps.profile.output.product }}"
)";

TEST_F(AiFlowTest, AnInvalidClassificationIsAskedAgainOnceAndTheValidOneIsStored) {
  flow("profile", kProfileFlow);
  auto d = start();
  ASSERT_TRUE(d);
  primary_.script(FakeAiReply::ok("I would say this is a hot lead"));
  primary_.script(FakeAiReply::ok(
      R"({"sentiment": "positive", "lead": "Hot", "intent": "order a cake", "product": "kue ulang tahun"})"));
  Chat chat(*d, "6281100000007");
  chat.say("kak mau pesan kue ulang tahun buat besok, bisa?");
  EXPECT_EQ(chat.text(), "lead=hot product=kue ulang tahun");

  ASSERT_EQ(primary_.requestCount(), 2u);
  auto first = primary_.requests()[0];
  EXPECT_EQ(first.body["response_format"]["type"], "json_schema");
  EXPECT_EQ(first.body["response_format"]["json_schema"]["schema"]["properties"]["lead"]["enum"],
            Json({"hot", "warm", "cold"}));
  auto again = turns(primary_.requests()[1]);
  ASSERT_GE(again.size(), 2u);
  EXPECT_EQ(again[again.size() - 2], "assistant: I would say this is a hot lead");
  EXPECT_THAT(again.back(), HasSubstr("not valid: the answer is not a JSON object"));

  Json insights = admin(*d, "/api/insights?contact=6281100000007");
  ASSERT_EQ(insights["insights"].size(), 1u) << insights.dump();
  const Json& i = insights["insights"][0];
  EXPECT_EQ(i["kind"], "profile");
  EXPECT_EQ(i["flow"], "profile");
  EXPECT_EQ(i["data"]["lead"], "hot");
  EXPECT_EQ(i["data"]["sentiment"], "positive");
  EXPECT_THAT(i["source"].get<std::string>(), HasSubstr("primary"));

  std::string csv = admin(*d, "/api/insights?format=csv").get<std::string>();
  EXPECT_THAT(csv,
              HasSubstr("at,channel,contact,kind,flow,step,source,intent,lead,product,sentiment"));
  EXPECT_THAT(csv, HasSubstr("sandbox,6281100000007,profile,profile,profile,"));
  EXPECT_THAT(csv, HasSubstr(",order a cake,hot,kue ulang tahun,positive"));
}

TEST_F(AiFlowTest, AClassificationInvalidTwiceFailsTheStepAndStoresNothing) {
  flow("profile", R"(
id: profile
triggers:
  - on: message.received
steps:
  - id: profile
    classify: { provider: primary, fields: { lead: [hot, warm, cold] } }
    on_error: continue
  - reply: "lead={{ steps.profile.output and steps.profile.output.lead or 'unknown' }}"
)");
  auto d = start();
  ASSERT_TRUE(d);
  primary_.script(FakeAiReply::ok(R"({"lead": "lukewarm"})"), 2);
  Chat chat(*d, "6281100000008");
  chat.say("lihat-lihat dulu");
  EXPECT_EQ(chat.text(), "lead=unknown");
  EXPECT_EQ(primary_.requestCount(), 2u);
  EXPECT_THAT(turns(primary_.requests()[1]).back(),
              HasSubstr("the field 'lead' is 'lukewarm', not one of hot, warm, cold"));
  EXPECT_TRUE(admin(*d, "/api/insights")["insights"].empty());
}

TEST_F(AiFlowTest, ABackgroundClassificationDoesNotHoldTheReplyAndLandsOnTheContact) {
  flow("profile", R"(
id: profile
triggers:
  - on: message.received
    keywords: [pesan]
steps:
  - classify:
      provider: primary
      fields: { lead: [hot, warm, cold], budget: integer }
      insight: lead_profile
      background: true
      save_to_contact: true
  - reply: "siap kak"
)");
  flow("status", R"(
id: status
priority: 10
triggers:
  - on: message.received
    keywords: [status]
steps:
  - reply: "lead={{ contact.attributes.lead or '?' }} budget={{ contact.attributes.budget or '?' }}"
)");
  auto d = start();
  ASSERT_TRUE(d);
  primary_.script(FakeAiReply::ok(R"({"lead": "warm", "budget": "250000"})").after(1500ms));
  Chat chat(*d, "6281100000009");
  chat.say("mau pesan nasi box");
  EXPECT_EQ(chat.text(), "siap kak");
  // The reply went out while the model was still thinking: nothing is stored yet.
  EXPECT_TRUE(admin(*d, "/api/insights")["insights"].empty());
  std::this_thread::sleep_for(2500ms);
  Json insights = admin(*d, "/api/insights?kind=lead_profile");
  ASSERT_EQ(insights["insights"].size(), 1u);
  EXPECT_EQ(insights["insights"][0]["data"], Json({{"lead", "warm"}, {"budget", 250000}}));
  chat.say("status");
  EXPECT_EQ(chat.text(), "lead=warm budget=250000");
}

TEST_F(AiFlowTest, TokenUsageIsRecordedPerFlowWithItsCost) {
  flow("assistant", kAssistantFlow);
  auto d = start();
  ASSERT_TRUE(d);
  primary_.script(FakeAiReply::ok("Buka jam 8 kak", "gpt-4o-mini", 1000, 500));
  Chat chat(*d, "6281100000010");
  chat.say("buka jam berapa?");
  ASSERT_EQ(chat.text(), "Buka jam 8 kak");
  Json usage = AiFlowTest::usage(*d, "group_by=flow", 1);
  ASSERT_EQ(usage["rows"].size(), 1u) << usage.dump();
  const Json& row = usage["rows"][0];
  EXPECT_EQ(row["key"], "assistant");
  EXPECT_EQ(row["prompt_tokens"], 1000);
  EXPECT_EQ(row["completion_tokens"], 500);
  // (1000 x 0.15 + 500 x 0.60) per million tokens.
  EXPECT_NEAR(row["cost"].get<double>(), 0.00045, 1e-12);
  // The key never reaches the log.
  EXPECT_THAT(d->log(), ::testing::Not(HasSubstr("sk-test")));
}

constexpr const char* kGroundedFlow = R"(
id: faq
triggers:
  - on: message.received
steps:
  - id: answer
    ai:
      provider: primary
      system: "Kamu CS Toko Batik Sari."
      knowledge: toko
      passages: 2
      grounded: true
      fallback: { reply: "Pertanyaan bagus kak, admin kami yang jawab ya.", handoff: true }
)";

TEST_F(AiFlowTest, TheBestKnowledgePassagesGoToTheModelWithTheirSource) {
  flow("faq", kGroundedFlow);
  auto d = start(knowledgeConfig());
  ASSERT_TRUE(d);
  ASSERT_TRUE(waitForLog(*d, "knowledge 'toko' (start)"));
  primary_.script(FakeAiReply::ok("Ongkir ke Surabaya Rp12.000/kg kak."));
  Chat chat(*d, "6281100000011");
  chat.say("brp ongkir ke surabaya kak?");
  EXPECT_EQ(chat.text(), "Ongkir ke Surabaya Rp12.000/kg kak.");
  ASSERT_EQ(primary_.requestCount(), 1u);
  std::string system = systemOf(primary_.requests()[0]);
  EXPECT_THAT(system, HasSubstr("Kamu CS Toko Batik Sari."));
  EXPECT_THAT(system, HasSubstr("reply with exactly NO_ANSWER"));
  // The best passage first, with its file and title.
  EXPECT_THAT(system, HasSubstr("[1] (source: "));
  EXPECT_THAT(system, HasSubstr("faq.csv, \"Berapa ongkos kirim ke Surabaya?\")"));
  EXPECT_THAT(system, HasSubstr("Rp12.000 per kg lewat JNE REG"));
  EXPECT_EQ(system.find("[3]"), std::string::npos) << "passages: 2";
}

TEST_F(AiFlowTest, PassagesOfSeveralKnowledgeBasesAreRankedTogether) {
  fs::create_directories(root_ / "promo");
  writeFile(
      root_ / "promo" / "promo.csv",
      "question,answer\nAda promo ongkir?,Gratis ongkir ke seluruh Jawa sampai 31 Desember\n");
  flow("faq", R"(
id: faq
triggers:
  - on: message.received
steps:
  - ai: { provider: primary, knowledge: [toko, promo], passages: 2 }
)");
  auto d = start("knowledge:\n  toko: { sources: [\"" WAFLOW_KNOWLEDGE_FIXTURES "/toko\"] }\n" +
                 std::string("  promo: { sources: [\"") + (root_ / "promo").string() + "\"] }\n");
  ASSERT_TRUE(d);
  ASSERT_TRUE(waitForLog(*d, "knowledge 'promo' (start)"));
  ASSERT_TRUE(waitForLog(*d, "knowledge 'toko' (start)"));
  Chat chat(*d, "6281100000020");
  chat.say("ada promo gratis ongkir?");
  ASSERT_EQ(chat.text(), "Echo: ada promo gratis ongkir?");
  std::string system = systemOf(primary_.requests()[0]);
  EXPECT_THAT(system, HasSubstr("[1] (source: "));
  EXPECT_THAT(system, HasSubstr("Gratis ongkir ke seluruh Jawa"));
  EXPECT_THAT(system, HasSubstr("[2] (source: "));
  EXPECT_EQ(system.find("[3]"), std::string::npos);
}

TEST_F(AiFlowTest, AKnowledgeBaseTakenOutOfTheConfigLeavesNoIndexBehind) {
  fs::create_directories(root_ / "promo");
  writeFile(root_ / "promo" / "promo.csv",
            "question,answer\nAda promo ongkir?,Gratis ongkir ke seluruh Jawa\n");
  flow("faq", R"(
id: faq
triggers:
  - on: message.received
steps:
  - ai: { provider: primary, knowledge: toko, passages: 2 }
)");
  auto d =
      start(knowledgeConfig() + "  promo: { sources: [\"" + (root_ / "promo").string() + "\"] }\n");
  ASSERT_TRUE(d);
  ASSERT_TRUE(waitForLog(*d, "knowledge 'promo' (start): 1 file(s) indexed"));
  EXPECT_EQ(d->terminate(), 0);

  d = start(knowledgeConfig());
  ASSERT_TRUE(d);
  EXPECT_TRUE(waitForLog(
      *d, "knowledge 'promo' is no longer in the config: its index (1 file(s)) was removed"));
  ASSERT_TRUE(waitForLog(*d, "knowledge 'toko' (start)"));
  EXPECT_THAT(d->log(), Not(HasSubstr("knowledge 'toko' is no longer")));
  EXPECT_EQ(d->terminate(), 0);

  d = start(knowledgeConfig());  // nothing left to remove
  ASSERT_TRUE(d);
  ASSERT_TRUE(waitForLog(*d, "knowledge 'toko' (start)"));
  EXPECT_THAT(d->log(), Not(HasSubstr("is no longer in the config")));
}

TEST_F(AiFlowTest, AGroundedAnswerHandsOffWhenTheKnowledgeBaseHasNothing) {
  flow("faq", kGroundedFlow);
  auto d = start(knowledgeConfig());
  ASSERT_TRUE(d);
  ASSERT_TRUE(waitForLog(*d, "knowledge 'toko' (start)"));
  Chat chat(*d, "6281100000012");
  chat.say("zzqx wibble");
  EXPECT_EQ(chat.text(), "Pertanyaan bagus kak, admin kami yang jawab ya.");
  // Nothing relevant: the model is not even asked, and a human takes over.
  EXPECT_EQ(primary_.requestCount(), 0u);
  EXPECT_TRUE(waitForLog(*d, "handed to a human"));
}

TEST_F(AiFlowTest, AGroundedAnswerHandsOffWhenTheModelSaysThePassagesDoNotAnswer) {
  flow("faq", kGroundedFlow);
  auto d = start(knowledgeConfig());
  ASSERT_TRUE(d);
  ASSERT_TRUE(waitForLog(*d, "knowledge 'toko' (start)"));
  primary_.script(FakeAiReply::ok("NO_ANSWER"));
  Chat chat(*d, "6281100000013");
  chat.say("ongkir ke mars berapa?");
  EXPECT_EQ(chat.text(), "Pertanyaan bagus kak, admin kami yang jawab ya.");
  EXPECT_EQ(primary_.requestCount(), 1u);
}

TEST_F(AiFlowTest, AnEditedKnowledgeFileIsSearchableWithoutARestart) {
  fs::create_directories(root_ / "kb");
  writeFile(root_ / "kb" / "faq.csv", "question,answer\nJam buka?,Buka jam 08.00 sampai 20.00\n");
  flow("faq", R"(
id: faq
triggers:
  - on: message.received
steps:
  - ai: { provider: primary, knowledge: kb, passages: 1 }
)");
  auto d = start("knowledge:\n  kb: { sources: [\"" + (root_ / "kb").string() + "\"] }\n",
                 "watch: true, watch_interval: 200ms");
  ASSERT_TRUE(d);
  ASSERT_TRUE(waitForLog(*d, "knowledge 'kb' (start)"));
  writeFile(root_ / "kb" / "promo.csv",
            "question,answer\nAda promo?,Promo 12.12: diskon 20% semua batik tulis\n");
  ASSERT_TRUE(waitForLog(*d, "knowledge 'kb' (file watch): 1 file(s) indexed", 15s)) << d->log();
  Chat chat(*d, "6281100000014");
  chat.say("ada promo apa?");
  ASSERT_EQ(chat.text(), "Echo: ada promo apa?");
  EXPECT_THAT(systemOf(primary_.requests()[0]), HasSubstr("diskon 20% semua batik tulis"));
}

TEST_F(AiFlowTest, RecallBringsBackWhatTheContactSaidLongBefore) {
  flow("assistant", R"(
id: assistant
triggers:
  - on: message.received
steps:
  - ai: { provider: primary, history: 2, recall: 1 }
)");
  auto d = start();
  ASSERT_TRUE(d);
  Chat chat(*d, "6281100000015");
  for (const char* text :
       {"alamat saya di Jalan Melati 7 Bandung", "oke makasih", "sip", "mau tanya lagi", "hmm"}) {
    chat.say(text);
    ASSERT_EQ(chat.text(), std::string("Echo: ") + text);
    nextMillisecond();
  }
  chat.say("kirim ke alamat saya yang kemarin ya");
  ASSERT_EQ(chat.text(), "Echo: kirim ke alamat saya yang kemarin ya");
  auto last = primary_.requests().back();
  EXPECT_THAT(systemOf(last), HasSubstr("Earlier, this customer said"));
  EXPECT_THAT(systemOf(last), HasSubstr("alamat saya di Jalan Melati 7 Bandung"));
  // The recent turns are history, not recalled.
  EXPECT_THAT(systemOf(last), ::testing::Not(HasSubstr("mau tanya lagi")));
}

TEST_F(AiFlowTest, TheAiCallsAFlowsLuaToolAndAnswersWithItsResult) {
  writeFile(root_ / "scripts" / "orders.lua", R"(
function order_status(args)
  if args.order_id == "A123" then
    return { status = "dikirim", resi = "JNE123" }
  end
  return { status = "tidak ditemukan" }
end
)");
  flow("orders", R"(
id: orders
triggers:
  - on: message.received
steps:
  - id: answer
    ai:
      provider: primary
      tools:
        - name: order_status
          description: "The status and tracking number of an order"
          parameters:
            order_id: { type: string, description: "the order number, e.g. A123" }
  - reply: "tools={{ #steps.answer.output.tools }} first={{ steps.answer.output.tools[1].name }}"
)");
  auto d = start();
  ASSERT_TRUE(d);
  primary_.script(FakeAiReply::toolCall("call_1", "order_status", R"({"order_id": "A123"})"));
  primary_.script(FakeAiReply::ok("Pesanan A123 sudah dikirim kak, resi JNE123."));
  Chat chat(*d, "6281100000016");
  chat.say("pesanan A123 sudah sampai mana?");
  EXPECT_THAT(chat.texts(2), ElementsAre("Pesanan A123 sudah dikirim kak, resi JNE123.",
                                         "tools=1 first=order_status"));
  ASSERT_EQ(primary_.requestCount(), 2u);
  const Json first = primary_.requests()[0].body;
  ASSERT_EQ(first["tools"].size(), 1u);
  EXPECT_EQ(first["tools"][0]["function"]["name"], "order_status");
  EXPECT_EQ(first["tools"][0]["function"]["parameters"]["required"], Json({"order_id"}));
  const Json second = primary_.requests()[1].body;
  const Json& messages = second["messages"];
  ASSERT_GE(messages.size(), 3u);
  const Json& call = messages[messages.size() - 2];
  EXPECT_EQ(call["role"], "assistant");
  EXPECT_EQ(call["tool_calls"][0]["id"], "call_1");
  const Json& result = messages.back();
  EXPECT_EQ(result["role"], "tool");
  EXPECT_EQ(result["tool_call_id"], "call_1");
  EXPECT_EQ(Json::parse(result["content"].get<std::string>()),
            Json({{"status", "dikirim"}, {"resi", "JNE123"}}));
}

TEST_F(AiFlowTest, WhatTheAisToolsChangeOnTheContactIsStoredBeforeTheNextRound) {
  writeFile(root_ / "scripts" / "address.lua", R"(
function save_address(args)
  contact.set("city", args.city)
  contact.tag("shipping_known")
  contact.untag("new")
  return { saved = true }
end
function broken_tool(args)
  contact.set("never", "stored")
  error("the courier API is down")
end
)");
  flow("address", R"(
id: address
triggers:
  - on: message.received
steps:
  - id: start
    tag: new
  - id: answer
    ai:
      provider: primary
      tools:
        - name: save_address
          description: "Remember the city the customer ships to"
          parameters:
            city: { type: string }
        - name: broken_tool
          description: "Always fails"
          parameters:
            x: { type: string }
  - reply: "city={{ contact.attributes.city }} shipping_known={{ contact.tags.shipping_known and 'yes' or 'no' }} new={{ contact.tags.new and 'yes' or 'no' }} never={{ contact.attributes.never or '-' }}"
)");
  auto d = start();
  ASSERT_TRUE(d);
  primary_.script(FakeAiReply::toolCall("call_1", "save_address", R"({"city": "Bandung"})"));
  primary_.script(FakeAiReply::toolCall("call_2", "broken_tool", R"({"x": "y"})"));
  primary_.script(FakeAiReply::ok("Siap kak, dikirim ke Bandung."));
  Chat chat(*d, "6281100000017");
  chat.say("kirim ke Bandung ya");
  // The tool took off the tag the flow set first and added its own; the failing tool's change
  // was dropped.
  EXPECT_THAT(chat.texts(2), ElementsAre("Siap kak, dikirim ke Bandung.",
                                         "city=Bandung shipping_known=yes new=no never=-"));
  ASSERT_EQ(primary_.requestCount(), 3u);
  const Json failed = primary_.requests()[2].body["messages"].back();
  EXPECT_EQ(failed["role"], "tool");
  EXPECT_EQ(Json::parse(failed["content"].get<std::string>()),
            Json({{"error", "the tool failed"}}));
}

}  // namespace
}  // namespace waflow::test
