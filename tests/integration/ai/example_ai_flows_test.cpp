// The AI example (flows/ai/) end to end on each provider: the shipped config and flow, run by
// the real daemon with the real provider plugin against a fake of that provider over HTTP. A
// customer's burst of messages gets one grounded answer carrying the fake's content, the
// knowledge passage went to the model, and the background lead profile is stored.
#include "daemon_process.h"
#include "fake_ai.h"
#include "sandbox_chat.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <thread>

namespace waflow::test {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using Json = nlohmann::json;
using namespace std::chrono_literals;

struct Provider {
  std::string name;  // flows/ai/<name>.yaml
  FakeAi::Dialect dialect;
  std::string env_prefix;  // <PREFIX>_BASE_URL, _API_KEY, _MODEL
  std::string model;
  // The fake's answers: the background profile (a JSON answer) and the reply.
  std::function<FakeAiReply(const Json& profile)> profile_reply;
  std::function<FakeAiReply(const std::string& text)> answer_reply;
};

// How gtest prints a parameter (the default would dump its bytes).
void PrintTo(const Provider& p, std::ostream* out) {
  *out << p.name;
}

class ExampleAiFlowsTest : public ::testing::TestWithParam<Provider> {
 protected:
  void SetUp() override {
    data_ = fs::temp_directory_path() /
            ("waflow-ai-example-" + std::to_string(::getpid()) + "-" + GetParam().name);
    fs::remove_all(data_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(data_, ec);
  }
  fs::path data_;
};

// The whole system prompt of a recorded request, whichever provider's shape it has.
std::string systemText(const Json& body) {
  if (body.contains("system")) {
    return body["system"].is_string() ? body["system"].get<std::string>() : body["system"].dump();
  }
  for (const auto& m : body["messages"]) {
    if (m.value("role", "") == "system") {
      return m.value("content", "");
    }
  }
  return "";
}

TEST_P(ExampleAiFlowsTest, ABurstGetsOneGroundedAnswerAndTheLeadIsProfiled) {
  const Provider& p = GetParam();
  FakeAi::Options options;
  options.dialect = p.dialect;
  FakeAi fake(options);
  const Json profile = {{"lead", "hot"}, {"product", "kemeja batik"}, {"sentiment", "positive"}};
  fake.script(p.profile_reply(profile));
  fake.script(p.answer_reply("Ongkir ke Surabaya Rp12.000/kg lewat JNE REG, Kak."));

  const std::string token = "9e2b7d4f1a6c03e85b9f2d7a4c1e6b08";
  DaemonProcess d("", {"-c", std::string(WAFLOW_SOURCE_DIR) + "/flows/ai/" + p.name + ".yaml"},
                  {{p.env_prefix + "_BASE_URL", fake.baseUrl()},
                   {p.env_prefix + "_API_KEY", "sk-test"},
                   {p.env_prefix + "_MODEL", p.model},
                   {"WAFLOW_DATA_DIR", data_.string()},
                   {"WAFLOW_ADMIN_TOKEN", token},
                   {"AI_DEBOUNCE", "400ms"}});
  ASSERT_TRUE(d.start()) << d.log();
  ASSERT_TRUE(waitForLog(d, "knowledge 'toko' (start)")) << d.log();

  Chat chat(d, "6281300000001");
  chat.say("halo kak");
  chat.say("mau beli kemeja batik");
  chat.say("brp ongkir ke surabaya?");
  EXPECT_EQ(chat.text(), "Ongkir ke Surabaya Rp12.000/kg lewat JNE REG, Kak.");
  EXPECT_TRUE(chat.quiet(1s));

  // Three profiles might have been asked for (one per message), but one answer.
  std::vector<RecordedAiRequest> requests = fake.requests();
  size_t answers = 0;
  for (const auto& r : requests) {
    std::string system = systemText(r.body);
    if (system.find("Kamu CS Toko Batik Sari") != std::string::npos) {
      ++answers;
      EXPECT_THAT(system, HasSubstr("Ongkir ke Surabaya Rp12.000 per kg"));
      EXPECT_THAT(r.raw_body,
                  HasSubstr("halo kak\\nmau beli kemeja batik\\nbrp ongkir ke surabaya?"));
      EXPECT_EQ(r.body["model"], p.model);
    }
  }
  EXPECT_EQ(answers, 1u);

  // The profile of the first message, stored in the background.
  Json insights;
  for (int i = 0; i < 50; ++i) {
    auto r = http("GET", d.url("/api/insights?kind=lead_profile"), "",
                  {"Authorization: Bearer " + token});
    ASSERT_EQ(r.status, 200) << r.body;
    insights = Json::parse(r.body)["insights"];
    if (!insights.empty()) {
      break;
    }
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_FALSE(insights.empty()) << d.log();
  EXPECT_EQ(insights[0]["data"], profile);
  EXPECT_THAT(d.log(), ::testing::Not(HasSubstr("sk-test")));
}

INSTANTIATE_TEST_SUITE_P(
    Providers, ExampleAiFlowsTest,
    ::testing::Values(
        Provider{"openai", FakeAi::Dialect::kOpenAi, "OPENAI", "gpt-4o-mini",
                 [](const Json& profile) { return FakeAiReply::ok(profile.dump()); },
                 [](const std::string& text) { return FakeAiReply::ok(text); }},
        Provider{"anthropic", FakeAi::Dialect::kAnthropic, "ANTHROPIC", "claude-haiku-4-5",
                 [](const Json& profile) {
                   return FakeAiReply::anthropicToolUse("toolu_1", "answer", profile);
                 },
                 [](const std::string& text) { return FakeAiReply::anthropicOk(text); }},
        Provider{"deepseek", FakeAi::Dialect::kOpenAi, "DEEPSEEK", "deepseek-flash",
                 [](const Json& profile) {
                   return FakeAiReply::deepseekOk(profile.dump(), "The customer wants to buy.");
                 },
                 [](const std::string& text) {
                   return FakeAiReply::deepseekOk(text, "Surabaya is in the FAQ: Rp12.000/kg.");
                 }}),
    [](const ::testing::TestParamInfo<Provider>& param) { return param.param.name; });

}  // namespace
}  // namespace waflow::test
