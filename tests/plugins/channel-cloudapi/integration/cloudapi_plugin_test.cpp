// channel-cloudapi's send() through the real ABI and host services against the
// fake Graph API: local media uploaded first, read receipts and typing, limits
// checked before any call, Meta's errors mapped to result codes (and redacted where they enter
// the core); forged webhooks logged once per source, not once each.
#include "bus/event_bus.h"
#include "fake_graph_api.h"
#include "http_client/http_client.h"
#include "log/log.h"
#include "plugin/plugin_catalog.h"
#include "plugin/plugin_instance.h"

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

class CloudApiPluginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::temp_directory_path() / ("waflow-cloudapi-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    catalog_.scan({WAFLOW_PLUGIN_DIR});
    thread_ = std::thread([this] { io_.run(); });
    bus_.start();
    channel_ = std::make_unique<PluginInstance>(catalog_.find("channel-cloudapi"), "wa",
                                                HostServices{io_, http_, bus_, dir_});
    Json config = {{"phone_number_id", "555"},
                   {"access_token", "test-token"},
                   {"app_secret", "s3cret"},
                   {"verify_token", "v"},
                   {"base_url", fake_.baseUrl()},
                   {"graph_api_version", "v23.0"},
                   {"timeout", 2000},
                   {"download_media", true},
                   {"media_dir", ""},
                   {"max_media_bytes", 1000000},
                   {"verify_signature", true},
                   {"waba_id", ""}};
    std::string error;
    ASSERT_TRUE(channel_->create(config.dump(), &error)) << error;
    ASSERT_TRUE(channel_->start(&error)) << error;
  }
  void TearDown() override {
    channel_.reset();
    bus_.stop(std::chrono::seconds(2));
    http_.shutdown();
    work_.reset();
    thread_.join();
    std::filesystem::remove_all(dir_);
  }

  CallOutcome send(const std::string& type, const std::string& text, Json payload,
                   const std::string& reply_to = "") {
    std::promise<CallOutcome> done;
    channel_->send(
        {"out-1", "6281234", type, text, reply_to, payload.is_null() ? "" : payload.dump()},
        [&done](CallOutcome o) { done.set_value(std::move(o)); });
    return done.get_future().get();
  }

  std::filesystem::path dir_;
  waflow::test::FakeGraphApi fake_;
  PluginCatalog catalog_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ =
      boost::asio::make_work_guard(io_);
  std::thread thread_;
  HttpClient http_{io_};
  bus::EventBus bus_{bus::EventBus::Options{1, 1024, nullptr}};
  std::unique_ptr<PluginInstance> channel_;
};

TEST_F(CloudApiPluginTest, TextIsSentAndTheWamidReturned) {
  auto o = send("text", "Halo Kak!", nullptr, "wamid.IN");
  ASSERT_TRUE(o.ok()) << o.error;
  ASSERT_EQ(fake_.sendCount(), 1u);
  auto s = fake_.sends()[0];
  EXPECT_EQ(o.value, s.wamid);
  EXPECT_EQ(s.body["text"]["body"], "Halo Kak!");
  EXPECT_EQ(s.body["context"]["message_id"], "wamid.IN");
}

TEST_F(CloudApiPluginTest, LocalMediaIsUploadedThenSentById) {
  auto file = dir_ / "katalog.pdf";
  std::ofstream(file, std::ios::binary) << "%PDF-1.4 katalog";
  auto o = send("document", "", {{"path", file.string()}, {"caption", "Katalog"}});
  ASSERT_TRUE(o.ok()) << o.error;
  auto uploads = fake_.uploads();
  ASSERT_EQ(uploads.size(), 1u);
  EXPECT_EQ(uploads[0].bytes, "%PDF-1.4 katalog");
  EXPECT_EQ(uploads[0].mime_type, "application/pdf");
  EXPECT_EQ(uploads[0].filename, "katalog.pdf");
  auto s = fake_.sends().at(0);
  EXPECT_EQ(s.body["document"]["id"], uploads[0].id);
  EXPECT_EQ(s.body["document"]["caption"], "Katalog");
  EXPECT_FALSE(s.body["document"].contains("path"));
}

TEST_F(CloudApiPluginTest, ReadReceiptsAndTypingIndicator) {
  ASSERT_TRUE(send("mark_read", "", {{"message_id", "wamid.A"}}).ok());
  ASSERT_TRUE(send("typing", "", nullptr, "wamid.B").ok());
  auto reads = fake_.reads();
  ASSERT_EQ(reads.size(), 2u);
  EXPECT_EQ(reads[0].message_id, "wamid.A");
  EXPECT_FALSE(reads[0].typing);
  EXPECT_EQ(reads[1].message_id, "wamid.B");
  EXPECT_TRUE(reads[1].typing);
  EXPECT_EQ(send("mark_read", "", nullptr).rc, waflow::Rc::kInvalid);
}

TEST_F(CloudApiPluginTest, LimitsAreCheckedBeforeCallingMeta) {
  Json four_buttons = {
      {"type", "button"}, {"body", {{"text", "Pilih"}}}, {"action", {{"buttons", Json::array()}}}};
  for (int i = 0; i < 4; ++i) {
    four_buttons["action"]["buttons"].push_back(
        {{"type", "reply"}, {"reply", {{"id", "b" + std::to_string(i)}, {"title", "T"}}}});
  }
  auto o = send("interactive", "", four_buttons);
  EXPECT_EQ(o.rc, waflow::Rc::kInvalid);
  EXPECT_THAT(o.error, HasSubstr("3"));
  EXPECT_EQ(send("text", std::string(5000, 'a'), nullptr).rc, waflow::Rc::kInvalid);
  EXPECT_EQ(fake_.requestCount(), 0u);
}

TEST_F(CloudApiPluginTest, MetaErrorsMapToRetryNeverOrAuth) {
  fake_.failNextSends(waflow::test::Fault::pairRateLimited(6));
  auto pair = send("text", "a", nullptr);
  EXPECT_EQ(pair.rc, waflow::Rc::kRetry);
  EXPECT_EQ(pair.retry_after, std::chrono::seconds(6));
  fake_.failNextSends(waflow::test::Fault::metaError(400, 131026, "Message undeliverable"));
  auto undeliverable = send("text", "b", nullptr);
  EXPECT_NE(undeliverable.rc, waflow::Rc::kRetry);
  EXPECT_NE(undeliverable.rc, waflow::Rc::kOk);
  EXPECT_THAT(undeliverable.error, HasSubstr("131026"));
  std::string reason;
  EXPECT_TRUE(channel_->ready(&reason));
  fake_.setAccessToken("rotated");
  auto auth = send("text", "c", nullptr);
  EXPECT_EQ(auth.rc, waflow::Rc::kAuth);
  EXPECT_FALSE(channel_->ready(&reason));
  EXPECT_THAT(reason, HasSubstr("access token rejected"));
  fake_.setAccessToken("test-token");
  EXPECT_TRUE(send("text", "d", nullptr).ok());
  EXPECT_TRUE(channel_->ready(&reason));
}

TEST_F(CloudApiPluginTest, AnErrorEchoingTheTokenIsRedactedWhereItEntersTheCore) {
  log::addSecret("test-token");  // as the daemon does for every key the schema marks secret
  fake_.failNextSends(waflow::test::Fault::metaError(
      400, 100, "Invalid parameter", "(#100) 'test-token' is not a valid phone number"));
  const CallOutcome failed = send("text", "a", nullptr);
  EXPECT_FALSE(failed.ok());
  EXPECT_THAT(failed.error, HasSubstr("'***' is not a valid phone number"));
  EXPECT_THAT(failed.error, ::testing::Not(HasSubstr("test-token")));
}

TEST_F(CloudApiPluginTest, ForgedWebhooksAreLoggedOncePerSourceNotOnceEach) {
  const std::filesystem::path log_file = dir_ / "waflow.log";
  log::init({"info", "text", log_file.string()});
  auto post = [&](const std::string& from) {
    httpd::HttpRequest request;
    request.method = "POST";
    request.target = request.path = "/webhooks/wa";
    request.headers = {{"X-Hub-Signature-256", "sha256=" + std::string(64, '0')}};
    request.body = R"({"object":"whatsapp_business_account","entry":[]})";
    request.remote_address = from;
    request.request_id = "forged";
    std::promise<WebhookOutcome> done;
    channel_->handleWebhook(request, [&done](WebhookOutcome o) { done.set_value(std::move(o)); });
    return done.get_future().get().response.status;
  };
  for (int i = 0; i < 200; ++i) {
    ASSERT_EQ(post("203.0.113.9"), 403);
  }
  ASSERT_EQ(post("198.51.100.7"), 403);
  log::init({});
  std::ifstream in(log_file);
  int from_first = 0;
  int from_second = 0;
  for (std::string line; std::getline(in, line);) {
    from_first += line.find("rejected a webhook from 203.0.113.9") != std::string::npos ? 1 : 0;
    from_second += line.find("rejected a webhook from 198.51.100.7") != std::string::npos ? 1 : 0;
  }
  EXPECT_EQ(from_first, 1);
  EXPECT_EQ(from_second, 1);
}

}  // namespace
}  // namespace waflow::core::plugin
