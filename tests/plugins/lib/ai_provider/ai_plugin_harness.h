// AiPluginHarness: a GoogleTest fixture that loads one in-tree AI provider plugin with the
// daemon's plugin loader, runs it on the real host services (HTTP client, timers, event bus)
// against a FakeAi over real HTTP, and captures every log line in a file so tests can check what
// was (and was not) logged.
//
// Thread-safety: test-thread only; the plugin's calls run on the harness's io_context thread.
#pragma once

#include "bus/event_bus.h"
#include "fake_ai.h"
#include "http_client/http_client.h"
#include "log/log.h"
#include "plugin/plugin_catalog.h"
#include "plugin/plugin_instance.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <initializer_list>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

namespace waflow::core::plugin {

class AiPluginHarness : public ::testing::Test {
 protected:
  using Json = nlohmann::json;

  AiPluginHarness(std::string plugin, test::FakeAi::Options fake_options)
      : plugin_(std::move(plugin)), fake_(std::move(fake_options)) {}

  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("waflow-" + plugin_ + "-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    log_file_ = dir_ / "waflow.log";
    log::init({"trace", "text", log_file_.string()});
    catalog_.scan({WAFLOW_PLUGIN_DIR});
    thread_ = std::thread([this] { io_.run(); });
    bus_.start();
  }

  void TearDown() override {
    if (ai_) {
      ai_->stop(std::chrono::seconds(2));
      ai_.reset();
    }
    bus_.stop(std::chrono::seconds(2));
    http_.shutdown();
    work_.reset();
    thread_.join();
    log::init({});  // back to stderr before the file goes
    std::filesystem::remove_all(dir_);
  }

  bool create(const Json& cfg, std::string* error) {
    ai_ = std::make_unique<PluginInstance>(catalog_.find(plugin_), plugin_,
                                           HostServices{io_, http_, bus_, dir_});
    return ai_->create(cfg.dump(), error) && ai_->start(error);
  }
  void start(const Json& cfg) {
    std::string error;
    ASSERT_TRUE(create(cfg, &error)) << error;
  }

  CallOutcome complete(const Json& request) {
    std::promise<CallOutcome> done;
    ai_->complete({request.dump(), "wa:6281234", "req-1"},
                  [&done](CallOutcome o) { done.set_value(std::move(o)); });
    return done.get_future().get();
  }

  // Everything logged since SetUp.
  std::string logText() const {
    std::ifstream in(log_file_);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  Json schema() const {
    return Json::parse(catalog_.find(plugin_)->descriptor().config_schema_json);
  }

  // The checks every provider shares.

  // Without each of `keys`, create() fails naming it.
  void expectRequiredAtCreate(const Json& config, std::initializer_list<const char*> keys) {
    for (const char* key : keys) {
      Json cfg = config;
      cfg.erase(key);
      std::string error;
      EXPECT_FALSE(create(cfg, &error)) << key;
      EXPECT_THAT(error, ::testing::HasSubstr(key));
    }
  }

  // The schema has each of `keys`, and api_key is marked secret (kept out of logs).
  void expectSchemaDeclares(std::initializer_list<const char*> keys) const {
    Json s = schema();
    for (const char* key : keys) {
      EXPECT_TRUE(s["properties"].contains(key)) << key;
    }
    EXPECT_EQ(s["properties"]["api_key"]["secret"], true);
  }

  // A body that is not JSON fails `request` at once (no retry), pointing at base_url.
  CallOutcome expectMalformedJsonNotRetried(const Json& request) {
    fake_.script(test::FakeAiReply::malformed(), 3);
    CallOutcome o = complete(request);
    EXPECT_EQ(o.rc, waflow::Rc::kError);
    EXPECT_THAT(o.error, ::testing::HasSubstr("not JSON"));
    EXPECT_THAT(o.error, ::testing::HasSubstr("base_url"));
    EXPECT_EQ(fake_.requestCount(), 1u);
    return o;
  }

  // With `config` holding the rejected `key`, a call to `request` is an auth error, tried once,
  // and its message never shows the key.
  CallOutcome expectRejectedKeyNotShown(Json config, const std::string& key, const Json& request) {
    config["api_key"] = key;
    start(config);
    CallOutcome o = complete(request);
    EXPECT_EQ(o.rc, waflow::Rc::kAuth);
    EXPECT_THAT(o.error, ::testing::HasSubstr("HTTP 401"));
    EXPECT_THAT(o.error, ::testing::Not(::testing::HasSubstr(key)));
    EXPECT_EQ(fake_.requestCount(), 1u);
    return o;
  }

  std::string plugin_;
  std::filesystem::path dir_;
  std::filesystem::path log_file_;
  test::FakeAi fake_;
  PluginCatalog catalog_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ =
      boost::asio::make_work_guard(io_);
  std::thread thread_;
  HttpClient http_{io_};
  bus::EventBus bus_{bus::EventBus::Options{1, 1024, nullptr}};
  std::unique_ptr<PluginInstance> ai_;
};

}  // namespace waflow::core::plugin
