// PluginInstance: real plugins (the probe, the sandbox channel, the mock AI)
// driven through the C ABI with real host services: HTTP against a local
// server, timers, the bus, logging with redaction, and the exception firewall.
#include "plugin/plugin_instance.h"
#include "plugin/plugin_catalog.h"

#include "bus/event_bus.h"
#include "http_client/http_client.h"
#include "log/log.h"
#include "test_http_server.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include <fstream>
#include <future>
#include <thread>

namespace waflow::core::plugin {
namespace {

using ::testing::HasSubstr;
using Json = nlohmann::json;

const std::filesystem::path kTestPlugins = WAFLOW_TEST_PLUGIN_DIR;
const std::filesystem::path kPlugins = WAFLOW_PLUGIN_DIR;

class PluginInstanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_dir_ = std::filesystem::temp_directory_path() /
                ("waflow-instance-test-" + std::to_string(::getpid()));
    catalog_.scan({kTestPlugins, kPlugins});
    for (int i = 0; i < 2; ++i) {
      threads_.emplace_back([this] { io_.run(); });
    }
    bus_.start();
  }
  void TearDown() override {
    instances_.clear();
    bus_.stop(std::chrono::seconds(5));
    http_.shutdown();
    work_.reset();
    for (auto& t : threads_) {
      t.join();
    }
    std::filesystem::remove_all(data_dir_);
  }

  PluginInstance& make(const std::string& plugin, const std::string& id, Json config = {}) {
    auto lib = catalog_.find(plugin);
    EXPECT_NE(lib, nullptr) << plugin;
    auto instance =
        std::make_unique<PluginInstance>(lib, id, HostServices{io_, http_, bus_, data_dir_});
    std::string error;
    EXPECT_TRUE(instance->create(config.is_null() ? "{}" : config.dump(), &error)) << error;
    EXPECT_TRUE(instance->start(&error)) << error;
    instances_.push_back(std::move(instance));
    return *instances_.back();
  }

  static CallOutcome call(PluginInstance& p, const std::string& op, Json input = Json::object()) {
    std::promise<CallOutcome> done;
    p.call(op, input.dump(), [&done](CallOutcome o) { done.set_value(std::move(o)); });
    auto f = done.get_future();
    EXPECT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    return f.get();
  }

  std::filesystem::path data_dir_;
  PluginCatalog catalog_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ =
      boost::asio::make_work_guard(io_);
  std::vector<std::thread> threads_;
  HttpClient http_{io_};
  bus::EventBus bus_{bus::EventBus::Options{2, 1024, nullptr}};
  std::vector<std::unique_ptr<PluginInstance>> instances_;
};

TEST_F(PluginInstanceTest, CreateFailureCarriesThePluginsOwnMessage) {
  auto instance = std::make_unique<PluginInstance>(catalog_.find("probe"), "p",
                                                   HostServices{io_, http_, bus_, data_dir_});
  std::string error;
  EXPECT_FALSE(instance->create(R"({"fail_create": true})", &error));
  EXPECT_EQ(error, "probe: api_key is required (set config.token)");
}

TEST_F(PluginInstanceTest, GivesEachInstanceItsOwnDataDirectory) {
  make("probe", "first");
  EXPECT_TRUE(std::filesystem::is_directory(data_dir_ / "plugins" / "first"));
}

TEST_F(PluginInstanceTest, CallReturnsThePluginsOutput) {
  auto& probe = make("probe", "p");
  auto o = call(probe, "echo", {{"a", 1}});
  ASSERT_TRUE(o.ok()) << o.error;
  EXPECT_EQ(Json::parse(o.value), Json({{"a", 1}}));
}

TEST_F(PluginInstanceTest, OutboundHttpGoesThroughTheHostClient) {
  waflow::test::TestHttpServer server;
  auto& probe = make("probe", "p");
  auto o = call(probe, "http_get", {{"url", server.url("/echo/hello")}});
  ASSERT_TRUE(o.ok()) << o.error;
  Json r = Json::parse(o.value);
  EXPECT_EQ(r["status"], 200);
  EXPECT_EQ(r["error"], WAFLOW_HTTP_OK);
  EXPECT_EQ(server.requestsReceived(), 1u);
}

TEST_F(PluginInstanceTest, TransportErrorsReachThePluginAsCodes) {
  auto& probe = make("probe", "p");
  std::string url = "http://127.0.0.1:" + std::to_string(waflow::test::unusedLocalPort()) + "/";
  Json r = Json::parse(call(probe, "http_get", {{"url", url}}).value);
  EXPECT_EQ(r["status"], 0);
  EXPECT_EQ(r["error"], WAFLOW_HTTP_CONNECT);
}

TEST_F(PluginInstanceTest, TimersResumeTheCoroutineAfterTheDelay) {
  auto& probe = make("probe", "p");
  Json r = Json::parse(call(probe, "sleep", {{"ms", 80}}).value);
  EXPECT_GE(r["waited_ms"].get<int>(), 75);
}

TEST_F(PluginInstanceTest, PublishedEventsReachBusSubscribers) {
  std::promise<bus::Event> got;
  bus_.subscribe(
      "probe.*", [&got](const bus::Event& e) { got.set_value(e); }, "test");
  auto& probe = make("probe", "p");
  Json r = Json::parse(call(probe, "publish", {{"n", 7}}).value);
  EXPECT_TRUE(r["published"].get<bool>());
  auto f = got.get_future();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  bus::Event e = f.get();
  EXPECT_EQ(e.type, "probe.ping");
  EXPECT_EQ(e.conversation, "probe:1");
  EXPECT_EQ(Json::parse(e.payload), Json({{"n", 7}}));
}

TEST_F(PluginInstanceTest, ExceptionsBecomeCodesAndMessagesNeverCrashes) {
  auto& probe = make("probe", "p");
  auto plain = call(probe, "throw");
  EXPECT_EQ(plain.rc, waflow::Rc::kError);
  EXPECT_EQ(plain.error, "probe exploded");
  auto retry = call(probe, "throw_retry");
  EXPECT_EQ(retry.rc, waflow::Rc::kRetry);
  EXPECT_EQ(retry.error, "probe rate limited");
  EXPECT_EQ(retry.retry_after, std::chrono::milliseconds(1500));
  auto odd = call(probe, "throw_int");
  EXPECT_EQ(odd.rc, waflow::Rc::kError);
  EXPECT_THAT(odd.error, HasSubstr("unknown exception"));
  auto unknown = call(probe, "no-such-op");
  EXPECT_EQ(unknown.rc, waflow::Rc::kUnsupported);
  EXPECT_EQ(probe.errorCount(), 4u);
}

TEST_F(PluginInstanceTest, PluginLogLinesAreTaggedAndSecretsRedacted) {
  auto log_file = data_dir_ / "log.txt";
  std::filesystem::create_directories(data_dir_);
  log::init({"info", "text", log_file.string()});
  log::addSecret("s3cr3t-t0ken-value");
  auto& probe = make("probe", "crm", {{"token", "s3cr3t-t0ken-value"}});
  ASSERT_TRUE(call(probe, "log_secret").ok());
  log::get("plugin:crm")->flush();
  std::ifstream in(log_file);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  log::init({"info", "text", ""});
  EXPECT_THAT(text, HasSubstr("[plugin:crm]"));
  EXPECT_THAT(text, HasSubstr("the token is ***"));
  EXPECT_EQ(text.find("s3cr3t-t0ken-value"), std::string::npos);
}

TEST_F(PluginInstanceTest, StopWaitsForOutstandingCallbacks) {
  auto& probe = make("probe", "p");
  std::atomic<bool> called{false};
  probe.call("sleep", R"({"ms": 150})", [&called](CallOutcome) { called = true; });
  probe.stop(std::chrono::seconds(5));
  EXPECT_TRUE(called.load());
}

// ---- the sandbox channel through the ABI ------------------------------------

httpd::HttpRequest webhookPost(const std::string& body) {
  httpd::HttpRequest r;
  r.method = "POST";
  r.path = "/webhooks/sb";
  r.body = body;
  r.request_id = "req-1";
  return r;
}

WebhookOutcome deliver(PluginInstance& channel, const httpd::HttpRequest& req) {
  std::promise<WebhookOutcome> done;
  channel.handleWebhook(req, [&done](WebhookOutcome o) { done.set_value(std::move(o)); });
  auto f = done.get_future();
  EXPECT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  return f.get();
}

TEST_F(PluginInstanceTest, SandboxParsesCloudApiWebhooks) {
  auto& sandbox = make("channel-sandbox", "sb");
  std::string body = R"({"object":"whatsapp_business_account","entry":[{"id":"1","changes":[
    {"field":"messages","value":{"messaging_product":"whatsapp",
      "metadata":{"display_phone_number":"15550001234","phone_number_id":"PNID"},
      "contacts":[{"profile":{"name":"Budi"},"wa_id":"6281234567890"}],
      "messages":[
        {"from":"6281234567890","id":"wamid.A","timestamp":"1750000000","type":"text",
         "context":{"from":"15550001234","id":"wamid.PREV"},"text":{"body":"iya, jadi pesan"}},
        {"from":"6281234567890","id":"wamid.B","timestamp":"1750000001","type":"interactive",
         "interactive":{"type":"button_reply","button_reply":{"id":"yes-1","title":"Ya"}}}],
      "statuses":[{"id":"wamid.OUT","status":"failed","timestamp":"1750000002",
        "recipient_id":"6281234567890","errors":[{"code":131047,"title":"Re-engagement",
        "message":"Re-engagement message"}]}]}}]}]})";
  WebhookOutcome o = deliver(sandbox, webhookPost(body));
  EXPECT_EQ(o.response.status, 200);
  ASSERT_EQ(o.messages.size(), 2u);
  EXPECT_EQ(o.messages[0].id, "wamid.A");
  EXPECT_EQ(o.messages[0].from, "6281234567890");
  EXPECT_EQ(o.messages[0].contact_name, "Budi");
  EXPECT_EQ(o.messages[0].text, "iya, jadi pesan");
  EXPECT_EQ(o.messages[0].context_id, "wamid.PREV");
  EXPECT_EQ(o.messages[0].recipient, "PNID");
  EXPECT_EQ(o.messages[0].timestamp, 1750000000);
  EXPECT_EQ(Json::parse(o.messages[0].raw_json)["text"]["body"], "iya, jadi pesan");
  EXPECT_EQ(o.messages[1].type, "interactive");
  EXPECT_EQ(o.messages[1].reply_id, "yes-1");
  EXPECT_EQ(o.messages[1].text, "Ya");
  ASSERT_EQ(o.statuses.size(), 1u);
  EXPECT_EQ(o.statuses[0].status, "failed");
  EXPECT_EQ(o.statuses[0].error_code, 131047);
}

TEST_F(PluginInstanceTest, SandboxHandlesSparseAndUnusualMessages) {
  auto& sandbox = make("channel-sandbox", "sb");
  // No contacts, no metadata, no context; a user known only by a business-scoped
  // id; a reaction; an unknown type kept with its raw JSON.
  std::string body = R"({"object":"whatsapp_business_account","entry":[{"changes":[
    {"field":"messages","value":{"messages":[
      {"from_user_id":"US.123","id":"wamid.1","timestamp":"1","type":"text","text":{"body":"hi"}},
      {"from":"62811","id":"wamid.2","timestamp":"2","type":"reaction",
       "reaction":{"message_id":"wamid.OUT","emoji":"👍"}},
      {"from":"62811","id":"wamid.3","timestamp":"3","type":"poll","poll":{"q":1}}]}},
    {"field":"account_update","value":{"x":1}}]}]})";
  WebhookOutcome o = deliver(sandbox, webhookPost(body));
  EXPECT_EQ(o.response.status, 200);
  ASSERT_EQ(o.messages.size(), 3u);
  EXPECT_EQ(o.messages[0].from, "");
  EXPECT_EQ(o.messages[0].from_user_id, "US.123");
  EXPECT_EQ(o.messages[0].recipient, "sandbox");  // phone_number_id default
  EXPECT_EQ(o.messages[1].type, "reaction");
  EXPECT_EQ(o.messages[1].text, "👍");
  EXPECT_EQ(o.messages[1].context_id, "wamid.OUT");
  EXPECT_EQ(o.messages[2].type, "poll");
  EXPECT_EQ(Json::parse(o.messages[2].raw_json)["poll"]["q"], 1);
}

TEST_F(PluginInstanceTest, SandboxRejectsBodiesThatAreNotCloudApiWebhooks) {
  auto& sandbox = make("channel-sandbox", "sb");
  auto o = deliver(sandbox, webhookPost("not json"));
  EXPECT_EQ(o.response.status, 400);
  EXPECT_TRUE(o.messages.empty());
  o = deliver(sandbox, webhookPost(R"({"object":"page","entry":[]})"));
  EXPECT_EQ(o.response.status, 400);
}

TEST_F(PluginInstanceTest, SandboxAnswersTheVerificationHandshake) {
  auto& sandbox = make("channel-sandbox", "sb", {{"verify_token", "rahasia"}});
  httpd::HttpRequest get;
  get.method = "GET";
  get.path = "/webhooks/sb";
  get.query = "hub.mode=subscribe&hub.verify_token=rahasia&hub.challenge=12345";
  auto o = deliver(sandbox, get);
  EXPECT_EQ(o.response.status, 200);
  EXPECT_EQ(o.response.body, "12345");
  get.query = "hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=12345";
  EXPECT_EQ(deliver(sandbox, get).response.status, 403);
}

TEST_F(PluginInstanceTest, SandboxDeliversRepliesToALongPollingListener) {
  // A poll that could wait a minute: only the reply can end it within the
  // test's 10 s guard below.
  auto& sandbox = make("channel-sandbox", "sb", {{"poll_timeout", 60000}});
  httpd::HttpRequest poll;
  poll.method = "GET";
  poll.path = "/webhooks/sb";
  poll.query = "replies_for=628111&after=0&wait=60";
  std::promise<WebhookOutcome> polled;
  sandbox.handleWebhook(poll, [&polled](WebhookOutcome o) { polled.set_value(std::move(o)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));

  std::promise<CallOutcome> sent;
  sandbox.send({"out-1", "628111", "text", "Halo Kak!", "", ""},
               [&sent](CallOutcome o) { sent.set_value(std::move(o)); });
  CallOutcome s = sent.get_future().get();
  ASSERT_TRUE(s.ok()) << s.error;
  EXPECT_EQ(s.value, "sandbox.1");

  auto f = polled.get_future();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  Json replies = Json::parse(f.get().response.body);
  ASSERT_EQ(replies["replies"].size(), 1u);
  EXPECT_EQ(replies["replies"][0]["text"], "Halo Kak!");
  EXPECT_EQ(replies["replies"][0]["to"], "628111");
  EXPECT_EQ(replies["next"], 1);
}

TEST_F(PluginInstanceTest, SandboxRefusesASendWithoutRecipient) {
  auto& sandbox = make("channel-sandbox", "sb");
  std::promise<CallOutcome> sent;
  sandbox.send({"out-1", "", "text", "x", "", ""},
               [&sent](CallOutcome o) { sent.set_value(std::move(o)); });
  CallOutcome o = sent.get_future().get();
  EXPECT_EQ(o.rc, waflow::Rc::kInvalid);
  EXPECT_THAT(o.error, HasSubstr("recipient"));
}

// ---- the mock AI ------------------------------------------------------------

CallOutcome complete(PluginInstance& ai, const Json& request) {
  std::promise<CallOutcome> done;
  ai.complete({request.dump(), "c", "r"}, [&done](CallOutcome o) { done.set_value(std::move(o)); });
  return done.get_future().get();
}

TEST_F(PluginInstanceTest, MockAiEchoesTheLastUserMessage) {
  auto& ai = make("ai-mock", "mock");
  auto o = complete(ai, {{"messages",
                          {{{"role", "user"}, {"content", "first"}},
                           {{"role", "assistant"}, {"content", "ok"}},
                           {{"role", "user"}, {"content", "berapa harganya?"}}}}});
  ASSERT_TRUE(o.ok()) << o.error;
  EXPECT_EQ(o.value, "You said: berapa harganya?");
  EXPECT_EQ(Json::parse(o.detail_json)["usage"]["completion_tokens"], 4);
}

TEST_F(PluginInstanceTest, MockAiScriptedRepliesFirstMatchWins) {
  auto& ai = make("ai-mock", "mock",
                  {{"mode", "scripted"},
                   {"replies",
                    {{{"match", "harga|price"}, {"reply", "Paket A Rp100rb"}},
                     {{"match", "halo"}, {"reply", "Halo!"}}}},
                   {"fallback", "Maaf?"}});
  auto ask = [&](const std::string& text) {
    return complete(ai, {{"messages", {{{"role", "user"}, {"content", text}}}}}).value;
  };
  EXPECT_EQ(ask("HARGA paket?"), "Paket A Rp100rb");
  EXPECT_EQ(ask("halo kak"), "Halo!");
  EXPECT_EQ(ask("kapan buka?"), "Maaf?");
}

TEST_F(PluginInstanceTest, MockAiRejectsAnInvalidRegexAtCreate) {
  auto instance = std::make_unique<PluginInstance>(catalog_.find("ai-mock"), "m",
                                                   HostServices{io_, http_, bus_, data_dir_});
  std::string error;
  EXPECT_FALSE(instance->create(
      R"({"mode":"scripted","replies":[{"match":"(unclosed","reply":"x"}]})", &error));
  EXPECT_THAT(error, HasSubstr("'(unclosed' is not a valid regex"));
}

}  // namespace
}  // namespace waflow::core::plugin
