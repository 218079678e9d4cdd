// End-to-end tests of the flow engine (docs/flows.md, docs/lua.md): the real `waflow` daemon
// with the sandbox channel and storage-sqlite, flows and scripts written into a temp directory,
// messages in as Cloud API webhooks and replies read back from the sandbox. Remote systems
// called by `http` steps are a fake service over real HTTP on 127.0.0.1.
//
// "Nothing was sent" is checked with a probe where possible: messages of one conversation are
// handled and answered in order, so when the next reply is the probe's answer, nothing came
// before it.
#include "daemon_process.h"
#include "http_server/http_server.h"
#include "http_server/router.h"
#include "sandbox_chat.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <ctime>
#include <deque>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>

namespace waflow::test {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::UnorderedElementsAre;
using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr const char* kToken = "6f1c0e9a4b2d87f35e7c1d9a0b4f2e68";

std::string authHeader() {
  return std::string("Authorization: Bearer ") + kToken;
}

// A remote system for `http` steps: GET /price answers JSON, GET /huge JSON with a number too
// large for a double, POST /fail answers 500.
// Records what it received.
class FakeService {
 public:
  FakeService() {
    router_.add("GET", "/price",
                [this](core::httpd::HttpRequest&& req, core::httpd::Respond respond) {
                  record(req);
                  respond(core::httpd::HttpResponse::json(
                      200, R"({"item":"cake","price":45000,"stock":{"left":3}})"));
                });
    // A number no double holds: the JSON parser's out_of_range, which once ended the daemon.
    router_.add("GET", "/huge",
                [this](core::httpd::HttpRequest&& req, core::httpd::Respond respond) {
                  record(req);
                  respond(core::httpd::HttpResponse::json(200, R"({"n": 1e999})"));
                });
    router_.add("POST", "/fail",
                [this](core::httpd::HttpRequest&& req, core::httpd::Respond respond) {
                  record(req);
                  respond(core::httpd::HttpResponse::json(500, R"({"error":"down"})"));
                });
    core::httpd::ServerOptions options;
    options.port = 0;
    server_ = std::make_unique<core::httpd::HttpServer>(io_, options, router_);
    server_->start();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~FakeService() {
    io_.stop();
    thread_.join();
    server_.reset();
  }

  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + path;
  }

  struct Seen {
    std::string method, target, body, token;
  };
  std::vector<Seen> requests(const std::string& path) {
    std::lock_guard lock(mutex_);
    std::vector<Seen> out;
    for (const auto& [p, seen] : seen_) {
      if (p == path) {
        out.push_back(seen);
      }
    }
    return out;
  }

 private:
  void record(const core::httpd::HttpRequest& req) {
    std::lock_guard lock(mutex_);
    seen_.emplace_back(req.path, Seen{req.method, req.target, req.body,
                                      std::string(req.header("X-Token").value_or(""))});
  }

  boost::asio::io_context io_{1};
  core::httpd::Router router_;
  std::unique_ptr<core::httpd::HttpServer> server_;
  std::thread thread_;
  std::mutex mutex_;
  std::vector<std::pair<std::string, Seen>> seen_;
};

// A TZif file (version 1) for a zone with one fixed UTC offset, in seconds. Real zones had
// such offsets before standard time (local mean time); here it lets a test put a
// minute-resolution `at:` a few seconds ahead.
void writeFixedZone(const fs::path& file, int32_t offset_seconds) {
  std::string data = "TZif";
  data.push_back('\0');
  data.append(15, '\0');
  auto be32 = [&data](uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) {
      data.push_back(static_cast<char>((v >> shift) & 0xff));
    }
  };
  // isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt
  for (uint32_t count : {0u, 0u, 0u, 0u, 1u, 4u}) {
    be32(count);
  }
  be32(static_cast<uint32_t>(offset_seconds));
  data.push_back('\0');  // not DST
  data.push_back('\0');  // abbreviation index
  data.append("TST", 4);
  fs::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary) << data;
}

// "YYYY-MM-DD HH:MM" of a Unix time, read as UTC.
std::string civilMinute(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm);
  return buf;
}

int64_t unixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A flow "hello" answering the keyword hello with `text`.
constexpr const char* kHelloFlow = R"(id: hello
triggers: [{ on: message.received, keywords: [hello] }]
steps:
  - reply: "%s"
)";

std::string helloFlow(const std::string& text) {
  std::string yaml = kHelloFlow;
  yaml.replace(yaml.find("%s"), 2, text);
  return yaml;
}

class FlowEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("waflow-flows-" + std::to_string(::getpid()) + "-" +
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
  // "agent" hands the conversation to a person with `handoff` (its YAML value).
  void agentFlow(const std::string& handoff) {
    flow("agent", R"(
id: agent
triggers: [{ on: message.received, keywords: [agent] }]
steps:
  - reply: "Connecting you to a person"
  - handoff: )" + handoff +
                      "\n");
  }
  void script(const std::string& name, const std::string& lua) {
    writeFile(root_ / "scripts" / (name + ".lua"), lua);
  }

  // The daemon's config; `flows` holds extra keys of `flows:`. Data, flows and scripts live
  // in root_, so a restarted daemon finds them again.
  std::string config(const std::string& flows = "watch: false") const {
    return "log: { level: debug }\n"
           "data_dir: " +
           (root_ / "data").string() + "\n" + "flows_dir: " + (root_ / "flows").string() + "\n" +
           "scripts_dir: " + (root_ / "scripts").string() + "\n" +
           R"(channels: { sandbox: { plugin: channel-sandbox } }
auto_reply: { mode: echo }
outbox: { recipient_burst: 0 }
flows: { admin_token: )" +
           kToken + ", " + flows + " }\n";
  }

  std::unique_ptr<DaemonProcess> start(const std::string& flows = "watch: false",
                                       std::map<std::string, std::string> env = {}) {
    auto d =
        std::make_unique<DaemonProcess>(config(flows), std::vector<std::string>{}, std::move(env));
    bool started = d->start();
    EXPECT_TRUE(started) << d->log();
    if (!started) {
      return nullptr;
    }
    return d;
  }

  static HttpResult post(const DaemonProcess& d, const std::string& path, const Json& body,
                         bool with_token = true) {
    std::vector<std::string> headers = {"Content-Type: application/json"};
    if (with_token) {
      headers.push_back(authHeader());
    }
    return http("POST", d.url(path), body.dump(), headers);
  }

  fs::path root_;
};

// ---- ask ------------------------------------------------------------------------------------

constexpr const char* kLeadFlow = R"(
id: lead
priority: 10
triggers:
  - on: message.received
    keywords: [catering]
conditions:
  - conversation: { in_flow: false }
steps:
  - id: ask_name
    ask: { question: "Your name?", validate: name, save_as: name }
    timeout: 1h
  - id: ask_date
    ask: { question: "Which date, {{ steps.ask_name.output.answer }}?", validate: date }
    timeout: 1h
  - id: ask_guests
    ask:
      question: "How many guests?"
      validate: number
      min: 10
      max: 2000
      reask: "Guests as a number from 10 to 2000"
    timeout: 1h
  - id: score
    lua: { function: score_lead, args: { guests: "{{ steps.ask_guests.output.answer }}" } }
  - tag: "lead-{{ steps.score.output }}"
  - reply: >-
      Thanks {{ steps.ask_name.output.answer }}: {{ steps.ask_guests.output.answer }} guests
      on {{ steps.ask_date.output.answer }}, {{ steps.score.output }} lead
)";

constexpr const char* kLeadScript = R"(
function score_lead(args)
  if args.guests >= 100 then
    return "hot"
  end
  return "warm"
end
)";

// A flow that tells whether the contact carries a tag (conditions read stored tags).
constexpr const char* kHotCheckFlow = R"(
id: hot-check
triggers:
  - on: message.received
    keywords: [status]
conditions:
  - contact: { tags: [lead-hot], attributes: { name: Rina } }
steps:
  - reply: "You are a hot lead"
)";

TEST_F(FlowEngineTest, AnAskRunSurvivesKill9AndContinuesWhereItWas) {
  flow("lead", kLeadFlow);
  flow("hot-check", kHotCheckFlow);
  script("lead", kLeadScript);
  const std::string contact = "628111000001";
  {
    auto d = start();
    ASSERT_TRUE(d);
    Chat chat(*d, contact);
    chat.say("mau pesan catering");
    EXPECT_EQ(chat.text(), "Your name?") << d->log();
    chat.say("Rina");
    EXPECT_EQ(chat.text(), "Which date, Rina?") << d->log();
    std::this_thread::sleep_for(300ms);  // the reply is out; let the turn's state be written
    d->kill9();
  }
  auto d = start();
  ASSERT_TRUE(d);
  Chat chat(*d, contact);
  chat.say("17/08/2030");
  EXPECT_EQ(chat.text(), "How many guests?") << d->log();
  chat.say("banyak sekali");
  EXPECT_EQ(chat.text(), "Guests as a number from 10 to 2000") << d->log();
  chat.say("150 orang");
  EXPECT_EQ(chat.text(), "Thanks Rina: 150 guests on 2030-08-17, hot lead") << d->log();
  // The tag from the flow and the name saved by the ask are on the contact.
  chat.say("status");
  EXPECT_EQ(chat.text(), "You are a hot lead") << d->log();
  // Nothing was sent twice after the restart: the four replies above are all there is.
  chat.say("probe");
  EXPECT_EQ(chat.text(), "probe");
  EXPECT_EQ(d->terminate(), 0);
}

TEST_F(FlowEngineTest, InvalidAnswersAreAskedAgainThenTheStepFailsToItsOnErrorStep) {
  flow("survey", R"(
id: survey
triggers: [{ on: message.received, keywords: [survey] }]
steps:
  - id: age
    ask:
      question: "Your age?"
      validate: number
      min: 1
      max: 120
      retries: 2
      reask: "Please write your age as a number"
    on_error: goto:gave_up
  - reply: "Age {{ steps.age.output.answer }} noted"
  - stop:
  - id: gave_up
    reply: "Never mind, we will skip that"
)");
  auto d = start();
  ASSERT_TRUE(d);
  Chat chat(*d, "628111000002");
  chat.say("survey");
  EXPECT_EQ(chat.text(), "Your age?");
  chat.say("old enough");
  EXPECT_EQ(chat.text(), "Please write your age as a number");
  chat.say("500");  // a number, but above max
  EXPECT_EQ(chat.text(), "Please write your age as a number");
  chat.say("why?");
  EXPECT_EQ(chat.text(), "Never mind, we will skip that") << d->log();
  // The run is over: a number now is an ordinary message for the auto-reply.
  chat.say("42");
  EXPECT_EQ(chat.text(), "42");
  EXPECT_THAT(d->log(), HasSubstr("no valid answer after 3 tries"));

  // A valid answer goes on with the next step.
  Chat other(*d, "628111000003");
  other.say("survey");
  EXPECT_EQ(other.text(), "Your age?");
  other.say("umur saya 31");
  EXPECT_EQ(other.text(), "Age 31 noted");
  EXPECT_EQ(d->terminate(), 0);
}

TEST_F(FlowEngineTest, AnAskWithButtonsSendsTheInteractivePayloadAndTakesTheTappedId) {
  flow("confirm", R"(
id: confirm
triggers: [{ on: message.received, keywords: [confirm] }]
steps:
  - id: sure
    ask:
      question: "Confirm the order?"
      buttons:
        - { id: yes_please, title: "Yes" }
        - { id: no_thanks, title: "No" }
  - reply: "You chose {{ steps.sure.output.answer }} [{{ steps.sure.output.title }}]"
)");
  auto d = start();
  ASSERT_TRUE(d);
  Chat chat(*d, "628111000004");
  chat.say("confirm");
  Json asked = chat.next();
  ASSERT_EQ(asked.size(), 1u) << d->log();
  EXPECT_EQ(asked[0]["type"], "interactive");
  EXPECT_EQ(asked[0]["text"], "Confirm the order?");
  const Json& payload = asked[0]["payload"];
  EXPECT_EQ(payload["type"], "button") << asked.dump();
  EXPECT_EQ(payload["body"]["text"], "Confirm the order?");
  ASSERT_EQ(payload["action"]["buttons"].size(), 2u) << asked.dump();
  EXPECT_EQ(payload["action"]["buttons"][0]["reply"]["id"], "yes_please");
  EXPECT_EQ(payload["action"]["buttons"][1]["reply"]["title"], "No");
  chat.tap("no_thanks", "No");
  EXPECT_EQ(chat.text(), "You chose no_thanks [No]") << d->log();
  EXPECT_EQ(d->terminate(), 0);
}

// ---- message types and senders ----------------------------------------------------------------

TEST_F(FlowEngineTest, FlowsTriggerOnTypesTheAutoReplyLeavesUnanswered) {
  flow("reacted", R"(
id: reacted
triggers: [{ on: message.received, type: reaction }]
steps:
  - reply: "Reaction: {{ message.text ~= '' and message.text or 'removed' }}"
)");
  flow("welcome", R"(
id: welcome
triggers: [{ on: message.received, type: request_welcome }]
steps:
  - reply: "Selamat datang!"
)");
  auto d = start();
  ASSERT_TRUE(d);
  Chat chat(*d, "628111000077");
  chat.send("reaction", {{"message_id", "wamid.OURS"}, {"emoji", "👍"}});
  EXPECT_EQ(chat.text(), "Reaction: 👍") << d->log();
  chat.send("reaction", {{"message_id", "wamid.OURS"}, {"emoji", ""}});
  EXPECT_EQ(chat.text(), "Reaction: removed") << d->log();
  chat.send("request_welcome", Json::object());
  EXPECT_EQ(chat.text(), "Selamat datang!") << d->log();
  // No flow takes these, and the auto-reply (echo) leaves them unanswered: the probe's
  // echo is the next reply.
  chat.send("sticker", {{"id", "1037543291543636"}, {"mime_type", "image/webp"}});
  chat.send("unsupported", {{"type", "poll"}});
  chat.say("probe");
  EXPECT_EQ(chat.text(), "probe") << d->log();
}

TEST_F(FlowEngineTest, ACustomerWithoutAPhoneNumberRunsFlowsAndIsAnswered) {
  flow("hello", helloFlow("Hi {{ contact.user_id }}, phone {{ contact.phone or 'hidden' }}, "
                          "from '{{ message.from }}'"));
  auto d = start();
  ASSERT_TRUE(d);
  const std::string user = "ID.1349120865530274191";
  Chat chat(*d, user, /*user_id_only=*/true);
  chat.say("hello");
  EXPECT_EQ(chat.text(), "Hi " + user + ", phone hidden, from ''") << d->log();
  chat.say("probe");  // no flow takes it: the auto-reply answers at the same address
  EXPECT_EQ(chat.text(), "probe") << d->log();
}

// ---- modes ------------------------------------------------------------------------------------

TEST_F(FlowEngineTest, ModesDecideWhatASecondTriggerDoes) {
  flow("single-f", R"(
id: single-f
triggers: [{ on: message.received, keywords: [single] }]
steps:
  - reply: "S started"
  - wait: s.go
    timeout: 1h
  - reply: "S done"
)");
  flow("restart-f", R"(
id: restart-f
mode: restart
triggers: [{ on: message.received, keywords: [again] }]
steps:
  - reply: "R started"
  - id: q
    ask: { question: "R question?" }
  - reply: "R got {{ steps.q.output.answer }}"
)");
  flow("queued-f", R"(
id: queued-f
mode: queued
triggers: [{ on: message.received, keywords: [queue] }]
steps:
  - reply: "Q started: {{ message.text }}"
  - wait: q.go
    timeout: 1h
  - reply: "Q done"
)");
  flow("parallel-f", R"(
id: parallel-f
mode: parallel
max: 2
triggers: [{ on: message.received, keywords: [par] }]
steps:
  - reply: "P started: {{ message.text }}"
  - wait: p.go
    timeout: 1h
  - reply: "P done"
)");
  auto d = start();
  ASSERT_TRUE(d);
  auto event = [&](const std::string& name, const std::string& contact) {
    auto r =
        post(*d, "/api/events", {{"event", name}, {"channel", "sandbox"}, {"contact", contact}});
    EXPECT_EQ(r.status, 202) << r.body;
  };

  // single: a second trigger while the flow runs does not start it again.
  Chat single(*d, "628111000010");
  single.say("single");
  EXPECT_EQ(single.text(), "S started");
  single.say("single");
  EXPECT_EQ(single.text(), "single") << "the auto-reply answers; the flow did not start twice";
  event("s.go", single.contact());
  EXPECT_EQ(single.text(), "S done");
  single.say("probe");
  EXPECT_EQ(single.text(), "probe");

  // restart: the trigger wins over the flow's own waiting ask and starts over.
  Chat restart(*d, "628111000011");
  restart.say("again");
  EXPECT_THAT(restart.texts(2), ElementsAre("R started", "R question?"));
  restart.say("again");
  EXPECT_THAT(restart.texts(2), ElementsAre("R started", "R question?")) << d->log();
  restart.say("blue");
  EXPECT_EQ(restart.text(), "R got blue");
  restart.say("probe");
  EXPECT_EQ(restart.text(), "probe") << "the first run was dropped, so it answers nothing";

  // queued: the second run starts when the first ends.
  Chat queued(*d, "628111000012");
  queued.say("queue one");
  EXPECT_EQ(queued.text(), "Q started: queue one");
  queued.say("queue two");  // queued: nothing is sent now
  queued.say("probe");
  EXPECT_EQ(queued.text(), "probe");
  event("q.go", queued.contact());
  EXPECT_THAT(queued.texts(2), ElementsAre("Q done", "Q started: queue two")) << d->log();
  // The second run waits for its own event: the one that ended the first is not reused.
  queued.say("probe");
  EXPECT_EQ(queued.text(), "probe") << d->log();
  event("q.go", queued.contact());
  EXPECT_EQ(queued.text(), "Q done");

  // parallel: two runs wait at the same time; a third is over `max`.
  Chat parallel(*d, "628111000013");
  parallel.say("par one");
  EXPECT_EQ(parallel.text(), "P started: par one");
  parallel.say("par two");
  EXPECT_EQ(parallel.text(), "P started: par two");
  parallel.say("par three");
  EXPECT_EQ(parallel.text(), "par three") << "max 2: the third goes to the auto-reply";
  event("p.go", parallel.contact());
  EXPECT_THAT(parallel.texts(2), ElementsAre("P done", "P done")) << d->log();
  parallel.say("probe");
  EXPECT_EQ(parallel.text(), "probe");
  EXPECT_EQ(d->terminate(), 0);
}

// ---- precedence -----------------------------------------------------------------------------

TEST_F(FlowEngineTest, AHigherPriorityFlowWinsOverAWaitingAskAndEqualPriorityDoesNot) {
  flow("opt-out", R"(
id: opt-out
priority: 100
triggers: [{ on: message.received, keywords: [stop] }]
steps:
  - tag: unsubscribed
  - reply: "You are unsubscribed"
)");
  flow("ask-name", R"(
id: ask-name
priority: 10
triggers: [{ on: message.received, keywords: [register] }]
steps:
  - id: name
    ask: { question: "Your name?", validate: name }
  - reply: "Welcome {{ steps.name.output.answer }}"
)");
  // Same priority as the ask, and it would match the answer.
  flow("greet", R"(
id: greet
priority: 10
triggers: [{ on: message.received, keywords: [rina] }]
steps:
  - reply: "GREET"
)");
  flow("menu", R"(
id: menu
triggers: [{ on: message.received, keywords: [menu] }]
steps:
  - reply: "MENU"
)");
  auto d = start();
  ASSERT_TRUE(d);
  Chat chat(*d, "628111000020");
  chat.say("register");
  EXPECT_EQ(chat.text(), "Your name?");
  chat.say("STOP");
  EXPECT_EQ(chat.text(), "You are unsubscribed") << d->log();
  // The ask still waits, and an equal-priority match does not take its answer.
  chat.say("Rina");
  EXPECT_EQ(chat.text(), "Welcome Rina") << d->log();
  // No run waits now: flows match normally, and what no flow takes gets the auto-reply.
  chat.say("rina");
  EXPECT_EQ(chat.text(), "GREET");
  chat.say("menu");
  EXPECT_EQ(chat.text(), "MENU");
  chat.say("something else");
  EXPECT_EQ(chat.text(), "something else");
  EXPECT_EQ(d->terminate(), 0);
}

// ---- handoff ----------------------------------------------------------------------------------

TEST_F(FlowEngineTest, AfterAHandoffTheBotIsSilentUntilReleased) {
  agentFlow("{ note: \"wants a person\", team: cs }");
  flow("in-handoff", R"(
id: in-handoff
triggers: [{ on: message.received, keywords: [bot] }]
conditions:
  - conversation: { in_handoff: true }
steps:
  - reply: "A person is handling this chat"
)");
  flow("back", R"(
id: back
triggers: [{ on: message.received, keywords: [done] }]
conditions:
  - conversation: { in_handoff: true }
steps:
  - release:
  - reply: "The bot is back"
)");
  flow("hello", helloFlow("Hello from the bot"));
  auto d = start();
  ASSERT_TRUE(d);
  Chat chat(*d, "628111000030");
  chat.say("agent please");
  EXPECT_EQ(chat.text(), "Connecting you to a person");
  chat.say("hello");          // a flow without in_handoff: true does not run
  chat.say("anyone there?");  // and the auto-reply does not answer
  chat.say("bot?");
  EXPECT_EQ(chat.text(), "A person is handling this chat") << d->log();
  // A release step gives the conversation back.
  chat.say("done");
  EXPECT_EQ(chat.text(), "The bot is back");
  chat.say("hello");
  EXPECT_EQ(chat.text(), "Hello from the bot");

  chat.say("agent");
  EXPECT_EQ(chat.text(), "Connecting you to a person");
  chat.say("still there?");
  Json who = {{"channel", "sandbox"}, {"contact", chat.contact()}};
  EXPECT_EQ(post(*d, "/api/conversations/release", who, false).status, 401);
  auto wrong = http("POST", d->url("/api/conversations/release"), who.dump(),
                    {"Authorization: Bearer wrong"});
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(post(*d, "/api/conversations/release", {{"channel", "sandbox"}}).status, 400);
  chat.say("hello?");  // still in handoff: silent
  auto released = post(*d, "/api/conversations/release", who);
  EXPECT_EQ(released.status, 202) << released.body;
  chat.say("after release");
  EXPECT_EQ(chat.text(), "after release") << "the auto-reply answers again; nothing before it";
  EXPECT_EQ(d->terminate(), 0);
}

TEST_F(FlowEngineTest, AHandoffNobodyReleasesEndsWhenTheCustomerWritesAfterReleaseAfter) {
  agentFlow("{ note: \"wants a person\" }");
  flow("vip", R"(
id: vip
triggers: [{ on: message.received, keywords: [vip] }]
steps:
  - reply: "Connecting you to the VIP desk"
  - handoff: { note: "VIP", release_after: 1h }
)");
  flow("hello", helloFlow("Hello from the bot"));
  flow("told", R"(
id: told
triggers: [{ on: event, name: conversation.released }]
steps:
  - reply: "released by {{ event.by }}"
)");
  // flows.handoff_release_after is the default; the vip step's own release_after wins.
  auto d = start("watch: false, handoff_release_after: 1s");
  ASSERT_TRUE(d);
  Chat chat(*d, "628111000031");
  Chat vip(*d, "628111000032");
  chat.say("agent please");
  EXPECT_EQ(chat.text(), "Connecting you to a person") << d->log();
  vip.say("vip please");
  EXPECT_EQ(vip.text(), "Connecting you to the VIP desk") << d->log();
  chat.say("hello?");  // within the second: still with the person, silent
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  chat.say("hello again");
  EXPECT_THAT(chat.texts(2), UnorderedElementsAre("released by timeout", "Hello from the bot"))
      << d->log();
  EXPECT_THAT(d->log(), HasSubstr("back to the bot: nobody released the handoff in time"));

  vip.say("hello?");  // an hour has not passed: silent
  auto released =
      post(*d, "/api/conversations/release", {{"channel", "sandbox"}, {"contact", vip.contact()}});
  EXPECT_EQ(released.status, 202) << released.body;
  EXPECT_EQ(vip.text(), "released by api") << d->log();
  vip.say("after release");
  EXPECT_EQ(vip.text(), "after release") << "the auto-reply answers; the silent hello got nothing\n"
                                         << d->log();
  EXPECT_EQ(d->terminate(), 0);
}

// ---- wait and events ------------------------------------------------------------------------

TEST_F(FlowEngineTest, AWaitContinuesOnlyOnAMatchingEvent) {
  flow("order", R"(
id: order
triggers: [{ on: message.received, keywords: [order] }]
steps:
  - reply: "Please pay order A1"
  - id: paid
    wait:
      event: payment.paid
      match: "event.order_id == 'A1'"
    timeout: 1h
    on_error: goto:late
  - reply: "Paid {{ steps.paid.output.amount }} for {{ steps.paid.output.order_id }}"
  - stop:
  - id: late
    reply: "Payment time is over"
)");
  flow("order-fast", R"(
id: order-fast
triggers: [{ on: message.received, keywords: [quick] }]
steps:
  - reply: "Pay within a second"
  - wait: payment.paid
    timeout: 1s
    on_error: goto:late
  - reply: "Paid in time"
  - stop:
  - id: late
    reply: "Payment time is over"
)");
  flow("counter", R"(
id: counter
triggers: [{ on: message.received, keywords: [count] }]
steps:
  - reply: "counting"
  - wait: tick
    timeout: 1h
  - reply: "tick"
  - goto: counter-again
)");
  flow("counter-again", R"(
id: counter-again
triggers: [{ on: event, name: counter.never }]
steps:
  - goto: counter
)");
  // Starts on every payment.paid: in the conversation the event names, or without a contact
  // (where it cannot reply) when it names none.
  flow("receipt", R"(
id: receipt
triggers: [{ on: event, name: payment.paid }]
steps:
  - reply: "Receipt for {{ event.amount }}"
)");
  auto d = start();
  ASSERT_TRUE(d);
  Chat chat(*d, "628111000040");
  chat.say("order");
  EXPECT_EQ(chat.text(), "Please pay order A1");
  Json wrong = {{"event", "payment.paid"},
                {"data", {{"order_id", "B2"}, {"amount", 5}}},
                {"channel", "sandbox"},
                {"contact", chat.contact()}};
  EXPECT_EQ(post(*d, "/api/events", wrong, false).status, 401);
  EXPECT_EQ(post(*d, "/api/events", {{"data", {}}}).status, 400);
  EXPECT_EQ(post(*d, "/api/events", wrong).status, 202);
  EXPECT_EQ(chat.text(), "Receipt for 5") << d->log();
  chat.say("probe");
  EXPECT_EQ(chat.text(), "probe") << "an event the match refuses does not continue the run";
  Json right = wrong;
  right["data"] = {{"order_id", "A1"}, {"amount", 100}};
  EXPECT_EQ(post(*d, "/api/events", right).status, 202);
  EXPECT_THAT(chat.texts(2), ElementsAre("Paid 100 for A1", "Receipt for 100")) << d->log();

  // An event naming no conversation reaches every conversation waiting for it.
  Chat second(*d, "628111000041");
  Chat third(*d, "628111000042");
  second.say("order");
  EXPECT_EQ(second.text(), "Please pay order A1");
  third.say("order");
  EXPECT_EQ(third.text(), "Please pay order A1");
  // A probe's answer means the turn before it, with the run's state, is stored.
  second.say("probe");
  EXPECT_EQ(second.text(), "probe");
  third.say("probe");
  EXPECT_EQ(third.text(), "probe");
  EXPECT_EQ(post(*d, "/api/events",
                 {{"event", "payment.paid"}, {"data", {{"order_id", "A1"}, {"amount", 7}}}})
                .status,
            202);
  EXPECT_EQ(second.text(), "Paid 7 for A1") << d->log();
  EXPECT_EQ(third.text(), "Paid 7 for A1") << d->log();
  // The receipt flow ran once, without a contact; not again in each waiting conversation.
  second.say("probe");
  EXPECT_EQ(second.text(), "probe") << d->log();
  third.say("probe");
  EXPECT_EQ(third.text(), "probe") << d->log();
  chat.say("probe");
  EXPECT_EQ(chat.text(), "probe") << "the finished run did not take the event again";

  // A run that goes back to wait for the same event takes one event per turn (it used to be
  // handed the same event again, forever).
  Chat ticker(*d, "628111000044");
  ticker.say("count");
  EXPECT_EQ(ticker.text(), "counting");
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(post(*d, "/api/events",
                   {{"event", "tick"}, {"channel", "sandbox"}, {"contact", ticker.contact()}})
                  .status,
              202);
    EXPECT_THAT(ticker.texts(2), ElementsAre("tick", "counting")) << d->log();
    ticker.say("probe");
    EXPECT_EQ(ticker.text(), "probe");
  }

  // A wait past its timeout fails and takes on_error.
  Chat slow(*d, "628111000043");
  slow.say("quick");
  EXPECT_EQ(slow.text(), "Pay within a second");
  EXPECT_EQ(slow.text(), "Payment time is over") << d->log();
  EXPECT_EQ(d->terminate(), 0);
}

// ---- http -----------------------------------------------------------------------------------

TEST_F(FlowEngineTest, AnHttpStepsResponseFeedsLaterStepsAndA500IsRetriedThenOnError) {
  FakeService service;
  flow("price", R"(
id: price
triggers: [{ on: message.received, keywords: [price] }]
steps:
  - id: lookup
    http:
      url: ")" + service.url("/price?item=cake") +
                    R"("
      headers: { X-Token: "tok-{{ contact.id }}" }
    timeout: 5s
  - reply: >-
      {{ steps.lookup.output.body.item }} costs {{ steps.lookup.output.body.price }},
      {{ steps.lookup.output.body.stock.left }} left [HTTP {{ steps.lookup.output.status }}]
)");
  flow("broken", R"(
id: broken
triggers: [{ on: message.received, keywords: [broken] }]
steps:
  - id: call
    http:
      method: POST
      url: ")" + service.url("/fail") +
                     R"("
      body: { who: "{{ contact.id }}", count: 2 }
    retry: 1
    on_error: goto:sorry
  - reply: "unexpected success"
  - stop:
  - id: sorry
    reply: "The service is down"
)");
  auto d = start();
  ASSERT_TRUE(d);
  Chat chat(*d, "628111000050");
  chat.say("price?");
  EXPECT_EQ(chat.text(), "cake costs 45000, 3 left [HTTP 200]") << d->log();
  auto lookups = service.requests("/price");
  ASSERT_EQ(lookups.size(), 1u);
  EXPECT_EQ(lookups[0].method, "GET");
  EXPECT_EQ(lookups[0].target, "/price?item=cake");
  EXPECT_EQ(lookups[0].token, "tok-628111000050");

  chat.say("broken");
  EXPECT_EQ(chat.text(), "The service is down") << d->log();
  auto calls = service.requests("/fail");
  ASSERT_EQ(calls.size(), 2u) << "one try and one retry";
  Json body = Json::parse(calls[1].body, nullptr, false);
  EXPECT_EQ(body, Json({{"who", "628111000050"}, {"count", 2}})) << calls[1].body;
  EXPECT_THAT(d->log(), HasSubstr("answered HTTP 500"));
  EXPECT_EQ(d->terminate(), 0);
}

// Whatever a remote system answers, the daemon goes on: a body with a number no double holds
// ({"n": 1e999}) is kept as text, and the flow continues (before, the parser's exception ended
// the process).
TEST_F(FlowEngineTest, AnHttpResponseWithANumberTooLargeForADoubleIsKeptAsText) {
  FakeService service;
  flow("huge", R"(
id: huge
triggers: [{ on: message.received, keywords: [huge] }]
steps:
  - id: call
    http: { url: ")" +
                   service.url("/huge") + R"(" }
  - reply: "body: {{ steps.call.output.body }}"
)");
  auto d = start();
  ASSERT_TRUE(d);
  Chat chat(*d, "628111000051");
  chat.say("huge");
  EXPECT_EQ(chat.text(), R"(body: {"n": 1e999})") << d->log();
  EXPECT_EQ(service.requests("/huge").size(), 1u);
  EXPECT_EQ(d->terminate(), 0);
}

// ---- delay and follow-ups -------------------------------------------------------------------

TEST_F(FlowEngineTest, ADelayPausesTheRunAndAFollowUpIsCancelledByAReply) {
  flow("later", R"(
id: later
triggers: [{ on: message.received, keywords: [later] }]
steps:
  - reply: "One moment"
  - delay: 1s
  - reply: "Thanks for waiting"
)");
  flow("quote", R"(
id: quote
triggers: [{ on: message.received, keywords: [quote] }]
steps:
  - reply: "Here is your quote"
  - schedule:
      after: 2s
      reply: "Still interested, {{ contact.name }}?"
      cancel_on_reply: true
)");
  auto d = start();
  ASSERT_TRUE(d);
  Chat waiting(*d, "628111000060");
  waiting.say("later");
  EXPECT_EQ(waiting.text(), "One moment");
  auto before = Clock::now();
  EXPECT_EQ(waiting.text(), "Thanks for waiting") << d->log();
  EXPECT_GE(Clock::now() - before, 900ms);

  Chat writes(*d, "628111000061");
  Chat silent(*d, "628111000062");
  writes.say("quote");
  EXPECT_EQ(writes.text(), "Here is your quote");
  silent.say("quote");
  EXPECT_EQ(silent.text(), "Here is your quote");
  writes.say("thanks, thinking about it");
  EXPECT_EQ(writes.text(), "thanks, thinking about it");
  // The silent contact's follow-up (planned after the other one's) arrives...
  EXPECT_EQ(silent.text(), "Still interested, Tester?") << d->log();
  // ...and the one who wrote gets none.
  writes.say("probe");
  EXPECT_EQ(writes.text(), "probe");
  EXPECT_EQ(d->terminate(), 0);
}

TEST_F(FlowEngineTest, ADelayInProgressSurvivesKill9) {
  flow("slow", R"(
id: slow
triggers: [{ on: message.received, keywords: [slow] }]
steps:
  - id: first
    reply: "Starting"
  - delay: 2s
  - reply: "Finished after the delay [first was {{ steps.first.output.id ~= nil }}]"
)");
  const std::string contact = "628111000063";
  {
    auto d = start();
    ASSERT_TRUE(d);
    Chat chat(*d, contact);
    chat.say("slow");
    EXPECT_EQ(chat.text(), "Starting");
    std::this_thread::sleep_for(300ms);
    d->kill9();
  }
  auto d = start();
  ASSERT_TRUE(d);
  Chat chat(*d, contact);
  EXPECT_EQ(chat.text(), "Finished after the delay [first was true]") << d->log();
  chat.say("probe");
  EXPECT_EQ(chat.text(), "probe") << "nothing is sent twice after the restart";
  EXPECT_EQ(d->terminate(), 0);
}

// A flow started by a follow-up is held to its conditions and to the handoff, as every other
// way a flow starts is: a customer who opted out in between gets no scheduled question, and a
// conversation a human has gets none from the bot.
TEST_F(FlowEngineTest, AFollowUpFlowKeepsToItsConditionsAndTheHandoff) {
  flow("order", R"(
id: order
triggers: [{ on: message.received, keywords: [pesan] }]
steps:
  - reply: "Pesanan dicatat"
  - schedule: { after: 2s, flow: rating }
)");
  flow("rating", R"(
id: rating
triggers: [{ on: event, name: rating.start }]
conditions:
  - contact: { not_tags: [berhenti] }
steps:
  - reply: "Beri nilai 1-5?"
)");
  flow("stop", R"(
id: stop
triggers: [{ on: message.received, keywords: [stop] }]
steps:
  - tag: berhenti
  - reply: "Tidak akan kami hubungi lagi"
)");
  flow("agent", R"(
id: agent
triggers: [{ on: message.received, keywords: [admin] }]
steps:
  - handoff: "minta admin"
  - reply: "Admin segera membalas"
)");
  auto d = start();
  ASSERT_TRUE(d);
  Chat opted_out(*d, "628111000070");
  Chat handed(*d, "628111000071");
  Chat stays(*d, "628111000072");
  for (Chat* chat : {&opted_out, &handed, &stays}) {
    chat->say("pesan");
    EXPECT_EQ(chat->text(), "Pesanan dicatat") << d->log();
  }
  opted_out.say("stop");
  EXPECT_EQ(opted_out.text(), "Tidak akan kami hubungi lagi") << d->log();
  handed.say("admin");
  EXPECT_EQ(handed.text(), "Admin segera membalas") << d->log();
  // The last one planned falls due last: once it has run, the others' were due before.
  EXPECT_EQ(stays.text(), "Beri nilai 1-5?") << d->log();
  // The opted-out contact's next reply is the probe's echo: no question came before it.
  opted_out.say("probe");
  EXPECT_EQ(opted_out.text(), "probe") << d->log();
  // A human has the other conversation: the bot sends nothing there, not even an echo.
  EXPECT_TRUE(handed.quiet(1500ms)) << d->log();
  EXPECT_EQ(d->terminate(), 0);
}

// A follow-up that fell due while the daemon was down: sent at start with missed_jobs: run,
// dropped with skip.
class MissedFollowUpTest : public FlowEngineTest,
                           public ::testing::WithParamInterface<std::string> {};

TEST_P(MissedFollowUpTest, FollowsMissedJobs) {
  flow("quote", R"(
id: quote
triggers: [{ on: message.received, keywords: [quote] }]
steps:
  - reply: "Here is your quote"
  - schedule: { after: 2s, reply: "Still interested?" }
)");
  const std::string contact = "628111000064";
  {
    auto d = start();
    ASSERT_TRUE(d);
    Chat chat(*d, contact);
    chat.say("quote");
    EXPECT_EQ(chat.text(), "Here is your quote");
    // Let the turn and the send be written: a send cut off by the kill would be "in doubt"
    // and hold the conversation's later replies for outbox.in_doubt_grace.
    std::this_thread::sleep_for(300ms);
    d->kill9();
    if (d->log().find("Still interested?") != std::string::npos ||
        d->log().find("followup:") != std::string::npos) {
      GTEST_SKIP() << "the machine was too slow to stop the daemon before the follow-up";
    }
  }
  std::this_thread::sleep_for(2s);  // the follow-up falls due while nothing runs
  auto d = start("watch: false, missed_jobs: " + GetParam());
  ASSERT_TRUE(d);
  Chat chat(*d, contact);
  if (GetParam() == "run") {
    EXPECT_EQ(chat.text(), "Still interested?") << d->log();
  }
  chat.say("probe");
  EXPECT_EQ(chat.text(), "probe") << d->log();
  EXPECT_EQ(d->terminate(), 0);
}

INSTANTIATE_TEST_SUITE_P(RunOrSkip, MissedFollowUpTest, ::testing::Values("run", "skip"));

// ---- schedule triggers ----------------------------------------------------------------------

// A schedule trigger `at:` a local minute in a test zone whose offset puts that minute a few
// seconds from now.
class ScheduleTriggerTest : public FlowEngineTest {
 protected:
  // Writes the zone and returns the `at` text for `seconds_ahead` from now.
  std::string atSecondsAhead(int seconds_ahead) {
    int64_t fire = unixNow() + seconds_ahead;
    int64_t local_minute = (fire + 59) / 60 * 60;
    writeFixedZone(root_ / "zoneinfo" / "Test" / "Soon", static_cast<int32_t>(local_minute - fire));
    if (fs::exists("/usr/share/zoneinfo/UTC")) {
      fs::copy_file("/usr/share/zoneinfo/UTC", root_ / "zoneinfo" / "UTC",
                    fs::copy_options::overwrite_existing);
    }
    fire_at_ = fire;
    return civilMinute(local_minute);
  }
  std::map<std::string, std::string> env() const {
    return {{"TZDIR", (root_ / "zoneinfo").string()}};
  }
  void joinFlow() {
    flow("join", R"(
id: join
triggers: [{ on: message.received, keywords: [join] }]
steps:
  - tag: members
  - reply: "Joined"
)");
  }
  void broadcastFlow(const std::string& at) {
    flow("broadcast", R"(
id: broadcast
triggers:
  - on: schedule
    at: ")" + at + R"("
    tz: Test/Soon
    tag: members
steps:
  - reply: "News for {{ contact.id }}"
)");
  }
  int64_t fire_at_ = 0;
};

TEST_F(ScheduleTriggerTest, AnAtScheduleWithATagRunsOnceForEachTaggedContact) {
  joinFlow();
  auto d = start("watch: false", env());
  ASSERT_TRUE(d);
  Chat a(*d, "628111000070");
  Chat b(*d, "628111000071");
  Chat outsider(*d, "628111000072");
  a.say("join");
  EXPECT_EQ(a.text(), "Joined");
  b.say("join");
  EXPECT_EQ(b.text(), "Joined");
  outsider.say("hi");
  EXPECT_EQ(outsider.text(), "hi");

  broadcastFlow(atSecondsAhead(3));
  auto r = post(*d, "/admin/reload", Json::object());
  ASSERT_EQ(r.status, 200) << r.body << d->log();
  // Registering the same schedule again (another reload) does not make it fire twice.
  ASSERT_EQ(post(*d, "/admin/reload", Json::object()).status, 200);

  EXPECT_EQ(a.text(), "News for 628111000070") << d->log();
  EXPECT_EQ(b.text(), "News for 628111000071") << d->log();
  EXPECT_GE(unixNow(), fire_at_);
  a.say("probe");
  EXPECT_EQ(a.text(), "probe") << "exactly one news message";
  b.say("probe");
  EXPECT_EQ(b.text(), "probe") << "exactly one news message";
  outsider.say("probe");
  EXPECT_EQ(outsider.text(), "probe") << "untagged contacts get nothing";
  EXPECT_EQ(d->terminate(), 0);
}

class MissedScheduleTest : public ScheduleTriggerTest,
                           public ::testing::WithParamInterface<std::string> {};

TEST_P(MissedScheduleTest, AScheduleMissedWhileStoppedFollowsMissedJobs) {
  joinFlow();
  broadcastFlow(atSecondsAhead(6));
  const std::string contact = "628111000073";
  {
    auto d = start("watch: false", env());
    ASSERT_TRUE(d);
    Chat chat(*d, contact);
    chat.say("join");
    EXPECT_EQ(chat.text(), "Joined");
    EXPECT_EQ(d->terminate(), 0);
  }
  if (unixNow() >= fire_at_) {
    GTEST_SKIP() << "the machine was too slow to stop the daemon before the schedule was due";
  }
  while (unixNow() <= fire_at_) {
    std::this_thread::sleep_for(100ms);
  }
  auto d = start("watch: false, missed_jobs: " + GetParam(), env());
  ASSERT_TRUE(d);
  Chat chat(*d, contact);
  if (GetParam() == "run") {
    EXPECT_EQ(chat.text(), "News for " + contact) << d->log();
  } else {
    EXPECT_TRUE(waitForLog(*d, "missed while waflow was stopped; skipped")) << d->log();
  }
  chat.say("probe");
  EXPECT_EQ(chat.text(), "probe") << d->log();
  EXPECT_EQ(d->terminate(), 0);
}

INSTANTIATE_TEST_SUITE_P(RunOrSkip, MissedScheduleTest, ::testing::Values("run", "skip"));

// ---- reload ---------------------------------------------------------------------------------

TEST_F(FlowEngineTest, ChangedFilesReloadAndABrokenSetIsRefused) {
  flow("hello", helloFlow("Hello v1"));
  auto d = start("watch: true, watch_interval: 200ms");
  ASSERT_TRUE(d);
  Chat chat(*d, "628111000080");
  chat.say("hello");
  EXPECT_EQ(chat.text(), "Hello v1");

  flow("hello", helloFlow("Hello v2"));
  ASSERT_TRUE(waitForLog(*d, "flows reloaded (files changed): version 2")) << d->log();
  chat.say("hello");
  EXPECT_EQ(chat.text(), "Hello v2");

  // Line 5, column 3: an unknown key.
  flow("hello", helloFlow("Hello v3") + "  - replyy: \"broken\"\n");
  ASSERT_TRUE(waitForLog(*d, "flows not reloaded (files changed)")) << d->log();
  EXPECT_THAT(d->log(), HasSubstr("hello.yaml:5:5"));
  chat.say("hello");
  EXPECT_EQ(chat.text(), "Hello v2") << "the previous version keeps running";

  auto refused = post(*d, "/admin/reload", Json::object());
  EXPECT_EQ(refused.status, 422) << refused.body;
  Json problems = Json::parse(refused.body, nullptr, false);
  ASSERT_TRUE(problems.is_object()) << refused.body;
  EXPECT_EQ(problems["reloaded"], false);
  ASSERT_FALSE(problems["problems"].empty()) << refused.body;
  EXPECT_THAT(problems["problems"][0]["file"].get<std::string>(), HasSubstr("hello.yaml"));
  EXPECT_EQ(problems["problems"][0]["line"], 5);
  EXPECT_THAT(problems["problems"][0]["message"].get<std::string>(), HasSubstr("replyy"));
  EXPECT_EQ(post(*d, "/admin/reload", Json::object(), false).status, 401);

  flow("hello", helloFlow("Hello v3"));
  auto accepted = post(*d, "/admin/reload", Json::object());
  EXPECT_EQ(accepted.status, 200) << accepted.body;
  EXPECT_EQ(Json::parse(accepted.body, nullptr, false).value("flows", 0), 1) << accepted.body;
  chat.say("hello");
  EXPECT_EQ(chat.text(), "Hello v3");
  EXPECT_EQ(d->terminate(), 0);
}

TEST_F(FlowEngineTest, SighupReloadsFlowsAndScripts) {
  flow("hello", R"(id: hello
triggers: [{ on: message.received, keywords: [hello] }]
steps:
  - id: word
    lua: greeting
  - reply: "{{ steps.word.output }}"
)");
  script("greet", "function greeting() return 'Hi v1' end\n");
  auto d = start("watch: false");
  ASSERT_TRUE(d);
  Chat chat(*d, "628111000081");
  chat.say("hello");
  EXPECT_EQ(chat.text(), "Hi v1");
  script("greet", "function greeting() return 'Hi v2' end\n");
  chat.say("hello");
  EXPECT_EQ(chat.text(), "Hi v1") << "watch is off: nothing reloads by itself";
  ASSERT_EQ(::kill(d->pid(), SIGHUP), 0);
  ASSERT_TRUE(waitForLog(*d, "flows reloaded (SIGHUP): version 2")) << d->log();
  chat.say("hello");
  EXPECT_EQ(chat.text(), "Hi v2");
  EXPECT_EQ(d->terminate(), 0);
}

TEST_F(FlowEngineTest, FlowsAndScriptsDirsAreRelativeToTheConfigFile) {
  DaemonProcess d(R"(
log: { level: info }
channels: { sandbox: { plugin: channel-sandbox } }
auto_reply: { mode: echo }
outbox: { recipient_burst: 0 }
flows_dir: my-flows
scripts_dir: my-scripts
flows: { watch: false }
)");
  writeFile(d.dir() / "my-flows" / "hi.yaml", R"(id: hi
triggers: [{ on: message.received, keywords: [hi] }]
steps:
  - id: w
    lua: word
  - reply: "{{ steps.w.output }}"
)");
  writeFile(d.dir() / "my-scripts" / "w.lua", "function word() return 'from my-scripts' end\n");
  ASSERT_TRUE(d.start()) << d.log();
  Chat chat(d, "628111000082");
  chat.say("hi");
  EXPECT_EQ(chat.text(), "from my-scripts") << d.log();
  EXPECT_EQ(d.terminate(), 0);
}

// ---- emit, call, goto, lua, contact changes -----------------------------------------------

TEST_F(FlowEngineTest, EmitCallGotoLuaAndContactChangesWorkTogether) {
  flow("shop", R"(
id: shop
triggers: [{ on: message.received, keywords: [buy] }]
steps:
  - set: { city: Bandung }
  - tag: [buyer, newbie]
  - untag: newbie
  - if: "contact.tags.buyer and not contact.tags.newbie and contact.attributes.city == 'Bandung'"
    reply: "The run sees its own changes"
  - id: price
    call: { flow: pricing, with: { base: 100 } }
  - reply: "Back in the shop"
  - emit: { event: order.created, data: { item: cake } }
  - goto: thanks
)");
  flow("pricing", R"(
id: pricing
triggers: [{ on: event, name: pricing.never }]
steps:
  - reply: "Price {{ inputs.base * 2 }}"
)");
  flow("thanks", R"(
id: thanks
triggers: [{ on: event, name: thanks.never }]
steps:
  - id: fin
    lua: { function: finish, args: { who: "{{ contact.name }}" } }
  - reply: "Thanks {{ steps.fin.output }}"
)");
  flow("on-order", R"(
id: on-order
triggers: [{ on: event, name: order.created }]
steps:
  - reply: "Order event: {{ event.item }} from flow {{ event.flow }}"
)");
  flow("status-vip", R"(
id: status-vip
priority: 5
triggers: [{ on: message.received, keywords: [status] }]
conditions:
  - contact:
      tags: [vip, buyer]
      not_tags: [newbie]
      attributes: { city: Bandung, stage: done }
steps:
  - reply: "VIP from Bandung"
)");
  flow("status-plain", R"(
id: status-plain
triggers: [{ on: message.received, keywords: [status] }]
steps:
  - reply: "Not a VIP yet"
)");
  script("shop", R"(
function finish(args)
  contact.set("stage", "done")
  contact.tag("vip")
  return "ok-" .. args.who
end
)");
  auto d = start();
  ASSERT_TRUE(d);
  Chat chat(*d, "628111000090");
  chat.say("status");
  EXPECT_EQ(chat.text(), "Not a VIP yet");
  chat.say("buy");
  EXPECT_THAT(chat.texts(5),
              ElementsAre("The run sees its own changes", "Price 200", "Back in the shop",
                          "Thanks ok-Tester", "Order event: cake from flow shop"))
      << d->log();
  chat.say("status");
  EXPECT_EQ(chat.text(), "VIP from Bandung") << d->log();
  EXPECT_EQ(d->terminate(), 0);
}

// ---- Lua errors -----------------------------------------------------------------------------

TEST_F(FlowEngineTest, LuaErrorsAndRunawayScriptsTakeOnErrorAndTheDaemonKeepsAnswering) {
  flow("risky", R"(
id: risky
triggers: [{ on: message.received, keywords: [risky] }]
steps:
  - id: check
    if: "contact.attributes.missing.field == 1"
    reply: "never sent"
    on_error: goto:recover
  - reply: "not reached"
  - stop:
  - id: recover
    reply: "Recovered from the rule error"
)");
  flow("spin", R"(
id: spin
triggers: [{ on: message.received, keywords: [spin] }]
steps:
  - id: loop
    lua: spin_forever
    on_error: goto:after
  - reply: "not reached"
  - stop:
  - id: after
    reply: "The budget stopped it"
)");
  script("spin", R"(
function spin_forever()
  local n = 0
  while true do
    n = n + 1
  end
end
)");
  auto d = start();
  ASSERT_TRUE(d);
  Chat chat(*d, "628111000100");
  chat.say("risky");
  EXPECT_EQ(chat.text(), "Recovered from the rule error") << d->log();
  chat.say("spin");
  EXPECT_EQ(chat.text(), "The budget stopped it") << d->log();
  EXPECT_THAT(d->log(), HasSubstr("time budget"));
  chat.say("spin");
  EXPECT_EQ(chat.text(), "The budget stopped it") << "the Lua state recovers";
  chat.say("still alive?");
  EXPECT_EQ(chat.text(), "still alive?");
  EXPECT_EQ(d->terminate(), 0);
}

// ---- what a customer's text can cost -----------------------------------------------------

// A 40,000-character message against `\d+` and `.*` in a trigger, a condition and an answer
// check: std::regex overflowed the stack on it (SIGSEGV), and since the message was stored
// before it was handled, every restart replayed it and crashed again. Rules see the first
// flows.max_rule_text characters; the stored message keeps all of them. A rule whose `.-`
// patterns backtrack without end is stopped by its budget.
TEST_F(FlowEngineTest, A40000CharacterMessageIsAnsweredAndTheDaemonStaysUp) {
  flow("numbers", R"(
id: numbers
triggers: [{ on: message.received, regex: '\d+' }]
conditions:
  - regex: '^.*$'
steps:
  - id: amount
    ask: { question: "How many digits?", validate: regex, pattern: '^(\d|x)+$' }
    timeout: 1h
  - reply: "Read {{ #message.text }} of them"
)");
  flow("costly", R"(
id: costly
triggers: [{ on: message.received, keywords: [pola] }]
steps:
  - id: match
    if: "message.text:find(('.-'):rep(8) .. '@') == nil"
    reply: "not reached"
    on_error: goto:stopped
  - stop:
  - id: stopped
    reply: "The pattern was stopped"
)");
  auto d = start();
  ASSERT_TRUE(d);
  Chat chat(*d, "628111000140");
  const std::string digits(40000, '7');
  chat.say(digits);
  EXPECT_EQ(chat.text(), "How many digits?") << d->log();
  chat.say(digits);
  EXPECT_EQ(chat.text(), "Read 4096 of them") << d->log();
  EXPECT_EQ(http("GET", d->url("/healthz")).status, 200);
  chat.say("pola " + std::string(150, 'a'));
  EXPECT_EQ(chat.text(), "The pattern was stopped") << d->log();
  EXPECT_THAT(d->log(), HasSubstr("time budget in string.find"));
  chat.say("still alive?");
  EXPECT_EQ(chat.text(), "still alive?");
  EXPECT_EQ(d->terminate(), 0);
}

// ---- classify, first message, statuses, idle contacts ----------------------------------

// A Cloud API webhook carrying one status of a message the bot sent.
std::string statusWebhook(const std::string& recipient, const std::string& message_id,
                          const std::string& status) {
  Json s = {{"id", message_id},
            {"status", status},
            {"timestamp", std::to_string(unixNow())},
            {"recipient_id", recipient}};
  if (status == "failed") {
    s["errors"] = {{{"code", 131026}, {"title", "Message undeliverable"}}};
  }
  Json value = {{"messaging_product", "whatsapp"},
                {"metadata", {{"display_phone_number", "15550000000"}, {"phone_number_id", "1"}}},
                {"statuses", Json::array({s})}};
  Json body = {
      {"object", "whatsapp_business_account"},
      {"entry", {{{"id", "1"}, {"changes", {{{"field", "messages"}, {"value", value}}}}}}}};
  return body.dump();
}

TEST_F(FlowEngineTest, ClassifyFirstMessageStatusAndIdleTriggersRun) {
  flow("welcome", R"(id: welcome
priority: 50
triggers: [{ on: message.received, first_message: true }]
steps:
  - reply: "Selamat datang!"
)");
  flow("intent", R"(id: intent
triggers: [{ on: message.received, keywords: [tanya] }]
steps:
  - id: kind
    classify:
      provider: brain
      categories: { price: asks about prices, other: anything else }
  - reply: "category={{ steps.kind.output.category }}"
)");
  flow("undelivered", R"yaml(id: undelivered
triggers: [{ on: message.status, status: failed }]
steps:
  - reply: "failed {{ status.message_id }} ({{ status.error_code }})"
)yaml");
  flow("idle", R"(id: idle
triggers: [{ on: contact.idle, after: 2s }]
conditions:
  - contact: { tags: [idle-watch] }
steps:
  - reply: "Masih di sana?"
  - untag: idle-watch
)");
  flow("watch", R"(id: watch
triggers: [{ on: message.received, keywords: [pantau] }]
steps:
  - tag: idle-watch
  - reply: "Baik, kami pantau."
)");
  std::string yaml = config() + R"(ai:
  brain:
    plugin: ai-mock
    config:
      mode: scripted
      replies:
        - { match: "harga", reply: "{\"category\": \"price\"}" }
      fallback: "Other."
)";
  DaemonProcess d(yaml);
  ASSERT_TRUE(d.start()) << d.log();
  Chat chat(d, "628111000090");

  // The very first message gets the welcome flow (higher priority); later ones do not.
  chat.say("tanya harga dong");
  EXPECT_EQ(chat.text(), "Selamat datang!") << d.log();
  chat.say("tanya harga dong");
  EXPECT_EQ(chat.text(), "category=price") << d.log();
  chat.say("tanya yang lain");
  EXPECT_EQ(chat.text(), "category=other") << d.log();

  // A failed status starts the status flow in that contact's conversation; other statuses
  // do not.
  ASSERT_EQ(http("POST", d.url("/webhooks/sandbox"),
                 statusWebhook("628111000090", "wamid.sent.1", "delivered"))
                .status,
            200);
  ASSERT_EQ(http("POST", d.url("/webhooks/sandbox"),
                 statusWebhook("628111000090", "wamid.sent.2", "failed"))
                .status,
            200);
  EXPECT_EQ(chat.text(), "failed wamid.sent.2 (131026)") << d.log();

  // After the bot's last message, two silent seconds make the contact idle, once.
  chat.say("pantau");
  EXPECT_EQ(chat.text(), "Baik, kami pantau.");
  auto asked_at = Clock::now();
  EXPECT_EQ(chat.text(), "Masih di sana?") << d.log();
  EXPECT_GE(Clock::now() - asked_at, 1500ms);
  // Writing again within the idle time keeps it from firing.
  chat.say("pantau");
  EXPECT_EQ(chat.text(), "Baik, kami pantau.");
  std::this_thread::sleep_for(1000ms);
  chat.say("tanya harga");
  EXPECT_EQ(chat.text(), "category=price");
  EXPECT_EQ(chat.text(), "Masih di sana?") << "idle counts from the bot's last message\n"
                                           << d.log();
  EXPECT_EQ(d.terminate(), 0);
}

TEST_F(FlowEngineTest, BusinessHoursConditionsFollowTheScheduleAndItsHolidays) {
  // Open all day every day except today (a yearly holiday): only the "closed" flow answers.
  std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char today[8];
  std::strftime(today, sizeof today, "%m-%d", &utc);
  flow("open", std::string(R"(id: open
triggers: [{ on: message.received, keywords: [jam] }]
conditions:
  - business_hours: { days: daily, from: "00:00", to: "24:00", tz: UTC, holidays: [")") +
                   today + R"("] }
steps:
  - reply: "open"
)");
  flow("closed", std::string(R"(id: closed
triggers: [{ on: message.received, keywords: [jam] }]
conditions:
  - business_hours: { days: daily, from: "00:00", to: "24:00", tz: UTC, when: closed,
                      holidays: [")") +
                     today + R"("] }
steps:
  - reply: "closed today"
)");
  auto d = start();
  ASSERT_TRUE(d);
  Chat chat(*d, "628111000095");
  chat.say("jam buka?");
  EXPECT_EQ(chat.text(), "closed today") << d->log();
  EXPECT_EQ(d->terminate(), 0);
}

// While a human has the conversation the bot stays quiet, also for flows a status starts: a
// failed status in a handed-over conversation starts no flow there (unless the flow asks to run
// in a handoff), and still does in a conversation the bot has.
TEST_F(FlowEngineTest, AStatusFlowStaysQuietWhileAHumanHasTheConversation) {
  flow("agent", R"(
id: agent
triggers: [{ on: message.received, keywords: [admin] }]
steps:
  - handoff: "minta admin"
  - reply: "Admin segera membalas"
)");
  flow("undelivered", R"yaml(id: undelivered
triggers: [{ on: message.status, status: failed }]
steps:
  - reply: "failed {{ status.message_id }}"
)yaml");
  auto d = start();
  ASSERT_TRUE(d);
  Chat handed(*d, "628111000075");
  Chat bot(*d, "628111000076");
  handed.say("admin");
  EXPECT_EQ(handed.text(), "Admin segera membalas") << d->log();
  bot.say("halo");
  EXPECT_EQ(bot.text(), "halo") << d->log();
  ASSERT_EQ(http("POST", d->url("/webhooks/sandbox"),
                 statusWebhook("628111000075", "wamid.handed.1", "failed"))
                .status,
            200);
  ASSERT_EQ(http("POST", d->url("/webhooks/sandbox"),
                 statusWebhook("628111000076", "wamid.bot.1", "failed"))
                .status,
            200);
  EXPECT_EQ(bot.text(), "failed wamid.bot.1") << d->log();
  EXPECT_TRUE(handed.quiet(1500ms)) << d->log();
  EXPECT_EQ(d->terminate(), 0);
}

}  // namespace
}  // namespace waflow::test
