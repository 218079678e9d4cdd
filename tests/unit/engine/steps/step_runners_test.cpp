// Step runners on a StepContext whose parts talk to a fake storage, with no engine around
// them: what each runner stores or schedules, the outcome it ends with, and the message it
// fails with. The run loop that applies outcomes is the engine's and is tested with the daemon.
#include "engine/steps/run_step.h"
#include "engine/steps/step_context.h"

#include "bus/event_bus.h"
#include "delivery/customer_window.h"
#include "delivery/outbox.h"
#include "engine/flow_set.h"
#include "fake_storage.h"
#include "http_client/http_client.h"
#include "metrics/metrics.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

namespace waflow::core::engine::steps {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::FakeStorage;
using namespace std::chrono_literals;

constexpr const char* kFlow = R"(id: order
triggers: [{ on: message.received, keywords: [pesan] }]
steps:
  - id: remember
    set: { city: "{{ message.text }}", visits: 3 }
  - id: greet
    reply: "Halo {{ contact.name or 'Kak' }}"
  - id: later
    delay: 10m
  - id: count
    ask:
      question: "Berapa bungkus?"
      validate: number
      min: 1
      max: 50
      retries: 2
      reask: "Tulis angka 1 sampai 50 ya."
      save_as: quantity
    timeout: 1h
  - id: more
    call: { flow: helper, with: { n: "{{ 1 + 1 }}" } }
  - id: away
    goto: helper
)";

constexpr const char* kHelper = R"(id: helper
triggers: [{ on: event, name: helper.start }]
steps:
  - stop: done
)";

class StepRunnersTest : public ::testing::Test {
 protected:
  StepRunnersTest()
      : work_(io_.get_executor()),
        bus_({.workers = 1}),
        scheduler_(storage_, io_, "owner-1"),
        outbox_(config_.outbox, storage_, window_, {}, bus_, metrics_, io_),
        http_(io_),
        conversations_(storage_, 100),
        ai_(std::make_shared<ProviderChain>(
            config_, std::map<std::string, plugin::PluginInstance*>{}, storage_, metrics_, io_)),
        ctx_({config_, conversations_, scheduler_, storage_, outbox_, bus_, http_, channels_,
              knowledge_, *ai_, lua_options_}) {
    thread_ = std::thread([this] { io_.run(); });
    storage_.answer(waflow::storage::kJobAdd, json::object());
    storage_.answer(waflow::storage::kJobCancel, {{"cancelled", 1}});
    storage_.answer(waflow::storage::kOutboxAdd, json::object());
    storage_.on(waflow::storage::kContactUpdate, [](const json& in) {
      return testing::FakeAnswer::ok(
          {{"contact",
            {{"attributes", in.value("set", json::object())}, {"tags", json::array()}}}});
    });
  }

  ~StepRunnersTest() override {
    bus_.stop(2s);
    work_.reset();
    io_.stop();
    thread_.join();
    fs::remove_all(dir_);
  }

  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("waflow-steps-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "flows");
    fs::create_directories(dir_ / "scripts");
    std::ofstream(dir_ / "flows" / "order.yaml") << kFlow;
    std::ofstream(dir_ / "flows" / "helper.yaml") << kHelper;
    config_.flows_dir = (dir_ / "flows").string();
    config_.scripts_dir = (dir_ / "scripts").string();
    FlowSetLoad loaded = loadFlowSet(config_);
    for (const auto& d : loaded.diagnostics) {
      ADD_FAILURE() << d.file << ":" << d.line << ":" << d.column << ": " << d.text();
    }
    set_ = loaded.set;
    ASSERT_TRUE(set_);
  }

  // A run of "order" at `step`, answering `text`, with a contact unless `contact` is false.
  ExecPtr exec(size_t step, const std::string& text, bool contact = true) {
    auto x = std::make_shared<Exec>();
    x->set = set_;
    x->flow = set_->find("order");
    x->run.id = "wa:wamid.1:order";
    x->run.flow = "order";
    x->run.step = step;
    x->message = {{"id", "wamid.1"}, {"text", text}, {"channel", "wa"}, {"from", "628111"}};
    x->request_id = "req-1";
    if (contact) {
      x->entry = std::make_shared<ConversationEntry>();
      x->entry->key = "wa:628111";
      x->entry->channel = "wa";
      x->entry->contact = "628111";
      x->entry->contact_json = {{"id", "628111"},
                                {"name", "Rina"},
                                {"attributes", json::object()},
                                {"tags", json::array()}};
    }
    return x;
  }

  StepOutcome run(const ExecPtr& x) {
    std::promise<StepOutcome> done;
    runStep(ctx_, x, x->flow->steps[x->run.step], [&](StepOutcome o) { done.set_value(o); });
    auto future = done.get_future();
    EXPECT_EQ(future.wait_for(5s), std::future_status::ready);
    return future.get();
  }

  StepOutcome answer(const ExecPtr& x) {
    std::promise<StepOutcome> done;
    steps::answer(ctx_, x, [&](StepOutcome o) { done.set_value(o); });
    auto future = done.get_future();
    EXPECT_EQ(future.wait_for(5s), std::future_status::ready);
    return future.get();
  }

  fs::path dir_;
  config::Config config_;
  FakeStorage storage_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  delivery::CustomerWindow window_;
  bus::EventBus bus_;
  metrics::Registry metrics_;
  Scheduler scheduler_;
  delivery::Outbox outbox_;
  HttpClient http_;
  Conversations conversations_;
  std::shared_ptr<ProviderChain> ai_;
  std::map<std::string, plugin::PluginInstance*> channels_;
  KnowledgeBases knowledge_;
  lua::SandboxOptions lua_options_;
  StepContext ctx_;
  std::shared_ptr<const FlowSet> set_;
  std::thread thread_;
};

TEST_F(StepRunnersTest, SetRendersItsValuesAndStoresThemOnTheContact) {
  StepOutcome o = run(exec(0, "Bandung"));
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.output, (json{{"city", "Bandung"}, {"visits", 3}}));
  auto updates = storage_.calls(waflow::storage::kContactUpdate);
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_EQ(updates[0]["contact"], "628111");
  EXPECT_EQ(updates[0]["set"]["city"], "Bandung");
  EXPECT_TRUE(storage_.shapeErrors().empty());
}

TEST_F(StepRunnersTest, AStepThatNeedsAContactSaysWhyWhenTheRunHasNone) {
  StepOutcome o = run(exec(0, "Bandung", false));
  EXPECT_FALSE(o.ok);
  EXPECT_NE(o.error.find("a 'set' step needs a contact"), std::string::npos) << o.error;
  EXPECT_TRUE(storage_.calls(waflow::storage::kContactUpdate).empty());
}

TEST_F(StepRunnersTest, ReplyQueuesTheRenderedTextUnderAnIdDerivedFromTheRun) {
  auto x = exec(1, "pesan");
  StepOutcome o = run(x);
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.output["id"], "wa:wamid.1:order:1");
  ASSERT_TRUE(storage_.waitForCalls(waflow::storage::kOutboxAdd, 1, 5s));
  json add = storage_.calls(waflow::storage::kOutboxAdd)[0];
  EXPECT_NE(add.dump().find("Halo Rina"), std::string::npos) << add.dump();
  EXPECT_NE(add.dump().find("wa:wamid.1:order:1"), std::string::npos) << add.dump();

  StepOutcome second = run(x);  // the run's next send gets the next id
  EXPECT_EQ(second.output["id"], "wa:wamid.1:order:2");
}

TEST_F(StepRunnersTest, DelayPlansTheResumptionAndSuspendsTheRun) {
  auto x = exec(2, "pesan");
  StepOutcome o = run(x);
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.control, StepOutcome::Control::kSuspend);
  EXPECT_EQ(x->run.waiting, "delay");
  auto adds = storage_.calls(waflow::storage::kJobAdd);
  ASSERT_EQ(adds.size(), 1u);
  const json& job = adds[0]["jobs"][0];
  EXPECT_EQ(job["kind"], "run.resume");
  EXPECT_EQ(job["id"], "resume:wa:wamid.1:order:" + x->run.token);
  EXPECT_EQ(job["payload"]["run_id"], "wa:wamid.1:order");
  EXPECT_EQ(job["payload"]["token"], x->run.token);
}

TEST_F(StepRunnersTest, ADelayThatCannotBeStoredFailsAndLeavesNoWait) {
  storage_.fail(waflow::storage::kJobAdd, waflow::Rc::kBusy, "locked");
  auto x = exec(2, "pesan");
  StepOutcome o = run(x);
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.error, "the delay could not be stored");
  EXPECT_TRUE(x->run.waiting.empty());
}

TEST_F(StepRunnersTest, AskSendsTheQuestionAndWaitsWithATimeout) {
  auto x = exec(3, "pesan");
  StepOutcome o = run(x);
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.control, StepOutcome::Control::kSuspend);
  EXPECT_EQ(x->run.waiting, "ask");
  auto adds = storage_.calls(waflow::storage::kJobAdd);
  ASSERT_EQ(adds.size(), 1u);
  EXPECT_EQ(adds[0]["jobs"][0]["kind"], "run.timeout");
  ASSERT_TRUE(storage_.waitForCalls(waflow::storage::kOutboxAdd, 1, 5s));
  EXPECT_NE(storage_.calls(waflow::storage::kOutboxAdd)[0].dump().find("Berapa bungkus?"),
            std::string::npos);
}

TEST_F(StepRunnersTest, AWrongAnswerIsAskedAgainAndARightOneIsSavedAndEndsTheWait) {
  auto x = exec(3, "pesan");
  run(x);
  const std::string token = x->run.token;

  x->message["text"] = "banyak";
  StepOutcome again = answer(x);
  ASSERT_TRUE(again.ok) << again.error;
  EXPECT_EQ(again.control, StepOutcome::Control::kSuspend);  // same wait, same deadline
  EXPECT_EQ(x->run.attempts, 1);
  ASSERT_TRUE(storage_.waitForCalls(waflow::storage::kOutboxAdd, 2, 5s));
  EXPECT_NE(storage_.calls(waflow::storage::kOutboxAdd)[1].dump().find("Tulis angka 1 sampai 50"),
            std::string::npos);

  x->message["text"] = "12";
  StepOutcome answered = answer(x);
  ASSERT_TRUE(answered.ok) << answered.error;
  EXPECT_EQ(answered.output["answer"], 12);
  EXPECT_TRUE(x->run.waiting.empty());
  auto cancels = storage_.calls(waflow::storage::kJobCancel);
  ASSERT_FALSE(cancels.empty());
  EXPECT_EQ(cancels.back()["ids"], json::array({"timeout:wa:wamid.1:order:" + token}));
  auto updates = storage_.calls(waflow::storage::kContactUpdate);
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_EQ(updates[0]["set"]["quantity"], 12);
}

TEST_F(StepRunnersTest, TooManyWrongAnswersFailTheStepNamingTheLastOne) {
  auto x = exec(3, "pesan");
  run(x);
  StepOutcome o;
  for (const char* text : {"a", "b", "c"}) {
    x->message["text"] = text;
    o = answer(x);
  }
  EXPECT_FALSE(o.ok);
  EXPECT_NE(o.error.find("no valid answer after 3 tries (last: 'c'"), std::string::npos) << o.error;
  EXPECT_TRUE(x->run.waiting.empty());
}

TEST_F(StepRunnersTest, CallEntersTheFlowWithItsInputsAndComesBackGotoDoesNot) {
  auto x = exec(4, "pesan");
  StepOutcome o = run(x);
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.control, StepOutcome::Control::kJumped);
  EXPECT_EQ(x->run.flow, "helper");
  EXPECT_EQ(x->run.step, 0u);
  EXPECT_EQ(x->run.inputs["n"], 2);
  ASSERT_EQ(x->run.calls.size(), 1u);
  EXPECT_EQ(x->run.calls[0].flow, "order");

  StepOutcome stopped = run(x);  // helper's stop
  EXPECT_EQ(stopped.control, StepOutcome::Control::kStop);
  EXPECT_EQ(stopped.stop_reason, "done");

  auto away = exec(5, "pesan");
  away->run.calls.push_back(CallFrame{"order", 1, json::object(), json::object(), "more"});
  StepOutcome jumped = run(away);
  EXPECT_EQ(jumped.control, StepOutcome::Control::kJumped);
  EXPECT_EQ(away->run.flow, "helper");
  EXPECT_TRUE(away->run.calls.empty());
}

}  // namespace
}  // namespace waflow::core::engine::steps
